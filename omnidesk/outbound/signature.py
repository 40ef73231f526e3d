"""Who a reply is from and how it is signed: a channel's `from_name` and signature, per agent and language.

Pure: settings, the acting agent and the customer's language in, the display name and
the signature texts out. `replies.queue_reply` puts them into the reply, the composer
shows them before sending. The placeholders are `settings.SENDER_FIELDS`, checked when
the config is loaded, so formatting here cannot fail.
"""

from __future__ import annotations

import html as html_lib
from typing import NamedTuple

from omnidesk import langpick
from omnidesk.model import Agent
from omnidesk.settings import AgentSettings, LangText, Settings

#: The signature separator of RFC 3676 (dash dash space): mail readers and our own folding know it.
SEPARATOR = "-- "


class Sender(NamedTuple):
    """What a reply on one channel says about who sent it."""

    from_name: str
    signature: str  # plain text, without the separator; "" for none
    signature_html: str  # "" for none
    separator: str = SEPARATOR  # the line above the signature: mail's "-- ", none on chat


def _text(texts: LangText | None, language: str | None, default: str) -> str:
    found = langpick.pick(texts or (), language, default)
    return found[1] if found else ""


def sender(
    settings: Settings,
    channel: str,
    *,
    agent: Agent | None,
    language: str | None,
    has_subject: bool,
    sends_html: bool,
) -> Sender:
    """The from name and signature of a reply on `channel` by `agent` to a customer writing `language`.

    A channel without `signature` signs with the agent's own signature where it has
    subjects (email) and not at all elsewhere (chat, SMS); `signature = ""` signs nothing.
    """
    chan = settings.channel(channel)
    desk_lang = settings.desk.language
    own = next((a for a in settings.agents if agent is not None and a.name == agent.name), None)
    fields = _fields(settings, channel, agent, own, language)
    from_name = (chan.from_name if chan is not None else "") or "{desk}"
    if chan is not None and chan.signature is not None:
        text = _text(chan.signature, language, desk_lang)
        markup = _text(chan.signature_html, language, desk_lang)
    elif has_subject and own is not None:
        text, markup = "{agent_signature}", "{agent_signature}" if own.signature_html else ""
    else:
        text, markup = "", ""
    html_fields = {k: html_lib.escape(v) for k, v in fields.items()}
    own_html = _text(own.signature_html, language, desk_lang) if own is not None else ""
    html_fields["agent_signature"] = own_html.format_map(html_fields) if own_html else \
        html_fields["agent_signature"].replace("\n", "<br>\n")
    return Sender(
        from_name.format_map(fields).strip(),
        text.format_map(fields).strip("\n"),
        markup.format_map(html_fields).strip() if sends_html else "",
        SEPARATOR if has_subject else "",
    )


def _fields(
    settings: Settings, channel: str, agent: Agent | None, own: AgentSettings | None, language: str | None
) -> dict[str, str]:
    shown = (agent.display_name or agent.name) if agent is not None else settings.desk.name
    fields = {
        "agent": shown,
        "agent_name": agent.name if agent is not None else "",
        "agent_first": shown.split()[0] if shown.split() else "",
        "agent_email": (agent.email or "") if agent is not None else "",
        "desk": settings.desk.name,
        "channel": channel,
    }
    own_text = _text(own.signature, language, settings.desk.language) if own is not None else ""
    fields["agent_signature"] = own_text.format_map({**fields, "agent_signature": ""})
    return fields


def signed(text: str, signature: str, separator: str = SEPARATOR) -> str:
    """`text`, then the separator line (if any) and the signature; nothing added without one."""
    if not signature.strip():
        return text
    line = f"{separator}\n" if separator else ""
    return f"{text.rstrip()}\n\n{line}{signature.rstrip()}\n"


def signed_html(text: str, html: str | None, signature_html: str, quoted: str | None) -> str | None:
    """The HTML part of a reply with an HTML signature: the agent's HTML (or the text,
    escaped, line breaks kept), the signature, then the quote; None when there is nothing to sign."""
    if not signature_html:
        return html
    body = html if html is not None else (
        '<div style="white-space: pre-wrap">' + html_lib.escape(text.rstrip()) + "</div>"
    )
    parts = [body, f'<div class="signature">{SEPARATOR}<br>\n{signature_html}</div>']
    if quoted and html is None:
        cite = '<blockquote type="cite" style="white-space: pre-wrap">'
        parts.append(f"{cite}{html_lib.escape(quoted)}</blockquote>")
    return "\n".join(parts) + "\n"
