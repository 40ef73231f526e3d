"""The Textual console. Imported only by `omnidesk tui` and `omnidesk demo`, never by other commands."""
