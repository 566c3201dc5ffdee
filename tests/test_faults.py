"""Faults from outside, for real: a build SIGKILLed at any moment leaves the last good store whole; a full
disk and a read-only store folder (a real tmpfs in a user and mount namespace) make a write fail with a
message that says why and that nothing changed, while reads go on; a remote store that stalls (says
nothing, or trickles its answer) gives a clear StoreError within its timeout instead of hanging.

Real processes, real file systems and real loopback sockets; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import ROOT

from kg.errors import StoreError
from kg.store.embedded import EmbeddedStore
from kg.store.remote import RemoteStore

KG = [sys.executable, "-c", "from kg.cli import run; run()"]


def seeds_with_one_fact_less(folder: Path) -> Path:
    """A copy of the seed tables without the last observation: a rebuild from it publishes another dataset."""
    shutil.copytree(ROOT / "seeds", folder)
    table = folder / "observations.csv"
    rows = table.read_text(encoding="utf-8").splitlines(keepends=True)
    table.write_text("".join(rows[:-1]), encoding="utf-8")
    return folder


PARTNER_GRAPH = "https://partner.example/g"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any KG_* setting (they would leak into the CLI), plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KG_")}, **extra}


def dot_leftovers(folder: Path, *, allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name not in allowed)


# --- 1. a build killed at any moment ----------------------------------------------------------------------


def kg_build(store_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*KG, "--store-dir", str(store_dir), "build"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


#: The progress line a build prints before it writes the new store version (kg/build/pipeline.py): from there
#: on it writes and loads the version while it reasons and validates, and commits it at the end.
PUBLISHING = b"writing the snapshot"


def wait_for_output(process: subprocess.Popen, text: bytes, timeout: float) -> bool:
    """Whether ``text`` appears on the process's stderr within ``timeout`` seconds (read without blocking)."""
    seen, deadline = b"", time.monotonic() + timeout
    while text not in seen and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stderr], [], [], min(left, 0.5))
        if readable:
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:  # the process ended
                break
            seen += chunk
    return text in seen


def test_a_build_killed_at_any_moment_leaves_the_last_good_store(tmp_path):
    """SIGKILL at spread-out moments of a rebuild (seeds, reasoning, validation), and at spread-out moments
    of its publish (where the new version is written and swapped in): afterwards the store opens and is
    either the previous version or the new one, whole; a rerun completes and clears what the killed builds
    left half-written."""
    store_dir, pristine, reference_dir = tmp_path / "store", tmp_path / "pristine", tmp_path / "reference"
    with kg_build(store_dir, clean_environment()) as first:
        assert first.wait(timeout=120) == 0, first.stderr.read().decode()
    old = EmbeddedStore(store_dir)
    old_id, old_nquads = old.build_id, old.canonical_nquads()
    del old
    # to go back to the old store after a kill that let the new one through
    shutil.copytree(store_dir, pristine, symlinks=True)
    # the complete new build, made from the same starting point in another folder, timed
    shutil.copytree(store_dir, reference_dir, symlinks=True)
    rebuild_env = clean_environment(KG_SEEDS_DIR=str(seeds_with_one_fact_less(tmp_path / "seeds")))
    started = time.monotonic()
    with kg_build(reference_dir, rebuild_env) as reference_build:
        assert wait_for_output(reference_build, PUBLISHING, timeout=120)
        publishing_from = time.monotonic() - started
        assert reference_build.wait(timeout=120) == 0, reference_build.stderr.read().decode()
    duration = time.monotonic() - started
    publishing = duration - publishing_from
    new = EmbeddedStore(reference_dir)
    new_id, new_nquads = new.build_id, new.canonical_nquads()
    del new
    assert new_id != old_id and new_nquads != old_nquads  # else the kills below would prove nothing

    outcomes = []
    moments = [("build", fraction) for fraction in (0.3, 0.7, 0.95)] + [
        ("publish", fraction) for fraction in (0.3, 0.8)
    ]
    for phase, fraction in moments:
        with kg_build(store_dir, rebuild_env) as process:
            if phase == "build":
                time.sleep(duration * fraction)
            else:
                assert wait_for_output(process, PUBLISHING, timeout=120), "the build never reached its publish"
                time.sleep(publishing * fraction)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
        store = EmbeddedStore(store_dir)  # opens: `current` names a whole version
        assert len(store) > 0
        if store.build_id == old_id:
            outcomes.append((phase, fraction, "old"))
            assert store.canonical_nquads() == old_nquads
        else:
            outcomes.append((phase, fraction, "new"))
            assert store.build_id == new_id and store.canonical_nquads() == new_nquads
        del store
        if outcomes[-1][2] == "new":  # back to the old store, so that the next kill again has two to choose from
            shutil.rmtree(store_dir)
            shutil.copytree(pristine, store_dir, symlinks=True)
    assert "old" in {outcome for _, _, outcome in outcomes}, outcomes  # at least one kill landed before the switch

    with kg_build(store_dir, rebuild_env) as rerun:
        assert rerun.wait(timeout=120) == 0, rerun.stderr.read().decode()
    store = EmbeddedStore(store_dir)
    assert store.build_id == new_id and store.canonical_nquads() == new_nquads
    # what the killed builds left half-written (staging stores, snapshots, link swaps) is gone
    assert dot_leftovers(store_dir / "versions") == []
    assert dot_leftovers(store_dir, allowed=(".write-lock",)) == []


