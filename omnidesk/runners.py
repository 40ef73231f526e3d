"""Who runs a sync, a dispatcher or a console ("host:pid"), and whether that process is gone.

The store records these names in heartbeats, presence rows and outbox leases; a
name of this host whose pid no longer exists belongs to a process that crashed.
"""

from __future__ import annotations

import os
import socket


def runner_id() -> str:
    """"host:pid": who runs a sync or a dispatcher, as the store records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def runner_gone(runner: str) -> bool:
    """True when `runner` ("host:pid", or a dispatcher's "host:pid:tag") was a process of this
    host that no longer exists. Another host's runner, or an unreadable name, is never gone."""
    host, _, rest = runner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by someone else
    return False
