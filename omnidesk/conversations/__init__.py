"""Conversations as agents read them: lists, timelines, search with snippets and highlights,
event rows as sentences, attachments leaving the store."""
