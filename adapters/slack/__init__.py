"""The `slack` channel: a bot token polling its conversations and answering in threads (slack-sdk)."""
