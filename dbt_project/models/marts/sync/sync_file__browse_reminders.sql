-- Browse reminders for the local outbox (sync file_browse_reminders): one row per reminder -
-- a person and the browse entry (the product viewed last) - so the diff-based sync sends each
-- one exactly once, whichever build (daily or hourly) first sees it. Holdout members and
-- people without email consent stay in the model and are excluded by the sync.

{{ audience_list_members(
    'browse_abandonment',
    ['entered_at', 'product_id', 'product_name', 'category', 'offer_type'],
    key="memberships.person_id || '|'
        || cast(memberships.entered_at as " ~ dbt.type_string() ~ ") as reminder_id"
) }}
