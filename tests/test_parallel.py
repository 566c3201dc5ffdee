"""kg.parallel: work done in another process, handed back, and never outliving its parent.

Forking is only done in a process with no other thread, and a test session usually has some (RocksDB's,
once a store was opened), so the forking cases run in a fresh Python process of their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from kg.parallel import Deferred, Spawned

from conftest import ROOT


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(ROOT)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_work_is_done_in_a_forked_child_and_its_bytes_come_back():
    out = run_python("""
        import os, sys
        sys.path.insert(0, sys.argv[1])
        from kg.parallel import Deferred, _single_threaded
        assert _single_threaded()
        print(os.getpid(), Deferred(lambda: str(os.getpid()).encode()).result().decode())
    """)
    parent, child = out.split()
    assert parent != child


def test_no_fork_once_a_native_thread_runs():
    """RocksDB's background threads do not survive a fork: a child that opened a store waited forever."""
    out = run_python("""
        import os, sys, tempfile
        sys.path.insert(0, sys.argv[1])
        import pyoxigraph
        from kg.parallel import Deferred, _single_threaded
        store = pyoxigraph.Store(tempfile.mkdtemp())  # RocksDB starts its threads
        assert not _single_threaded()
        print(os.getpid(), Deferred(lambda: str(os.getpid()).encode()).result().decode())
    """)
    parent, worker = out.split()
    assert parent == worker


def test_work_whose_child_fails_is_done_again_here():
    out = run_python("""
        import os, sys
        sys.path.insert(0, sys.argv[1])
        from kg.parallel import Deferred
        parent = os.getpid()
        calls = []
        def work():
            calls.append(os.getpid())
            if os.getpid() != parent:
                raise MemoryError("the child ran out")
            return b"answer"
        print(Deferred(work).result().decode(), calls == [parent])
    """)
    assert out.split() == ["answer", "True"]


def test_a_cancelled_child_is_stopped_and_reaped():
    deferred = Deferred(lambda: time.sleep(60) or b"late")
    pid = deferred._pid
    deferred.cancel()
    if pid is not None:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive


def test_a_spawned_process_that_fails_has_its_work_done_here(tmp_path):
    done = []
    spawned = Spawned("import sys; sys.exit(3)", [], lambda: done.append(True))
    spawned.result()
    assert done == [True]
    ok = Spawned("import sys, pathlib; pathlib.Path(sys.argv[1]).write_text('made')", [str(tmp_path / "f")],
                 lambda: done.append("again"))
    ok.result()
    assert (tmp_path / "f").read_text() == "made" and done == [True]


def test_a_staged_version_loads_in_a_spawned_process_as_it_does_here(tmp_path, build, settings):
    from kg.store import EmbeddedStore, StagedVersion

    quads, texts = build.dataset(settings)
    staged = StagedVersion.write(quads, tmp_path / "store", texts=texts)
    staged.load_beside().result()
    version = staged.commit(attachments=None, keep_versions=1)
    assert EmbeddedStore(tmp_path / "store").canonical_nquads() == build.nquads(settings)
    assert version.path.is_dir()


CHILD_OF_A_KILLED_PARENT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from kg.parallel import Deferred, Spawned
if sys.argv[2] == "fork":
    child = Deferred(lambda: time.sleep(60) or b"late")._pid
else:
    child = Spawned("import time; time.sleep(60)", [], lambda: None)._process.pid
print(child, flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:  # a dead child not yet reaped by init is a zombie: gone
        return stat.read().split(") ", 1)[1].startswith("Z")


def test_a_child_dies_with_its_parent():
    """A build killed while its child reasons or loads the store must not leave the child running (it
    would hold the write lock and keep writing into the store folder)."""
    for kind in ("fork", "spawn"):
        process = subprocess.Popen([sys.executable, "-c", CHILD_OF_A_KILLED_PARENT, str(ROOT), kind],
                                   stdout=subprocess.PIPE, text=True)
        try:
            child = int(process.stdout.readline())
            assert not _gone(child)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            deadline = time.monotonic() + 10
            while not _gone(child):
                assert time.monotonic() < deadline, f"{kind}: child {child} outlived its killed parent"
                time.sleep(0.05)
        finally:
            process.kill()
