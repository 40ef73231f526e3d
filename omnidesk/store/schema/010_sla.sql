-- omnidesk schema, version 10: SLA clocks in business hours (omnidesk/sla/clock.py).
-- The conversation shows its target due first: sla_due_at (kept from version 1, now written),
-- which target, when it warns, and, while the clock stands (pending, snoozed), the business
-- time left. Written only by omnidesk/store/sla.py, recomputed after every relevant change.
ALTER TABLE conversations ADD COLUMN sla_target TEXT;
ALTER TABLE conversations ADD COLUMN sla_warn_at INTEGER;
ALTER TABLE conversations ADD COLUMN sla_left_ms INTEGER;
-- is:breached, is:due-soon and sort:due read the running clocks only.
CREATE INDEX conversations_due ON conversations(sla_due_at, id) WHERE sla_due_at IS NOT NULL;

-- One row per target a conversation has had: its cycle (started_at), its times while it runs,
-- and the escalations fired (warned_at, breached_at: set in the transaction of their actions,
-- so a restart never fires one twice). A new cycle of a target (a next response) starts
-- with no marks. next_at is the first stage not fired yet: the daemon's timers wait on it.
CREATE TABLE sla_clocks (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    target           TEXT NOT NULL CHECK (target IN ('first_response', 'next_response', 'resolution')),
    policy           TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    warn_at          INTEGER,                -- NULL: not running (met, or standing)
    due_at           INTEGER,
    left_ms          INTEGER,                -- business ms left while standing
    warned_at        INTEGER,
    breached_at      INTEGER,
    next_at          INTEGER,
    PRIMARY KEY (conversation_id, target)
) STRICT, WITHOUT ROWID;
CREATE INDEX sla_clocks_next ON sla_clocks(next_at) WHERE next_at IS NOT NULL;

-- The SLA configuration the clocks were last computed with (one row): when it changes
-- (a calendar's hours, a policy), the daemon recomputes every open conversation once.
CREATE TABLE sla_config (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint  TEXT NOT NULL,
    computed_at  INTEGER NOT NULL
) STRICT;
