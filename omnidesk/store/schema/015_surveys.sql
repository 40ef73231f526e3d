-- omnidesk schema, version 11: satisfaction surveys (CSAT 1-5, NPS 0-10) asked after a resolve.
--
-- One row per conversation asked (UNIQUE: a conversation is asked at most once, whatever
-- restarts the daemon has); the row is written in the same transaction as the queued question,
-- so it is the timer's fired marker. `message_id` NULL with `skipped` set: not asked, and why
-- (the customer opted out, the channel refused). The answer and comment land here and as events.
CREATE TABLE surveys (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER NOT NULL UNIQUE REFERENCES conversations(id),
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    kind             TEXT NOT NULL CHECK (kind IN ('csat', 'nps')),
    channel_id       INTEGER REFERENCES channels(id),
    agent_id         INTEGER REFERENCES agents(id),   -- the assignee when asked: whose rating it is
    message_id       INTEGER REFERENCES messages(id), -- the queued question
    skipped          TEXT,                            -- why it was not asked; NULL: asked
    asked_at         INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    rating           INTEGER,
    answered_at      INTEGER,
    comment          TEXT
) STRICT;
CREATE INDEX surveys_customer ON surveys(customer_id, kind, asked_at);
CREATE INDEX surveys_asked ON surveys(asked_at);
