"""Store versions and publishing them: staging a version, the atomic switch, the write lock, pruning, and
the digest that names a version.

Published stores live in ``store_dir/versions/<build-id>``; ``store_dir/current`` is a symbolic link to
the published one. A build writes a new version beside the others and then swaps the link with an atomic
rename, so readers see either the old store or the new one, never a half-written one.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import xxhash

from kg.parallel import Spawned, process_alive
from kg.store.search_index import INDEX, write_index
from kg.store.terms import AnyQuad, ox_quad_stream
from kg.store.write_failures import write_failure


@dataclass(frozen=True)
class PublishedVersion:
    build_id: str
    path: Path
    reused: bool


def publish(
    quads: Iterable[AnyQuad],
    store_dir: Path,
    *,
    keep_versions: int,
    attachments: dict[str, bytes] | None = None,
    texts: Iterable[bytes] = (),
) -> PublishedVersion:
    """Load a dataset into a new store version and make it current, atomically (``stage``, then commit).

    On any failure the previous ``current`` store is untouched and the partial version is removed.
    """
    return stage(quads, store_dir, texts=texts).commit(attachments=attachments, keep_versions=keep_versions)


def stage(quads: Iterable[AnyQuad], store_dir: Path, *, texts: Iterable[bytes] = ()) -> StagedVersion:
    """Load a dataset into a new store version beside the published ones, without publishing it
    (``StagedVersion.write``, then ``load``). Call ``commit`` or ``discard`` on the result."""
    staged = StagedVersion.write(quads, store_dir, texts=texts)
    try:
        staged.load()
    except BaseException:
        staged.discard()
        raise
    return staged


def fill_staging(staging: Path | str, snapshot: Path | str, blank: Path | str, fresh: bool = True) -> None:
    """Make the RocksDB store ``staging`` from a version's snapshot files (anything there before is removed),
    or, not ``fresh``, add those files' quads to it."""
    if fresh:
        shutil.rmtree(staging, ignore_errors=True)
    store = ox.Store(str(staging))
    load_snapshot(store, Path(snapshot), Path(blank), in_memory=False)
    store.flush()
    del store


#: A snapshot part smaller than this loads in the building process: loading a part this size takes about
#: as long as a fresh Python process takes to start and import the store. The seed graph's parts load
#: here; those of a large build, beside it.
SPAWN_FROM_BYTES = 8 << 20


