"""What Twilio's messaging error codes mean, in Twilio's documented words (twilio.com/docs/api/errors).

A delivery change or a refused send carries the code and this meaning, so an agent reads
"30007 Message filtered: the carrier blocked it as spam or a policy violation" instead of
a bare number. Codes not listed show Twilio's own message, or just the code.
"""

from __future__ import annotations

MEANINGS: dict[str, str] = {
    "20003": "Authentication failed: the account SID or auth token is wrong or revoked",
    "20404": "The requested resource was not found",
    "20429": "Too many requests",
    "21211": "Invalid 'To' phone number",
    "21408": "Permission to send an SMS has not been enabled for the region",
    "21602": "Message body is required",
    "21606": "The 'From' number is not a message-capable number of this account",
    "21610": "The recipient replied STOP: Twilio refuses messages to an unsubscribed recipient",
    "21612": "The 'To' number cannot be reached from the 'From' number",
    "21614": "The 'To' number is not a valid mobile number",
    "21617": "The message body exceeds the 1,600 character limit",
    "30001": "Queue overflow: too many messages queued for the sender",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset: the phone is off, out of coverage or cannot receive SMS",
    "30004": "Message blocked: the recipient or their carrier blocks messages from this sender",
    "30005": "Unknown destination handset: the number does not exist or is no longer in service",
    "30006": "Landline or unreachable carrier: the number cannot receive this message",
    "30007": "Message filtered: the carrier blocked it as spam or a policy violation",
    "30008": "Unknown error from the carrier",
    "30009": "Missing segment: a part of a multi-part message did not arrive",
    "30010": "Message price exceeds the maximum price set for it",
    "63003": "WhatsApp could not find the 'To' address: the number has no WhatsApp account",
    "63007": "Twilio could not find a channel with the 'From' address",
    "63016": "Outside the WhatsApp 24-hour window: a free-form message needs an approved template",
    "63018": "WhatsApp rate limit reached for this sender",
    "63024": "Invalid message recipient (WhatsApp)",
}


def meaning(code: object, fallback: str = "") -> str:
    """The meaning of `code` (an int, a string or None), else `fallback`, else ""."""
    if code in (None, ""):
        return fallback
    return MEANINGS.get(str(code), fallback)


def described(code: object, fallback: str = "") -> str:
    """`30007 Message filtered: ...`, the code with its meaning (or `fallback`) for a person."""
    words = meaning(code, fallback)
    return f"{code} {words}".strip() if code not in (None, "") else words