# --- 2. a full disk and a read-only store folder --------------------------------------------------------

#: Bash run inside ``unshare -Urm``: a 32 MiB tmpfs on $DISK (a version of the seed build takes ~9 MiB, and
#: a write needs ~9 MiB more while it runs) holding a copy of the session's published store ($SEED, as the
#: ``writable`` fixture makes it), helpers that run kg with the store on it, RESULT lines to read.
NAMESPACE_PRELUDE = r"""
set -u
kg() { timeout 120 "$PY" -c "from kg.cli import run; run()" --store-dir "$DISK/store" "$@"; }
# run kg; report its exit code and its stderr on one line each
step() {
  local name=$1; shift
  kg "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"
  echo "RESULT ${name}_rc=$?"
  echo "RESULT ${name}_err=$(tr '\n' ' ' <"$LOGS/$name.err" | head -c 3000)"
}
# what the store looks like: the published build, its triple count, what writers left half-written
state() {
  echo "RESULT ${1}_build=$(kg info 2>/dev/null | sed -n '1s/^build \([^ ]*\) .*/\1/p')"
  echo "RESULT ${1}_count=$(kg sparql "$COUNT" --format csv 2>/dev/null | tail -n 1 | tr -d '\r')"
  echo "RESULT ${1}_leftovers=$(ls -A "$DISK/store/versions" | grep '^\.' | tr '\n' ' ')"
}
free_kib() { df --output=avail -k "$DISK" | tail -n 1 | tr -d ' '; }
import_partner() { KG_WRITE_TOKEN=T step "$1" import "$FILE" --graph "$GRAPH" --token T; }
mount -t tmpfs -o size=32m tmpfs "$DISK" || { echo "RESULT mount_rc=1"; exit 3; }
cd "$ROOT"
cp -a "$SEED" "$DISK/store"; echo "RESULT copy_rc=$?"
state before
"""


