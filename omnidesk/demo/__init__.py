"""The demo desk: `build_demo` (history), `simulate` (live customers), `LocalReceiver` (replies).

Used by `omnidesk demo` (omnidesk/cli/tui.py). Imports are lazy so that
importing the package costs nothing until one of the three is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnidesk.demo.builder import build_demo
    from omnidesk.demo.receiver import LocalReceiver
    from omnidesk.demo.simulator import simulate

__all__ = ["LocalReceiver", "build_demo", "simulate"]


def __getattr__(name: str) -> Any:
    if name == "build_demo":
        from omnidesk.demo.builder import build_demo

        return build_demo
    if name == "simulate":
        from omnidesk.demo.simulator import simulate

        return simulate
    if name == "LocalReceiver":
        from omnidesk.demo.receiver import LocalReceiver

        return LocalReceiver
    raise AttributeError(name)
