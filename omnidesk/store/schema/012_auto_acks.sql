-- omnidesk schema, version 11: automatic acknowledgements (omnidesk/services/autoack.py).
-- One row per conversation acknowledged, written in the transaction that queues the
-- acknowledgement, so a crash or a re-delivery never sends a second one; the sender's
-- address is kept for the rate limit per sender.
CREATE TABLE auto_acks (
    conversation_id  INTEGER PRIMARY KEY REFERENCES conversations(id),
    message_id       INTEGER NOT NULL REFERENCES messages(id),   -- the customer's first message
    reply_id         INTEGER NOT NULL REFERENCES messages(id),   -- our acknowledgement
    sender_kind      TEXT NOT NULL,
    sender_address   TEXT NOT NULL,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX auto_acks_sender ON auto_acks(sender_kind, sender_address, created_at);

-- How far the scan for first messages has looked (one row): every inbound message with a
-- larger id is still to be decided. Moved in the transaction of the decisions it covers.
CREATE TABLE auto_ack_scan (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    message_id       INTEGER NOT NULL
) STRICT;
