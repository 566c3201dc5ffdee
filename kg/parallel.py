"""Build work in another process, beside the parent's own work.

A build's stages are pure Python for the most part, and the GIL keeps threads to one core (pyoxigraph's
RocksDB loader too: it takes each parsed quad through Python).
- ``Deferred`` forks: the child shares the parent's data without copying or pickling it and hands back
  bytes. Forking is safe only in a process with no other thread, Python's or native (RocksDB's background
  threads do not survive a fork: a forked child that opened a store waited for them forever), so
  otherwise the work runs in the calling process.
- ``Spawned`` runs a fresh Python process (for work that needs only files, such as loading RocksDB from a
  snapshot), which is safe whatever threads the parent has.
Both children die with their parent.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from typing import Callable

_FAILED = b"\0kg-child-failed\0"
log = logging.getLogger(__name__)


def _single_threaded() -> bool:
    """Whether this process runs one thread only, counting native ones (which ``threading`` does not see)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("Threads:")) == 1
    except (OSError, StopIteration, ValueError):
        return False  # unknown: do not fork


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies (Linux), so that a killed build leaves no
    child behind holding its write lock or writing into its store folder."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child finishes its work and exits
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


class Deferred:
    """The bytes a piece of work returns, computed in a child process or, failing that, on demand here."""

    def __init__(self, work: Callable[[], bytes]):
        self._work, self._pid, self._file = work, None, None
        if hasattr(os, "fork") and _single_threaded():
            self._file = tempfile.TemporaryFile()
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:  # the child: do the work, leave its bytes in the file, and exit without cleanup
                status = 0
                try:
                    die_with_parent(parent)
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


class Spawned:
    """A fresh Python process running ``python -c <code> <args>``; ``fallback`` does the same work here
    when the process fails (it raises the real error, with a usable traceback, or succeeds)."""

    def __init__(self, code: str, args: list[str], fallback: Callable[[], object]):
        self._fallback = fallback
        preamble = f"from kg.parallel import die_with_parent; die_with_parent({os.getpid()})\n"
        self._process: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-c", preamble + code, *args], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def result(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        _, errors = process.communicate()
        if process.returncode != 0:
            log.info("the spawned process failed (%s); doing its work here", errors.decode(errors="replace")[-500:])
            self._fallback()

    def cancel(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.communicate()
