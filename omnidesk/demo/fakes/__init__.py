"""Local stand-ins for hosted chat APIs, over real HTTP on 127.0.0.1: Slack's Web API, Telegram's Bot API.

They serve two users: `omnidesk demo`, whose Slack workspace and Telegram bot they
are (nothing leaves the machine), and the tests, which point the real adapters at
them through `api_url` and inject the services' faults. Pure stdlib (http.server in
a thread); they import nothing of omnidesk, so they model the services, not us.
"""
