"""The `telegram` channel: a Telegram bot over the Bot API (long polling in, sendMessage out).

`channel.TelegramAdapter` is the adapter; `botapi` the HTTP client (httpx, imported only
when the adapter is built); `updates` turns Bot API updates into Inbound records and edits.
"""
