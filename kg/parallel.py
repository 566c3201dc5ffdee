"""Build work in another process, beside the parent's own work.

A build's stages are pure Python for the most part, and the GIL keeps threads to one core (pyoxigraph's
RocksDB loader too: it takes each parsed quad through Python). ``Spawned`` runs a fresh Python process
for work that needs only files, such as loading RocksDB from a snapshot. It is spawned, not forked:
RocksDB's background threads do not survive a fork (a forked child that opened a store waited for them
forever). The child dies with its parent.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


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


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists (one owned by another user counts): one system call, for the
    front's accept path."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists and runs. A zombie does not: it has died, and only waits for its
    parent (for a killed writer's child, whatever adopted it) to reap it, which in a container may take a
    while."""
    if not process_exists(pid):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or it has just gone
        return True
    return stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X")  # the state follows the command's name


def python_process(code: str, args: list[str], **popen) -> subprocess.Popen:
    """A fresh Python process running ``python -c <code> <args>`` that dies with this one (``popen``: its
    pipes); ``Spawned`` and ``kg.exchange.import_worker`` start theirs so."""
    preamble = f"from kg.parallel import die_with_parent; die_with_parent({os.getpid()})\n"
    return subprocess.Popen([sys.executable, "-c", preamble + code, *args], stdin=subprocess.DEVNULL, **popen)


class Spawned:
    """A fresh Python process running ``python -c <code> <args>``; ``fallback`` does the same work here
    when the process fails (it raises the real error, with a usable traceback, or succeeds)."""

    def __init__(self, code: str, args: list[str], fallback: Callable[[], object], *, here: bool = False):
        """``here``: do the work now, in this process (for a job smaller than starting a process costs)."""
        self._fallback = fallback
        self._process: subprocess.Popen | None = None
        if here:
            fallback()
            return
        self._process = python_process(code, args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

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
