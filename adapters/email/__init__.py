"""Email: MIME parsing, IMAP sync, local Maildir, SMTP sending."""
