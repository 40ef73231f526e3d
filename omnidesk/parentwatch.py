"""Worker processes exit when the process that started them dies.

A pool worker waits on a pipe that its siblings also hold open, so a parent killed
with SIGKILL leaves it waiting forever. On Linux the kernel sends a signal to a child
whose parent dies (`prctl(PR_SET_PDEATHSIG)`); elsewhere a thread watches for the
parent's pid to change (the child is re-parented when the parent dies).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: From <linux/prctl.h>.
PR_SET_PDEATHSIG = 1
#: How often the fallback looks at the parent's pid.
WATCH_SECONDS = 1.0


def die_with_parent(parent: int) -> None:
    """Make this process exit when `parent` (the process that forked it) dies.

    With the Linux signal, "parent" is the thread that forked this process: fork pools
    from a thread that lives as long as the pool (the CLI forks from its main thread).
    """
    if not _parent_death_signal():
        threading.Thread(target=_watch, args=(parent,), name="omnidesk-parent-watch", daemon=True).start()
    if os.getppid() != parent:  # died before the signal was asked for
        os._exit(1)


def _parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
