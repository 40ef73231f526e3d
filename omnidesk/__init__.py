"""omnidesk: a terminal-first omnichannel customer-support console.

Kept empty on purpose: `omnidesk list --json` must start fast, so nothing heavy
is imported at package import time.
"""

__version__ = "0.1.0"
