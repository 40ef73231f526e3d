"""The `mastodon` channel: one account's mentions and direct messages, answered as statuses.

`channel.MastodonAdapter` is the adapter; `api` the HTTP client (httpx, imported only when
the adapter first talks to the instance); `content` turns status HTML into text and counts
characters as Mastodon does; `notifications` turns notifications into records and keeps the cursor.
"""
