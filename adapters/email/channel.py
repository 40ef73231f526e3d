"""The `email` channel: IMAP in, SMTP out, a copy of each reply in the Sent folder.

    adapter = EmailAdapter("support", options, secret)
    async for batch in adapter.poll(cursor): ...   # the core commits records + cursor
    await adapter.wait_for_changes(60)             # IDLE, or a poll interval
    receipt = await adapter.send(outbound)         # SMTP, then APPEND to sent_folder

Option keys: `options` (adapters/email/options.py), which omnidesk.config validates.
The IMAP and SMTP code is imported when a channel is built, not with the class, so
reading the configuration stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.base import Batch, Capabilities, Option, Outbound, ProbeStep, Receipt, SecretResolver
from adapters.email.options import EMAIL_OPTIONS

if TYPE_CHECKING:
    from adapters.email.imap import ImapSettings, ImapSync

log = logging.getLogger(__name__)


class EmailAdapter:
    """An IMAP mailbox plus its SMTP server, as one omnidesk channel."""

    kind: ClassVar[str] = "email"
    capabilities: ClassVar[Capabilities] = Capabilities(
        addresses=frozenset({"email"}), subject=True, html=True, attachments=True)
    options: ClassVar[tuple[Option, ...]] = EMAIL_OPTIONS

    def __init__(self, name: str, options: Mapping[str, Any], secret: SecretResolver) -> None:
        from adapters.email.imap import ImapSettings, ImapSync

        self.name = name
        self.options = dict(options)
        self._secret = secret
        self.imap_settings: ImapSettings = ImapSettings.from_options(self.options)
        self.address = str(self.options.get("address") or self.imap_settings.username)
        self.sent_folder: str | None = self.options.get("sent_folder") or None
        self.imap: ImapSync = ImapSync(self.imap_settings, secret)

    def poll(self, cursor: str | None) -> AsyncIterator[Batch]:
        return self.imap.poll(cursor)

    def poll_undecoded(self, cursor: str | None) -> AsyncIterator[Batch]:
        """The same batches with the messages still raw, for the core to parse in parallel."""
        return self.imap.poll_undecoded(cursor)

    async def wait_for_changes(self, timeout: float) -> None:
        await self.imap.wait_for_changes(timeout)

    async def send(self, outbound: Outbound) -> Receipt:
        """SMTP first; the Sent copy is best effort (the reply has left, do not resend it)."""
        from adapters.email.smtp import build_message, message_bytes, send_email, smtp_settings

        smtp_settings(self.options)  # ConfigurationError before building anything
        message = build_message(outbound)
        receipt = await send_email(self.options, self._secret, outbound, message)
        if not self.sent_folder:
            return receipt
        meta = dict(receipt.meta)
        try:
            await self.imap.append(self.sent_folder, message_bytes(message))
            meta["sent_folder"] = self.sent_folder
        except Exception as exc:  # reported in the receipt, never raised: the reply has left
            log.warning("%s: reply %s sent but not copied to %s: %s",
                        self.name, outbound.message_ref, self.sent_folder, exc)
            meta["sent_folder_error"] = str(exc)
        return Receipt(external_id=receipt.external_id, sent_at=receipt.sent_at, meta=meta)

    async def probe(self) -> list[ProbeStep]:
        """Log in to the IMAP server, then to the SMTP server (see adapters/email/probe.py)."""
        from adapters.email.probe import probe_imap, probe_outgoing

        return [*await probe_imap(self.imap_settings, self._secret),
                *await probe_outgoing(self.options, self._secret)]

    async def close(self) -> None:
        await self.imap.close()
