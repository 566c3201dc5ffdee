"""CPU-bound build work in a forked child process, beside the parent's own work.

A build's stages are pure Python for the most part, and the GIL keeps threads to one core; a forked child
shares the parent's data without copying or pickling it and hands back only bytes. Forking is safe only
where no other thread could hold a lock the child needs, so with other threads running (a server, a test
harness) the work simply runs in the calling process instead.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import traceback
from typing import Callable

_FAILED = b"\0kg-child-failed\0"


class Deferred:
    """The bytes a piece of work returns, computed in a child process or, failing that, on demand here."""

    def __init__(self, work: Callable[[], bytes]):
        self._work, self._pid, self._file = work, None, None
        if threading.active_count() == 1 and hasattr(os, "fork"):
            self._file = tempfile.TemporaryFile()
            pid = os.fork()
            if pid == 0:  # the child: do the work, leave its bytes in the file, and exit without cleanup
                status = 0
                try:
                    self._file.write(work())
                except BaseException:  # noqa: BLE001 - reported to the parent, which does the work itself
                    self._file.write(_FAILED + traceback.format_exc().encode())
                    status = 1
                finally:
                    self._file.flush()
                    os._exit(status)
            self._pid = pid

    def result(self) -> bytes:
        if self._pid is None:
            return self._work()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        with self._file:
            self._file.seek(0)
            data = self._file.read()
        if status != 0 or data.startswith(_FAILED):
            # the child's error (or its death) is not trusted as the answer: the same work, here, raises
            # the same error with a usable traceback, or succeeds where the child ran out of memory
            return self._work()
        return data

    def cancel(self) -> None:
        """Stop the child, if there is one, and forget the work."""
        if self._pid is not None:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None
            self._file.close()
