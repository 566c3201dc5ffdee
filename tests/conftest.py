"""Shared fixtures: the real seed graph, built once per test session into a temporary store."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from kg.build.pipeline import Build, build_and_publish
from kg.config import Settings, load_settings
from kg.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parent.parent
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    return load_settings({"root": ROOT, "store_dir": tmp_path_factory.mktemp("store")}, env={})


@pytest.fixture(scope="session")
def built(settings) -> tuple[Build, EmbeddedStore]:
    build, _ = build_and_publish(settings, progress=lambda message: None)
    return build, EmbeddedStore(settings.path("store_dir"))


@pytest.fixture(scope="session")
def build(built) -> Build:
    return built[0]


@pytest.fixture(scope="session")
def store(built) -> EmbeddedStore:
    return built[1]


@pytest.fixture(scope="session")
def shared_seeds() -> Path:
    if not SHARED_SEEDS.is_dir():
        pytest.skip("../shared/seeds (the source articles) is not beside the project on this machine")
    return SHARED_SEEDS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, attempts: int = 100) -> bool:
    """Whether ``url`` answers within ``attempts`` tries a tenth of a second apart (a bounded wait)."""
    for _ in range(attempts):
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            time.sleep(0.1)
    return False


@contextlib.contextmanager
def kg_server(store_dir: Path, log_path: Path, **environment):
    """``kg serve`` (gunicorn, two workers) on a free loopback port over ``store_dir``; yields its base URL.

    On the way out the server is stopped and its log is checked: no crash, one access-log line per request.
    """
    port = free_port()
    env = {**os.environ, "KG_STORE_DIR": str(store_dir), **{k: str(v) for k, v in environment.items()}}
    with log_path.open("w+b") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", "from kg.cli import run; run()", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        if not wait_until_answering(base + "/health"):
            server.kill()
            log.seek(0)
            pytest.fail("the server did not start: " + log.read().decode())
        try:
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        output = log.read().decode()
    assert "SIGSEGV" not in output and "Traceback" not in output, output[-2000:]
    assert '"GET /health HTTP/1.1" 200' in output  # one access-log line per request, with status


class Canary:
    """A loopback TCP listener that accepts and records every connection, then closes it: it stands in
    for any outside address a query or an upload could make the server fetch."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._seen: list[int] = []  # the peer port of each connection, in the order accepted
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._accept, name="canary", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, peer = self._socket.accept()
            except OSError:  # closed
                return
            connection.close()
            with self._changed:
                self._seen.append(peer[1])
                self._changed.notify_all()

    def connections(self) -> int:
        """How many connections arrived since the last ``clear``.

        The listener accepts in arrival order, so once a connection of our own (made now) has been
        accepted, every earlier one has been too: no connection that already reached the socket is missed,
        and the wait is bounded.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
            own = probe.getsockname()[1]
            with self._changed:
                assert self._changed.wait_for(lambda: own in self._seen, timeout=2), "the canary stopped accepting"
                return self._seen.index(own)

    def clear(self) -> None:
        with self._changed:
            self._seen.clear()

    def close(self) -> None:
        self._socket.close()

    def reached_after(self, action) -> bool:
        """Whether ``action()`` made anything connect."""
        self.clear()
        action()
        return self.connections() > 0


@pytest.fixture(scope="module")
def canary():
    listener = Canary()
    yield listener
    listener.close()
