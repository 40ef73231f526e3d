"""The configuration keys of the `email` and `maildir` channels, as `Option` declarations.

Apart from the adapters so that declaring them costs nothing: omnidesk reads them for
every command that loads the configuration, and the adapter classes that carry them
import their IMAP, SMTP and MIME code only when a channel is built.
"""

from __future__ import annotations

from adapters.base import Option

_TLS = ("ssl", "starttls", "none")

SMTP_OPTIONS: tuple[Option, ...] = (
    Option("smtp_host", "str", "SMTP server for replies."),
    Option("smtp_port", "int", "SMTP port (default 587).", minimum=1, maximum=65535),
    Option("smtp_tls", "str", 'SMTP security: "ssl", "starttls" (default) or "none".', choices=_TLS),
    Option("smtp_username", "str", "SMTP login (default: username)."),
    Option("smtp_password", "str", "SMTP password (default: the IMAP password's source).", secret=True),
)

EMAIL_OPTIONS: tuple[Option, ...] = (
    Option("address", "str", "The support address: From of replies, To of customer mail.", required=True),
    Option("imap_host", "str", "IMAP server.", required=True),
    Option("imap_port", "int", "IMAP port (default 993).", minimum=1, maximum=65535),
    Option("imap_tls", "str", 'IMAP security: "ssl" (default), "starttls" or "none".', choices=_TLS),
    Option("username", "str", "IMAP login (default: address)."),
    # Required to log in, so `doctor` fails without a source; not at load, since
    # password_cmd and password_env are only resolved when the channel connects.
    Option("password", "str", "IMAP password (prefer password_cmd; chmod 600 a file holding one).",
           required=True, secret=True),
    Option("folders", "list", 'Folders to read (default ["INBOX"]).'),
    Option("sent_folder", "str", "Folder to append sent replies to (default: none)."),
    Option("mark_seen", "bool", "Mark fetched mail as seen on the server (default false)."),
    Option("move_to", "str", "Move fetched mail to this folder (default: leave it)."),
    Option("idle", "bool", "Use IMAP IDLE for push, on every folder (up to 6; default true)."),
    Option("poll_seconds", "number", "Polling interval without IDLE, and for folders beyond 6 (default 60).",
           minimum=0, maximum=86400),
    Option("batch_size", "int", "Messages fetched per batch (default 200).", minimum=1, maximum=100_000),
    Option("timeout_seconds", "number", "Network timeout (default 30).", minimum=0, maximum=3600),
    *SMTP_OPTIONS,
)

MAILDIR_OPTIONS: tuple[Option, ...] = (
    Option("address", "str", "The support address: From of replies.", required=True),
    Option("path", "path", "The Maildir directory (relative paths: to the config file).", required=True),
    Option("poll_seconds", "number", "How often to look for new files (default 2).",
           minimum=0, maximum=86400),
    *SMTP_OPTIONS,
)
