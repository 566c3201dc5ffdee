"""kg.parallel: work done in a spawned process, done again here when it fails, never outliving its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT

from kg.parallel import Spawned, process_alive


def test_a_spawned_process_that_fails_has_its_work_done_here(tmp_path):
    done = []
    spawned = Spawned("import sys; sys.exit(3)", [], lambda: done.append(True))
    spawned.result()
    assert done == [True]
    ok = Spawned(
        "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text('made')",
        [str(tmp_path / "f")],
        lambda: done.append("again"),
    )
    ok.result()
    assert (tmp_path / "f").read_text() == "made" and done == [True]


def test_a_staged_version_loads_in_a_spawned_process_as_it_does_here(tmp_path, build, settings):
    from kg.store.embedded import EmbeddedStore
    from kg.store.versions import StagedVersion

    quads, texts = build.dataset(settings)
    staged = StagedVersion.write(quads, tmp_path / "store", texts=texts)
    loading = staged.load_beside(spawn_from=0)
    assert loading._process is not None  # spawned, however small the snapshot
    loading.result()
    version = staged.commit(attachments=None, keep_versions=1)
    assert EmbeddedStore(tmp_path / "store").canonical_nquads() == build.nquads(settings)
    assert version.path.is_dir()


def test_a_version_written_in_two_parts_is_the_version_written_whole(tmp_path, build, settings):
    """A build writes and loads all but the inferred graph while it reasons, and adds that graph after:
    the store, the snapshot and the version's name must be those of the dataset written at once."""
    from kg.namespaces import GRAPH_NAMES
    from kg.store.embedded import EmbeddedStore

    whole = _write(build, settings, GRAPH_NAMES, tmp_path / "whole")
    whole.load()
    whole_version = whole.commit(attachments=None, keep_versions=1)

    first = tuple(name for name in GRAPH_NAMES if name != "inferred")
    staged = _write(build, settings, first, tmp_path / "parts")
    staged.load_beside(spawn_from=0).result()
    staged.add(build.graphs.dataset(settings, ("inferred",))[0])
    with pytest.raises(ValueError, match="one added part"):
        staged.add([])
    staged.load_added_beside(spawn_from=0).result()
    version = staged.commit(attachments=None, keep_versions=1)

    assert version.build_id == whole_version.build_id
    assert EmbeddedStore(tmp_path / "parts").canonical_nquads() == build.nquads(settings)
    snapshot = sorted((tmp_path / "parts" / "versions" / f"{version.build_id}.nq").read_bytes().splitlines())
    assert snapshot == sorted((tmp_path / "whole" / "versions" / f"{version.build_id}.nq").read_bytes().splitlines())
    assert not [p.name for p in (tmp_path / "parts" / "versions").iterdir() if p.name.startswith(".")]


def test_a_small_part_loads_here_at_once(tmp_path, build, settings):
    """Starting a process costs more than loading a small part: the seed graph loads in the building process."""
    from kg.namespaces import GRAPH_NAMES
    from kg.store.embedded import EmbeddedStore

    staged = _write(build, settings, GRAPH_NAMES, tmp_path)
    loading = staged.load_beside()
    assert loading._process is None and (staged.staging / "CURRENT").exists()  # loaded already
    loading.result()
    staged.commit(attachments=None, keep_versions=1)
    assert EmbeddedStore(tmp_path).canonical_nquads() == build.nquads(settings)


def test_a_discarded_version_leaves_no_part_behind(tmp_path, build, settings):
    from kg.namespaces import GRAPH_NAMES

    staged = _write(build, settings, GRAPH_NAMES[:2], tmp_path)
    staged.add(build.graphs.dataset(settings, ("inferred",))[0])
    staged.load_beside().result()
    staged.discard()
    assert not list((tmp_path / "versions").iterdir())


def _write(build, settings, names, store_dir):
    from kg.store.versions import StagedVersion

    quads, texts = build.graphs.dataset(settings, names)
    return StagedVersion.write(quads, store_dir, texts=texts)


CHILD_OF_A_KILLED_PARENT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from kg.parallel import Spawned
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
    """A build killed while its child loads the store must not leave the child running (it would keep
    writing into the store folder)."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_A_KILLED_PARENT, str(ROOT)], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            child = int(process.stdout.readline())
            assert not _gone(child)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            deadline = time.monotonic() + 10
            while not _gone(child):
                assert time.monotonic() < deadline, f"child {child} outlived its killed parent"
                time.sleep(0.05)
        finally:
            process.kill()


def test_a_process_that_has_died_is_not_alive_while_it_waits_to_be_reaped():
    """A killed writer's leftovers are removed once its process is gone: a zombie counts as gone."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process_alive(child.pid)
        child.kill()
        deadline = time.monotonic() + 10
        while process_alive(child.pid) and time.monotonic() < deadline:  # dead, not yet reaped
            time.sleep(0.01)
        assert not process_alive(child.pid) and child.poll() is not None  # reaped only now
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid)
    assert process_alive(os.getpid())
