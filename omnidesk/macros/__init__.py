"""Macros: canned replies with actions, one TOML file each (docs/macros.md).

`definition` reads a file into a `Macro`, `library` a folder, `variants` chooses the
text for a reply's channel and the customer's language, `render` fills it in a
Jinja2 sandbox, `lint` checks every macro. Pure: the services build the variables
from the store and apply the actions (omnidesk/services/macro_replies.py).
"""
