-- omnidesk schema, version 11: routing rules and automatic assignment.
--
-- What rules have still to look at: ingest writes a row per new inbound message in the
-- batch's transaction, and routing deletes it in the transaction that applies the rules'
-- actions, so a crash between the two routes the message on restart, once.
-- `trigger`: new_conversation | inbound_message | status_change | sla_warning | sla_breach.
-- AUTOINCREMENT: an id is never reused, so a row read by one process and taken by another
-- is never mistaken for a newer one.
CREATE TABLE pending_routing (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    message_id       INTEGER,                   -- the inbound message, when a message caused it
    trigger          TEXT NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;

-- The most open conversations an agent takes from the strategies (NULL: no limit), and
-- since when the agent is away (`omnidesk agent away`; NULL: here).
ALTER TABLE agents ADD COLUMN capacity INTEGER;
ALTER TABLE agents ADD COLUMN away_since INTEGER;

-- Round-robin's place per team ('' for all agents), updated in the assignment's transaction,
-- so turns are fair across restarts and between processes.
CREATE TABLE round_robin (
    team           TEXT PRIMARY KEY,
    last_agent_id  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
