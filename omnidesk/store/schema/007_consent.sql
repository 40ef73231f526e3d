-- omnidesk schema, version 7: a customer can opt out of messages on an identity (an SMS STOP)
-- and back in (START); nothing is queued or sent to an identity while it is opted out.
ALTER TABLE identities ADD COLUMN opted_out_at INTEGER;  -- when they opted out; NULL: they take messages
ALTER TABLE identities ADD COLUMN consent_at INTEGER;    -- the newest opt-out or opt-in applied (ms)