class StagedVersion:
    """A store version being made in ``versions/.staging-<pid>`` with its snapshot, not yet published.

    The dataset is given as ``quads`` and ``texts``: N-Quads documents without blank nodes (see
    ``kg.store.rdf_io.in_graph``), which go to the snapshot as they are, so a large graph made as text is
    never turned into terms in Python. The version's name is a hash of the dataset: the sum of a hash of
    each N-Quads line, which does not depend on the order the quads come in (the dataset holds no quad
    twice), so an identical rebuild has the same name and reuses it. (Hashing the store's own dump instead
    was far slower.) Its N-Quads snapshot, from which a server copies the version into memory, is kept
    beside it: the quads with a blank node in ``<build-id>.blank.nq``, all others in ``<build-id>.nq``
    (see ``load_snapshot``). Every step leaves nothing behind when it fails; use it under the write lock.
    """

    def __init__(self, store_dir: Path):
        self.store_dir = store_dir
        self.versions = store_dir / "versions"
        self.staging = self.versions / f".staging-{os.getpid()}"
        self.snapshot = self.versions / f".snapshot.nq.{os.getpid()}"
        self.blank = self.versions / f".snapshot-blank.nq.{os.getpid()}"
        self.added = self.versions / f".snapshot-added.nq.{os.getpid()}"
        self.added_blank = self.versions / f".snapshot-added-blank.nq.{os.getpid()}"
        self.build_id: str | None = None
        self._digest = _DatasetDigest()

    @classmethod
    def write(cls, quads: Iterable[AnyQuad], store_dir: Path, *, texts: Iterable[bytes] = ()) -> StagedVersion:
        """Write the dataset's snapshot and name the version; the store itself is made by ``load``."""
        staged = None
        try:
            staged = cls(store_dir)
            staged.versions.mkdir(parents=True, exist_ok=True)
            _remove_abandoned(staged.versions)
            text, blank_text = _nquads(quads)
            with staged.snapshot.open("wb") as out:
                for piece in itertools.chain([text], texts):
                    staged._digest.add(piece)
                    out.write(piece)
            staged._digest.add(blank_text)
            staged.blank.write_bytes(blank_text)
            staged.build_id = staged._digest.hexdigest()[:16]
            return staged
        except BaseException as exc:
            if staged is not None:
                staged.discard()
            if isinstance(exc, OSError):
                raise write_failure("publish", store_dir, exc) from exc
            raise

    def load(self) -> None:
        """Fill the version's RocksDB store from its snapshot. A failure leaves the snapshot in place for
        another try, and the cleanup to the caller (``discard``)."""
        self._fill(self.snapshot, self.blank, fresh=True)

    def load_beside(self, spawn_from: int = SPAWN_FROM_BYTES) -> Spawned:
        """``load`` in a fresh Python process, while this one goes on (``result()`` waits for it; if it
        failed, the load is tried again here, which raises the real error). A snapshot under
        ``spawn_from`` bytes loads here at once: starting the process would take longer."""
        return self._fill_beside(self.snapshot, self.blank, fresh=True, spawn_from=spawn_from)

    def _fill(self, snapshot: Path, blank: Path, *, fresh: bool) -> None:
        try:
            fill_staging(self.staging, snapshot, blank, fresh)
        except OSError as exc:
            raise write_failure("publish", self.store_dir, exc) from exc

    def _fill_beside(self, snapshot: Path, blank: Path, *, fresh: bool, spawn_from: int) -> Spawned:
        code = (
            "import sys\nfrom kg.store.versions import fill_staging\n"
            "fill_staging(*sys.argv[1:4], sys.argv[4] == 'fresh')"
        )
        return Spawned(
            code,
            [str(self.staging), str(snapshot), str(blank), "fresh" if fresh else "add"],
            lambda: self._fill(snapshot, blank, fresh=fresh),
            here=snapshot.stat().st_size < spawn_from,
        )

    def add(self, quads: Iterable[AnyQuad]) -> None:
        """Add ``quads`` to the version: to its name now, to its snapshot on ``commit``, to its store by
        ``load_added_beside`` (once ``load`` is done). A build adds the inferred graph so, after reasoning:
        the rest was written and loaded while it reasoned. Once per version."""
        if self.added.exists():
            raise ValueError("a staged version takes one added part")
        try:
            text, blank_text = _nquads(quads)
            for path, data in ((self.added, text), (self.added_blank, blank_text)):
                self._digest.add(data)
                path.write_bytes(data)
            self.build_id = self._digest.hexdigest()[:16]
        except OSError as exc:
            raise write_failure("publish", self.store_dir, exc) from exc

    def load_added_beside(self, spawn_from: int = SPAWN_FROM_BYTES) -> Spawned:
        """Load the added part into the store, as ``load_beside`` loads the rest."""
        return self._fill_beside(self.added, self.added_blank, fresh=False, spawn_from=spawn_from)

    def commit(self, *, attachments: dict[str, bytes] | None, keep_versions: int) -> PublishedVersion:
        """Name the version by its hash, write its search index (``kg.store.search_index``) and
        ``attachments`` (the build's validation reports) beside it as ``<build-id>.<name>``, and make it
        current; the previous one stays current on any failure."""
        versions, build_id = self.versions, self.build_id
        try:
            assert build_id is not None  # named by ``write``, which made this version
            for part, whole in ((self.added, self.snapshot), (self.added_blank, self.blank)):
                if part.exists():
                    with part.open("rb") as source, whole.open("ab") as appended:
                        shutil.copyfileobj(source, appended, 1 << 24)
            write_index(self.snapshot, versions / f"{build_id}.{INDEX}")  # before anything is renamed
            final = versions / build_id
            reused = final.is_dir()
            if not reused:
                os.replace(self.staging, final)
            os.replace(self.blank, versions / f"{build_id}.{SNAPSHOT_BLANK}")
            os.replace(self.snapshot, versions / f"{build_id}.{SNAPSHOT}")
            for name, data in (attachments or {}).items():
                target = versions / f"{build_id}.{name}"
                temporary = versions / f".{build_id}.{name}.{os.getpid()}"
                try:
                    temporary.write_bytes(data)
                    os.replace(temporary, target)
                finally:
                    temporary.unlink(missing_ok=True)  # a write cut short (a full disk) leaves nothing behind
            os.utime(final)  # the prune keeps the most recently published versions
            _point_current(self.store_dir, final)
            _prune(versions, keep=keep_versions, current=final)
        except OSError as exc:
            raise write_failure("publish", self.store_dir, exc) from exc
        finally:
            self.discard()
        return PublishedVersion(build_id, final, reused)

    def discard(self) -> None:
        """Remove what is left of the staged version (all of it, unless it was committed)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        for path in (self.snapshot, self.blank, self.added, self.added_blank):
            path.unlink(missing_ok=True)


#: The attachments holding a version's quads as N-Quads: those without a blank node, and those with one.
SNAPSHOT, SNAPSHOT_BLANK = "nq", "blank.nq"


def _nquads(quads: Iterable[AnyQuad]) -> tuple[bytes, bytes]:
    """Quads (of rdflib or pyoxigraph terms) as N-Quads text: those without a blank node, and those with one
    (see ``load_snapshot``)."""
    with_blank_nodes: list[ox.Quad] = []
    text = (
        ox.serialize(_set_aside_blank_nodes(ox_quad_stream(quads), with_blank_nodes), format=ox.RdfFormat.N_QUADS)
        or b""
    )
    return text, ox.serialize(with_blank_nodes, format=ox.RdfFormat.N_QUADS) or b""


def _has_blank_node(quad: ox.Quad) -> bool:
    # a quoted triple counts too: it may hold one
    return not (
        isinstance(quad.subject, ox.NamedNode)
        and isinstance(quad.object, (ox.NamedNode, ox.Literal))
        and not isinstance(quad.graph_name, ox.BlankNode)
    )


def _set_aside_blank_nodes(quads: Iterable[ox.Quad], aside: list[ox.Quad]) -> Iterator[ox.Quad]:
    for quad in quads:
        if _has_blank_node(quad):
            aside.append(quad)
        else:
            yield quad


def load_snapshot(store: ox.Store, snapshot: Path, blank: Path, *, in_memory: bool) -> None:
    """Fill ``store`` from a version's snapshot files, blank-node labels as written.

    pyoxigraph's loaders parse in Rust without holding the GIL, but give blank nodes fresh labels; its
    parser keeps them, but hands every quad through Python. So the quads without blank nodes (nearly all)
    go through the loader, the few with one through the parser, and every copy of a version (on disk, in
    each worker's memory) names its blank nodes alike. With other Python threads busy beside it, as in a
    loaded server, the loader is several times as fast as the parser. The files are ours and already
    checked, so parsing is lenient.
    """
    if in_memory:
        store.load(path=str(snapshot), format=ox.RdfFormat.N_QUADS, lenient=True)
    else:
        # RocksDB through the parser: about as fast here as the loader, and a store
        # bulk_load wrote was read lazily by a reader that opened it before a newer version pruned it (its
        # table files were gone); a build holds no other thread that wants the GIL
        store.bulk_extend(ox.parse(path=str(snapshot), format=ox.RdfFormat.N_QUADS, lenient=True))
    store.bulk_extend(ox.parse(path=str(blank), format=ox.RdfFormat.N_QUADS, lenient=True))


def line_chunks(text: bytes, size: int = 1 << 24) -> Iterator[bytes]:
    """``text`` in pieces of about ``size`` bytes that end at line ends: what a line-by-line pass holds at
    once stays small (the lines of a large build's provenance, as one list, took a great deal of memory)."""
    start = 0
    while start < len(text):
        end = text.find(b"\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


class _DatasetDigest:
    """An order-independent hash of a set of quads: the sum, modulo 2**128, of the XXH3-128 of each quad's
    N-Quads line. It names a version, so it needs to tell datasets apart, not to withstand an adversary."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, nquads: bytes) -> None:
        for chunk in line_chunks(nquads):
            # map() over a C function: no Python runs per line, and XXH3 is much faster than BLAKE2b
            # through hashlib (a Python loop over quads was slower still)
            self.total += sum(map(xxhash.xxh3_128_intdigest, chunk.splitlines()))

    def hexdigest(self) -> str:
        return f"{self.total % (1 << 128):032x}"


@contextlib.contextmanager
def write_lock(
    store_dir: Path, wait: float | None = None, busy: Callable[[], Exception] | None = None
) -> Iterator[None]:
    """Hold the store's write lock (an advisory lock on ``store_dir/.write-lock``) for a read-modify-publish;
    with ``wait``, raise ``busy()`` when it is not had within that many seconds.

    Readers never take it: they see whichever version ``current`` names. The kernel drops the lock when
    the holder dies, so a killed writer never blocks the next one.
    """
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        handle = open(store_dir / ".write-lock", "a+b")
    except OSError as exc:
        raise write_failure("lock", store_dir, exc) from exc
    with handle:
        deadline = None if wait is None else time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                # LOCK_NB, so a deadline: only a ``wait`` sets one, and whoever waits says what ``busy`` is
                assert deadline is not None and busy is not None
                if time.monotonic() >= deadline:
                    raise busy() from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_WRITER_PID = re.compile(r"[-.](\d+)$")


def _remove_abandoned(versions: Path) -> None:
    """Remove what writers that were killed left half-written (their process no longer exists): staging
    folders and attachments in ``versions``, and a ``.current-<pid>`` link beside it."""
    for leftover in [*versions.glob(".*"), *versions.parent.glob(".current-*")]:
        pid = _WRITER_PID.search(leftover.name)  # .staging-<pid>, .<build>.<attachment>.<pid>, .current-<pid>
        if pid and not process_alive(int(pid.group(1))):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _point_current(store_dir: Path, target: Path) -> None:
    link = store_dir / "current"
    temporary = store_dir / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target.relative_to(store_dir))
    os.replace(temporary, link)


def _prune(versions: Path, *, keep: int, current: Path) -> None:
    published = sorted(
        (p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    # the current version is the newest too (publish touches it), so the others kept are the next ones
    kept = {current} | set([p for p in published if p != current][: keep - 1])
    for path in published:
        if path not in kept:
            shutil.rmtree(path, ignore_errors=True)
            for attachment in versions.glob(f"{path.name}.*"):
                attachment.unlink(missing_ok=True)
