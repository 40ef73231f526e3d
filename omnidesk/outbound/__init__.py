"""Outbound: the outbox (claim, send, retry, undo window) and what an outgoing message carries."""
