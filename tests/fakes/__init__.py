"""Test-only stand-ins: the SMTP server, a recording chat kind, lazy files.

The local Slack, Telegram, Mastodon and Twilio servers live in `omnidesk/demo/fakes/`
because `omnidesk demo` runs them too; the tests use them from there, over real HTTP,
and `tests/unit/test_fake_*.py` checks their answers against the recorded payloads in
`../shared/corpora/chat/`.
"""
