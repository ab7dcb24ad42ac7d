"""Helper processes that must not outlive the daemon that started them."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["PARENT_CHECK_S", "exit_with_parent"]

#: How often a helper process checks that its parent is still there.
PARENT_CHECK_S = 1.0


def exit_with_parent(parent: int, code: int = 0) -> None:
    """In a helper process: exit (``os._exit(code)``) once ``parent`` is gone, even if it was killed
    without a goodbye and even while this process's main thread is stuck (a hanging plugin)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(code)

    threading.Thread(target=watch, name="promptdaw-parent-watch", daemon=True).start()
