"""An import's expensive part in a process of its own, within a time limit; the write lock, waited for briefly.

Parsing partner data into rdflib terms, reasoning over it (kg.reasoning.owl_rl, owlrl) and validating it
(kg.validation.shacl) is pure Python, and a small document of nested Turtle lists can keep it busy for
long. On a thread of the serving worker it would hold the GIL all that time, slowing every other request
of the worker, and a Python thread cannot be stopped. So each import runs in a fresh Python process
(``kg.parallel.python_process``: spawned, not forked, since the worker holds RocksDB open, and killed by
the kernel if its parent dies), which checks the data against the published version without the write
lock, then takes the lock, checks that version is still current (else checks again) and publishes. The
parent only waits on a pipe: past ``import_timeout`` before the child has begun to publish, it kills the
child, which has written nothing yet, and the writer gets ``ImportTimeout`` (503, Retry-After; exit 2).
Once publishing, the child is left to finish: that step is short and cut short it would leave a
half-made version for the next writer to clean up. A small import takes about as long in its child as in
process: starting the child and importing kg's modules costs little beside loading the ontology and
shapes, checking and publishing.
"""

from __future__ import annotations

import errno
import os
import pickle
import select
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from kg.config import Settings
from kg.errors import KGError, StoreError, Unavailable
from kg.parallel import python_process

#: Seconds a writer waits for the store's write lock (held by another import, a removal or a build).
WRITE_WAIT = 5.0
RETRY_AFTER = 5


class ImportTimeout(Unavailable):
    """Parsing and validating an import took longer than ``import_timeout``; nothing was written."""

    retry_after = RETRY_AFTER


class WriterBusy(Unavailable):
    """Another write holds the store (or this worker's write slot); nothing was written, try again."""

    retry_after = RETRY_AFTER


def write_lock_within(store_dir: Path, seconds: float = WRITE_WAIT):
    """The store's write lock, waited for at most ``seconds``, then WriterBusy: a writer never waits long,
    and never holds a request thread while it does."""
    from kg.store.versions import write_lock

    return write_lock(
        store_dir,
        seconds,
        lambda: WriterBusy(
            f"another write to the store (an import, a removal or a build) has held it for over {seconds:.0f} s; "
            "nothing was written: try again in a moment"
        ),
    )


# --- the parent: start the child, wait for it within the limit --------------------------------------------

_CHILD = "from kg.exchange.import_worker import child_main; child_main()"
PUBLISHING, RESULT = b"L", b"R"  # what the child writes on its stdout: publishing has begun; the result


def run_import(settings: Settings, **job):
    """``kg.exchange.imports.import_checked(settings, **job)`` in a child process, within
    ``settings.import_timeout``."""
    import dataclasses

    limit = settings.import_timeout
    deadline = time.monotonic() + limit  # CLOCK_MONOTONIC is one clock for every process
    request = {"settings": dataclasses.replace(settings, write_token=""), "deadline": deadline, **job}
    with (
        tempfile.NamedTemporaryFile(prefix="kg-import-", suffix=".pickle") as handed,
        tempfile.TemporaryFile() as errors,
    ):
        pickle.dump(request, handed)
        handed.flush()
        child = python_process(_CHILD, [handed.name], stdout=subprocess.PIPE, stderr=errors)
        assert child.stdout is not None  # stdout=PIPE
        try:
            output, publishing = _read(child, deadline)
        except TimeoutError:
            raise ImportTimeout(
                f"parsing and validating the data took longer than the import time limit ({limit:g} s, "
                "setting import_timeout) and was stopped; nothing was written and the published "
                "version is unchanged. Send the data in smaller parts (POST adds to a graph) or "
                "ask the operator to raise import_timeout"
            ) from None
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            child.stdout.close()
        if not output.startswith(RESULT):
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-2000:]
            written = (
                "it had begun to publish: the store may hold the data or not" if publishing else "nothing was written"
            )
            raise StoreError(
                f"the import's process ended without an answer (exit {child.returncode}); {written}. "
                f"It said: {said or '(nothing)'}"
            )
    return _answer(pickle.loads(output[len(RESULT) :]))


def _read(child: subprocess.Popen, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes; TimeoutError at ``deadline`` unless it has begun to publish."""
    assert child.stdout is not None  # started with stdout=PIPE
    received, publishing, fd = bytearray(), False, child.stdout.fileno()
    while True:
        if not publishing and received[:1] == PUBLISHING:
            publishing = True
            del received[:1]
        wait = None if publishing else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return bytes(received), publishing
            received += chunk


def _answer(outcome: tuple):
    kind, *rest = outcome
    if kind == "ok":
        return rest[0]
    if kind == "error":  # rebuilt by hand: an exception's pickle keeps only its args (no details, no report)
        cls, message, details, report = rest
        error = cls.__new__(cls)
        KGError.__init__(error, message, details=details)
        if report is not None:
            error.report = report
        raise error
    raise RuntimeError(f"the import failed in its process:\n{rest[0]}")


# --- the child -----------------------------------------------------------------------------------------------


def child_main() -> None:
    """Run the job in ``sys.argv[1]`` and write its outcome, pickled, on the stdout the parent reads."""
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print goes to stderr, not into the answer
    with open(sys.argv[1], "rb") as handed:
        job = pickle.load(handed)
    outcome: tuple[object, ...]
    try:
        from kg.exchange.imports import import_checked

        outcome = ("ok", import_checked(announce=lambda: _write(out, PUBLISHING), **job))
    except KGError as exc:
        outcome = ("error", type(exc), exc.message, exc.details, getattr(exc, "report", None))
    except BaseException:  # noqa: BLE001 - handed to the parent, which raises it
        outcome = ("crash", traceback.format_exc())
    _write(out, RESULT + pickle.dumps(outcome))
    os._exit(0)  # no interpreter teardown: it has crashed in processes that opened RocksDB


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # the parent is gone or gave up
                os._exit(1)
            raise
