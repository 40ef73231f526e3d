"""Desk services: every agent action (assign, tag, status, note, reply, call, merge), opening a
desk as an agent, and the sync daemon. They use customers, conversations, inbound and
outbound, so they sit above them; only the CLI, the TUI and the demo sit higher."""
