-- omnidesk schema, version 3: the sidebar's counts read small covering indexes, not the table.
-- Every count hides merged-away conversations (and spam): over all live conversations the
-- status, the last inbound time and the flag itself are all a count needs, so `status:open`,
-- `is:unread` and the default view count from this index without visiting a row.
CREATE INDEX conversations_live ON conversations(status, last_inbound_at, merged_into)
    WHERE merged_into IS NULL;
-- `is:unassigned` (alone or with a status) counts from the unassigned live conversations only.
CREATE INDEX conversations_unassigned ON conversations(assignee_id, status, merged_into)
    WHERE assignee_id IS NULL AND merged_into IS NULL;