def run_in_namespace(script: str, tmp_path: Path, seed: Path) -> dict[str, str]:
    """Run ``script`` (after NAMESPACE_PRELUDE) as root of a new user and mount namespace, with a copy of the
    store in ``seed`` on the tmpfs; its RESULT lines.

    Skips when this machine forbids unprivileged user namespaces (as some CI machines do).
    """
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) on this machine: the full-disk and read-only tests need a private tmpfs")
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(
            f"user namespaces are not allowed here (unshare -Urm: {probe.stderr.strip()}); the full-disk "
            "and read-only tests need them to mount a private tmpfs"
        )
    disk, logs = tmp_path / "disk", tmp_path / "logs"
    disk.mkdir()
    logs.mkdir()
    partner = tmp_path / "partner.ttl"
    partner.write_text('<https://partner.example/x> <http://www.w3.org/2000/01/rdf-schema#label> "x"@en .\n')
    env = clean_environment(
        PY=sys.executable,
        ROOT=str(ROOT),
        DISK=str(disk),
        SEED=str(seed),
        LOGS=str(logs),
        FILE=str(partner),
        GRAPH=PARTNER_GRAPH,
        COUNT=COUNT,
    )
    done = subprocess.run(
        ["unshare", "-Urm", "bash", "-c", NAMESPACE_PRELUDE + script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    shown = f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    results = dict(
        line[len("RESULT ") :].split("=", 1)
        for line in done.stdout.splitlines()
        if line.startswith("RESULT ") and "=" in line
    )
    assert done.returncode == 0 and "mount_rc" not in results, shown
    assert results["copy_rc"] == "0" and results["before_build"] and int(results["before_count"]) > 0, shown
    return results


# Room for nothing: the first write (the new version's N-Quads snapshot) fails. Room for the snapshot but
# not the store: the failure comes from RocksDB writing the staging store's tables.
FILL_THE_DISK = {
    "no-room": 'dd if=/dev/zero of="$DISK/filler" bs=64k 2>/dev/null',
    "room-for-the-snapshot-only": r"""
        V=$(readlink -f "$DISK/store/current")
        keep=$(( ($(stat -c %s "$V.nq") + $(stat -c %s "$V.blank.nq")) / 1024 + 512 ))
        dd if=/dev/zero of="$DISK/filler" bs=1k count=$(( $(free_kib) - keep )) 2>/dev/null
    """,
}


@pytest.mark.parametrize("room", list(FILL_THE_DISK))
def test_an_import_on_a_full_disk_changes_nothing_and_says_why(tmp_path, room, writable):
    """On a full disk the import fails (exit 2) saying the disk is full and the store is unchanged; the
    store still opens with the same build; nothing half-written is left; freeing space lets it through."""
    result = run_in_namespace(
        FILL_THE_DISK[room]
        + r"""
        echo "RESULT full_free_kib=$(free_kib)"
        import_partner full
        state after
        rm -f "$DISK/filler"
        import_partner freed
        state freed
    """,
        tmp_path,
        writable.path("store_dir"),
    )
    shown = "\n".join(f"{k}={v}" for k, v in result.items())
    assert result["full_rc"] == "2", shown
    assert "unchanged" in result["full_err"], shown
    if room == "room-for-the-snapshot-only":  # the case is what it says: the store's tables did not fit
        assert ".staging-" in result["full_err"], shown
    assert result["after_build"] == result["before_build"], shown
    assert result["after_count"] == result["before_count"], shown
    assert result["after_leftovers"] == "", shown
    # the advice holds: with space again, the same import goes through
    assert result["freed_rc"] == "0" and result["freed_build"] != result["before_build"], shown
    assert int(result["freed_count"]) > int(result["before_count"]) and result["freed_leftovers"] == "", shown
    assert "disk is full" in result["full_err"], shown


def test_a_read_only_store_folder_refuses_writes_and_still_answers_queries(tmp_path, writable):
    """With the store's file system remounted read-only the import fails (exit 2) saying so, and reading
    the store (kg info, kg sparql) works as before."""
    result = run_in_namespace(
        r"""
        mount -o remount,ro "$DISK"; echo "RESULT remount_rc=$?"
        import_partner readonly
        state after
    """,
        tmp_path,
        writable.path("store_dir"),
    )
    shown = "\n".join(f"{k}={v}" for k, v in result.items())
    assert result["remount_rc"] == "0", shown
    assert result["readonly_rc"] == "2" and "read-only" in result["readonly_err"], shown
    assert "unchanged" in result["readonly_err"], shown
    # reads need no write: kg info and kg sparql answer as before
    assert result["after_build"] == result["before_build"], shown
    assert result["after_count"] == result["before_count"], shown


# --- 3. a remote store that stalls -------------------------------------------------------------------------

STALL_SECONDS = 2
DEADLINE_SECONDS = 10  # generous: the client must give up after about STALL_SECONDS


def _read_request_head(conn: socket.socket) -> bytes:
    """The request line and headers (enough to know a request came), read in a bounded loop."""
    received = b""
    for _ in range(50):
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        received += chunk
        if b"\r\n\r\n" in received:
            break
    return received


def _say_nothing(conn: socket.socket, stop: threading.Event) -> None:
    """Take the request and never answer, until the client gives up and closes (at most ~60 s)."""
    for _ in range(300):
        if stop.is_set():
            return
        try:
            if conn.recv(65536) == b"":
                return
        except TimeoutError:
            continue
        except OSError:
            return


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Valid 200 headers promising a large body, then one byte of it every 0.2 s (at most 300 bytes)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: 1000000\r\n\r\n")
    for _ in range(300):
        if stop.is_set():
            return
        try:
            conn.sendall(b" ")  # JSON may start with white space: every byte is a valid beginning
        except OSError:  # the client gave up and closed
            return
        time.sleep(0.2)


def _trickle_the_headers(conn: socket.socket, stop: threading.Event) -> None:
    """The status line and a header, one byte every 0.2 s (60 bytes: 12 s), then the rest of a valid answer."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 32:
        if stop.is_set():
            return
        try:
            conn.sendall(bytes([byte]))
        except OSError:  # the client gave up and closed
            return
        time.sleep(0.2)
    with contextlib.suppress(OSError):
        conn.sendall(
            b'\r\nContent-Type: application/sparql-results+json\r\nContent-Length: 26\r\n\r\n{"head":{},"boolean":true}'
        )


STALLS = {"silent": _say_nothing, "trickling": _trickle, "trickling-the-headers": _trickle_the_headers}
#: What the error says for each kind of stall (kg/store/remote.py: RemoteStore._request and _read_by).
STALL_MESSAGES = {
    "silent": f"did not answer within {STALL_SECONDS} s",
    "trickling": f"did not finish its answer within {STALL_SECONDS} s",
    "trickling-the-headers": f"within {STALL_SECONDS} s",
}


@contextlib.contextmanager
def stalling_store(kind: str):
    """A loopback TCP server that takes HTTP requests and stalls them in the way ``kind`` names; yields its
    query URL and the request heads it received."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop, requests = threading.Event(), []

    def serve() -> None:
        for _ in range(600):  # accept for at most ~2 minutes
            if stop.is_set():
                return
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.2)
                head = _read_request_head(conn)
                requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                if head:
                    STALLS[kind](conn, stop)

    thread = threading.Thread(target=serve, name=f"stalling-store-{kind}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/query", requests
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


@pytest.mark.parametrize("kind", list(STALLS))
def test_a_stalled_remote_store_gives_a_clear_error_within_its_timeout(settings, kind):
    with stalling_store(kind) as (url, requests):
        store = RemoteStore(url, base_iri=settings.base_iri, timeout=STALL_SECONDS)
        started = time.monotonic()
        with pytest.raises(StoreError) as failure:
            store.execute("ASK {}", result_format="json")
        elapsed = time.monotonic() - started
    assert requests and requests[0].startswith("POST "), requests  # it reached the store: the stall is what failed
    assert STALL_MESSAGES[kind] in str(failure.value) and url in str(failure.value), str(failure.value)
    assert elapsed < DEADLINE_SECONDS, f"gave up only after {elapsed:.1f} s"


@pytest.mark.parametrize("kind", ["silent", "trickling"])
def test_the_cli_gives_up_on_a_stalled_remote_store(kind):
    with stalling_store(kind) as (url, requests):
        started = time.monotonic()
        done = subprocess.run(
            [*KG, "sparql", "ASK {}", "--store", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=clean_environment(KG_QUERY_TIMEOUT=str(STALL_SECONDS)),
            timeout=120,
        )
        elapsed = time.monotonic() - started
    assert requests, "the CLI never reached the store"
    assert done.returncode == 2 and STALL_MESSAGES[kind] in done.stderr, (done.returncode, done.stderr)
    # the interpreter's start counts here too, so the bound is looser than the library's
    assert elapsed < 2 * DEADLINE_SECONDS, f"gave up only after {elapsed:.1f} s"
