"""The `twilio` channel: SMS, MMS and WhatsApp through Twilio's Programmable Messaging API.

`channel.TwilioAdapter` is the adapter; `rest` the HTTP client (httpx, imported only when
the adapter first talks to Twilio); `messages` turns Message resources and webhook forms
into records and delivery changes; `codes` knows what Twilio's error codes mean;
`signature` checks X-Twilio-Signature.
"""
