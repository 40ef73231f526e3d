-- omnidesk schema, version 1.
-- Times are INTEGER milliseconds since the Unix epoch (UTC); see omnidesk/timeutil.py.
-- JSON columns hold compact JSON text (arrays or objects, never NULL unless stated).

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,          -- short handle: "alice"
    display_name  TEXT NOT NULL DEFAULT '',
    email         TEXT,
    os_user       TEXT UNIQUE,                   -- $USER that acts as this agent
    skills        TEXT NOT NULL DEFAULT '[]',    -- JSON array of strings
    teams         TEXT NOT NULL DEFAULT '[]',    -- JSON array of team names
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    language      TEXT,
    timezone      TEXT,                          -- IANA name, e.g. "Asia/Tehran"
    tier          TEXT,
    notes         TEXT NOT NULL DEFAULT '',
    merged_into   INTEGER REFERENCES customers(id),  -- set while merged into another customer
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE identities (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    kind          TEXT NOT NULL,                 -- email | phone | whatsapp | slack | telegram | mastodon
    address       TEXT NOT NULL,                 -- normalised (omnidesk/identity.py)
    display_name  TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    UNIQUE (kind, address)
) STRICT;
CREATE INDEX identities_customer ON identities(customer_id);

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,          -- the name in config: [channels.NAME]
    kind          TEXT NOT NULL,                 -- adapter kind: email | maildir | phone | slack ...
    address       TEXT,                          -- our address on it: support@example.com
    created_at    INTEGER NOT NULL
) STRICT;

-- One opaque cursor per channel, written in the same transaction as the messages it covers.
CREATE TABLE cursors (
    channel_id    INTEGER PRIMARY KEY REFERENCES channels(id),
    value         TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Heartbeat and last error per channel, written by whoever runs the sync.
CREATE TABLE channel_health (
    channel_id       INTEGER PRIMARY KEY REFERENCES channels(id),
    heartbeat_at     INTEGER,
    last_success_at  INTEGER,
    last_error       TEXT,
    last_error_at    INTEGER,
    runner           TEXT                       -- "host:pid" of the process syncing it
) STRICT;

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers(id),
    subject            TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'pending', 'snoozed', 'resolved', 'spam')),
    priority           TEXT NOT NULL DEFAULT 'normal'
                       CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    assignee_id        INTEGER REFERENCES agents(id),
    team               TEXT,
    snoozed_until      INTEGER,
    channel_id         INTEGER REFERENCES channels(id),   -- channel of the latest inbound message
    linked_to          INTEGER REFERENCES conversations(id), -- "continues #N" / "mentions #N"
    merged_into        INTEGER REFERENCES conversations(id), -- set when merged away
    quarantined        INTEGER NOT NULL DEFAULT 0,
    flags              TEXT NOT NULL DEFAULT '[]',          -- JSON: auto-reply, bounce, list ...
    message_count      INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    last_activity_at   INTEGER NOT NULL,
    last_inbound_at    INTEGER,
    first_response_at  INTEGER,
    resolved_at        INTEGER,
    sla_due_at         INTEGER
) STRICT;
CREATE INDEX conversations_status_activity ON conversations(status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_activity ON conversations(last_activity_at DESC, id DESC);
CREATE INDEX conversations_customer ON conversations(customer_id, last_activity_at DESC);
CREATE INDEX conversations_assignee ON conversations(assignee_id, status, last_activity_at DESC);

-- Everyone who took part in a conversation besides the customer (CC'd colleagues, list relays).
CREATE TABLE participants (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    identity_id      INTEGER NOT NULL REFERENCES identities(id),
    role             TEXT NOT NULL DEFAULT 'cc',  -- cc | participant
    PRIMARY KEY (conversation_id, identity_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE messages (
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
    text               TEXT NOT NULL DEFAULT '',          -- full text
    display_text       TEXT NOT NULL DEFAULT '',          -- quotes and signature folded
    html               TEXT,
    language           TEXT,
    thread_refs        TEXT NOT NULL DEFAULT '[]',        -- JSON array of external ids
    flags              TEXT NOT NULL DEFAULT '[]',        -- JSON array (adapters/base.py FLAG_*)
    defects            TEXT NOT NULL DEFAULT '[]',        -- JSON array of parser defect names
    meta               TEXT NOT NULL DEFAULT '{}',        -- JSON: channel specifics, call duration ...
    raw_sha256         TEXT,                              -- raw bytes in the blob store
    content_hash       TEXT NOT NULL DEFAULT '',
    sent_at            INTEGER NOT NULL,
    sent_tz_offset     INTEGER,                           -- sender's UTC offset in minutes, if known
    received_at        INTEGER NOT NULL,
    delivery           TEXT CHECK (delivery IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    delivery_error     TEXT,
    UNIQUE (channel_id, external_id)
) STRICT;
CREATE INDEX messages_conversation ON messages(conversation_id, sent_at, id);
CREATE INDEX messages_external ON messages(external_id);
CREATE INDEX messages_content_hash ON messages(channel_id, content_hash);

-- Content-addressed files under <data_dir>/blobs/<sha[:2]>/<sha>.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    message_id    INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content_id    TEXT,
    inline        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX attachments_message ON attachments(message_id);
CREATE INDEX attachments_sha ON attachments(sha256);

CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE COLLATE NOCASE
) STRICT;

CREATE TABLE conversation_tags (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    tag_id           INTEGER NOT NULL REFERENCES tags(id),
    PRIMARY KEY (conversation_id, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX conversation_tags_tag ON conversation_tags(tag_id, conversation_id);

-- The audit log and the timeline's "assigned to alice" lines.
CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER REFERENCES conversations(id),
    customer_id      INTEGER REFERENCES customers(id),
    agent_id         INTEGER REFERENCES agents(id),     -- NULL: the system (ingest, sync, timers)
    kind             TEXT NOT NULL,                     -- assigned, status, tagged, priority, merged ...
    before           TEXT,                              -- JSON
    after            TEXT,                              -- JSON
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX events_conversation ON events(conversation_id, created_at);
CREATE INDEX events_customer ON events(customer_id, created_at);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    message_id       INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    channel_id       INTEGER NOT NULL REFERENCES channels(id),
    state            TEXT NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    payload          TEXT NOT NULL,                     -- JSON of adapters.base.Outbound (no secrets)
    not_before       INTEGER NOT NULL,                  -- end of the undo window
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE drafts (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    agent_id         INTEGER NOT NULL REFERENCES agents(id),
    channel_id       INTEGER REFERENCES channels(id),
    to_address       TEXT,
    body             TEXT NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
) STRICT;

-- Per-agent read state: a conversation is unread when last_inbound_at > read_at.
CREATE TABLE conversation_reads (
    agent_id         INTEGER NOT NULL REFERENCES agents(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    read_at          INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
) STRICT, WITHOUT ROWID;

-- Who is looking at or answering a conversation right now (heartbeats; stale rows are ignored).
CREATE TABLE presence (
    agent_id         INTEGER NOT NULL REFERENCES agents(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    activity         TEXT NOT NULL CHECK (activity IN ('viewing', 'replying')),
    runner           TEXT NOT NULL,                     -- "host:pid"
    heartbeat_at     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_id, runner)
) STRICT, WITHOUT ROWID;

-- Full-text index over subject, text and sender. Contentless: the indexed text is the
-- output of omnidesk/textindex.py (CJK bigrams), not the stored text, so deleting a row
-- means passing the same prepared values back ('delete' command).
CREATE VIRTUAL TABLE message_fts USING fts5(
    subject, body, sender,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
