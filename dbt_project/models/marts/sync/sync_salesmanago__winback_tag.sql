-- SALESmanago WINBACK tag (sync salesmanago_winback_tag): the win-back flow's members with
-- their reason (macros/sync_lists.sql).

{{ audience_list_members('winback', ['winback_reason']) }}
