-- omnidesk schema, version 11: agents have a role (what they may do: omnidesk/permissions.py),
-- and an event done by an admin acting as another agent (`--as`) names the admin too.
ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent'
    CHECK (role IN ('agent', 'lead', 'admin'));
ALTER TABLE events ADD COLUMN via_agent_id INTEGER REFERENCES agents(id);  -- who typed it, when not agent_id
