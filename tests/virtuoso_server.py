"""Virtuoso Open Source 7 (Debian's ``virtuoso-opensource``, its server ``virtuoso-t``) on loopback, for
tests/test_virtuoso.py and bench/remote.py: a fresh database in a folder of its own, started in the
foreground, stopped and reaped on the way out.

Only the standard library, so that the benchmark can import it too (as ``tests.virtuoso_server``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

VIRTUOSO = shutil.which("virtuoso-t")
MISSING = "virtuoso-t is not installed: .ci/run installs it (Debian package virtuoso-opensource)"
#: A fresh database's administrator, who may write through the Graph Store endpoint with digest authentication.
CREDENTIALS = ("dba", "dba")

_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
DirsAllowed = .

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
ServerThreads = {threads}

[SPARQL]
ResultSetMaxRows = {max_rows}
"""


@dataclass(frozen=True)
class Virtuoso:
    """A running server: where to query it, where to write graphs, and its process."""

    base: str
    process: subprocess.Popen
    folder: Path

    @property
    def query_url(self) -> str:
        return f"{self.base}/sparql"

    @property
    def data_url(self) -> str:
        """The Graph Store endpoint that takes HTTP digest authentication (``/sparql-graph-crud`` takes none,
        and so refuses writes until SPARQL_UPDATE is granted to everyone)."""
        return f"{self.base}/sparql-graph-crud-auth"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def virtuoso_server(
    folder: Path,
    *,
    buffers: int = 10_000,
    threads: int = 10,
    max_rows: int = 100_000_000,
    start_timeout: float = 60,
) -> Iterator[Virtuoso]:
    """``virtuoso-t`` on free loopback ports (HTTP and ISQL) over a new database in ``folder``; yields it once
    its SPARQL endpoint answers. ``buffers`` are 8 KiB pages of cache (NumberOfBuffers), ``threads`` its HTTP
    threads (ServerThreads), ``max_rows`` the most rows or triples it answers (ResultSetMaxRows: its default,
    10,000, is below a whole graph, which kg asks for to export one)."""
    if VIRTUOSO is None:
        raise FileNotFoundError(MISSING)
    folder.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = _free_port(), _free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        _INI.format(
            folder=folder.resolve(),
            sql_port=sql_port,
            http_port=http_port,
            buffers=buffers,
            dirty=buffers * 3 // 4,
            threads=threads,
            max_rows=max_rows,
        )
    )
    base = f"http://127.0.0.1:{http_port}"
    with (folder / "virtuoso.out").open("wb") as log:
        process = subprocess.Popen(
            [VIRTUOSO, "+foreground", "+configfile", str(ini)],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C goes to the caller, which stops it in order
        )
        try:
            _wait_until_answering(process, f"{base}/sparql?query=ASK%7B%7D", folder, start_timeout)
            yield Virtuoso(base, process, folder)
        finally:
            process.terminate()  # Virtuoso checkpoints and exits
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def _wait_until_answering(process: subprocess.Popen, url: str, folder: Path, timeout: float) -> None:
    """Return once ``url`` answers 200; raise if the server exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"virtuoso-t exited with {process.returncode} while starting: {_tail(folder)}")
        with contextlib.suppress(OSError):  # refused, reset, or an error status while it starts
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError(f"virtuoso-t did not answer within {timeout:g} s: {_tail(folder)}")


def _tail(folder: Path) -> str:
    text = b"".join(
        path.read_bytes()[-1500:] for path in (folder / "virtuoso.out", folder / "virtuoso.log") if path.exists()
    )
    return text.decode("utf-8", "replace")
