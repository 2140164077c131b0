-- Treatment list for the win-back flow (Klaviyo list, sync klaviyo_winback_list): the
-- audience's members with their reason and days silent (macros/sync_lists.sql).

{{ audience_list_members('winback', ['winback_reason', 'days_silent']) }}
