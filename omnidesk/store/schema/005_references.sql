-- omnidesk schema, version 5: every id a channel gives a message is a reference of it, and a
-- message can be edited, deleted and move on in its delivery after it was stored.
--
-- messages is rebuilt (SQLite's 12-step procedure; Database.migrate turns foreign keys off
-- around it, so dropping the old table cascades nothing, and checks them before committing),
-- keeping every row and id, to drop UNIQUE (channel_id, external_id) (a chat's ids repeat
-- across chats: Telegram's message 42 exists in every chat) and widen the delivery states.
-- Uniqueness moves to message_refs.
CREATE TABLE messages_v4 (
    id                 INTEGER PRIMARY KEY,
    conversation_id    INTEGER NOT NULL REFERENCES conversations(id),
    channel_id         INTEGER REFERENCES channels(id),   -- NULL for internal notes
    direction          TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    external_id        TEXT,                              -- Message-ID, Slack ts, ... (ours for 'out')
    author_identity_id INTEGER REFERENCES identities(id),
    author_agent_id    INTEGER REFERENCES agents(id),
    author_name        TEXT NOT NULL DEFAULT '',
    author_address     TEXT NOT NULL DEFAULT '',
    recipients         TEXT NOT NULL DEFAULT '[]',        -- JSON [{"kind","address","display_name","role"}]
    subject            TEXT NOT NULL DEFAULT '',
    text               TEXT NOT NULL DEFAULT '',          -- full text (the newest, when edited)
    display_text       TEXT NOT NULL DEFAULT '',          -- quotes and signature folded
    html               TEXT,
    language           TEXT,
    thread_refs        TEXT NOT NULL DEFAULT '[]',        -- JSON array of external ids (in scope)
    flags              TEXT NOT NULL DEFAULT '[]',        -- JSON array (adapters/base.py FLAG_*)
    defects            TEXT NOT NULL DEFAULT '[]',        -- JSON array of parser defect names
    meta               TEXT NOT NULL DEFAULT '{}',        -- JSON: channel specifics, call duration ...
    raw_sha256         TEXT,                              -- raw bytes in the blob store
    content_hash       TEXT NOT NULL DEFAULT '',
    sent_at            INTEGER NOT NULL,
    sent_tz_offset     INTEGER,                           -- sender's UTC offset in minutes, if known
    received_at        INTEGER NOT NULL,
    delivery           TEXT CHECK (delivery IN ('queued', 'sending', 'sent', 'delivered', 'read',
                                                'undelivered', 'failed', 'cancelled')),
    delivery_error     TEXT,
    scope              TEXT NOT NULL DEFAULT '',          -- chat/workspace of external_id (adapters/base.py)
    edited_at          INTEGER,                           -- the channel's time of the text shown
    deleted_at         INTEGER                            -- deleted on the channel (text kept)
) STRICT;
INSERT INTO messages_v4 (id, conversation_id, channel_id, direction, external_id, author_identity_id,
    author_agent_id, author_name, author_address, recipients, subject, text, display_text, html,
    language, thread_refs, flags, defects, meta, raw_sha256, content_hash, sent_at, sent_tz_offset,
    received_at, delivery, delivery_error)
SELECT id, conversation_id, channel_id, direction, external_id, author_identity_id,
    author_agent_id, author_name, author_address, recipients, subject, text, display_text, html,
    language, thread_refs, flags, defects, meta, raw_sha256, content_hash, sent_at, sent_tz_offset,
    received_at, delivery, delivery_error FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v4 RENAME TO messages;
CREATE INDEX messages_conversation ON messages(conversation_id, sent_at, id);
CREATE INDEX messages_content_hash ON messages(channel_id, content_hash);

-- (scope, ref, channel) -> message. A scope '' reference (an email Message-ID) is unique on its
-- channel and matched on every channel; a scoped one (a chat id, "TEAM/CHANNEL") only on its
-- own channel and scope. The key order serves both lookups; message ids grow, so the second
-- index is appended to, not written at random.
CREATE TABLE message_refs (
    scope       TEXT NOT NULL,
    ref         TEXT NOT NULL,
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    PRIMARY KEY (scope, ref, channel_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX message_refs_message ON message_refs(message_id);
-- Written by the store next to each message (store/references.py `add`), not by a trigger:
-- with a trigger a message insert took ~10 us more; the separate insert takes ~3 us.
INSERT OR IGNORE INTO message_refs (scope, ref, channel_id, message_id)
    SELECT '', external_id, channel_id, id FROM messages
    WHERE channel_id IS NOT NULL AND external_id IS NOT NULL AND external_id != '';

-- The texts an edited message showed before, oldest first.
CREATE TABLE message_edits (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    text         TEXT NOT NULL,
    html         TEXT,
    shown_from   INTEGER NOT NULL,                    -- when that text was written (sent or edited)
    replaced_at  INTEGER NOT NULL                     -- the channel's time of the edit replacing it
) STRICT;
CREATE INDEX message_edits_message ON message_edits(message_id, id);

-- Updates (adapters/base.py Edit, Deletion, DeliveryChange) about a message the desk does not
-- hold yet: applied when a message with that reference arrives (or is sent), then removed.
CREATE TABLE pending_updates (
    id           INTEGER PRIMARY KEY,
    channel_id   INTEGER NOT NULL REFERENCES channels(id),
    scope        TEXT NOT NULL,
    ref          TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('edit', 'deletion', 'delivery')),
    payload      TEXT NOT NULL,                       -- JSON of the update
    received_at  INTEGER NOT NULL,
    UNIQUE (channel_id, scope, ref, kind, payload)
) STRICT;
