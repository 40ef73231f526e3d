-- omnidesk schema, version 4: agents have identities of any kind, attachments may be lazy.
-- A message from an agent's identity (an email address, a Slack user, a Telegram user) is
-- the desk's own, recorded as outgoing from that agent; (kind, address) names one agent.
-- agents.email stays the agent's From address; it is also one of these rows.
CREATE TABLE agent_identities (
    id            INTEGER PRIMARY KEY,
    agent_id      INTEGER NOT NULL REFERENCES agents(id),
    kind          TEXT NOT NULL,                 -- adapters.base.IDENTITY_KINDS
    address       TEXT NOT NULL,                 -- normalised (omnidesk/customers/identity.py)
    UNIQUE (kind, address)
) STRICT;
CREATE INDEX agent_identities_agent ON agent_identities(agent_id);
INSERT OR IGNORE INTO agent_identities (agent_id, kind, address)
    SELECT id, 'email', lower(trim(email)) FROM agents WHERE email IS NOT NULL AND trim(email) <> '';

-- A lazy attachment (adapters.base.Attachment.fetch_ref) is stored with sha256 = '' and the
-- channel's reference; the first open or save fetches the bytes and sets sha256.
ALTER TABLE attachments ADD COLUMN fetch_ref TEXT;
