-- omnidesk schema, version 6: events written in one write transaction share a group, so a unit of
-- work (several actions committed together, omnidesk/services/unit.py) is undone as one, and may
-- carry the unit's reason.
-- NULL: written before this version, or by ingest (which nothing undoes). Groups are numbered
-- max + 1 inside the transaction that writes them (BEGIN IMMEDIATE: one writer at a time).
ALTER TABLE events ADD COLUMN group_id INTEGER;
-- Why the unit acted, when it says ("rule 'Hungarian billing'"): the timeline adds it to each event.
ALTER TABLE events ADD COLUMN reason TEXT;
CREATE INDEX events_group ON events(group_id) WHERE group_id IS NOT NULL;
