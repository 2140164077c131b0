-- Cart reminders for the local outbox (sync file_cart_reminders): one row per reminder - a
-- person, the cart entry and its step (1 h / 24 h / 72 h) - so the diff-based sync sends each
-- one exactly once, whichever build (daily or hourly) first sees it. Holdout members and people
-- without email consent stay in the model and are excluded by the sync.

{{ audience_list_members(
    'cart_abandonment',
    ['step as cart_step', 'step_at', 'entered_at', 'cart_value', 'cart_value_tier',
     'product_id', 'offer_type'],
    key="memberships.person_id || '|'
        || cast(memberships.entered_at as " ~ dbt.type_string() ~ ") || '|'
        || cast(memberships.step as " ~ dbt.type_string() ~ ") as reminder_id"
) }}
