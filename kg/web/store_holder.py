"""The published store a web worker reads, reopened when a build publishes a new version."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from kg.errors import StoreError
from kg.store.embedded import EmbeddedStore


class StoreHolder:
    """The published store for this process, reopened when a build publishes a new version (or the
    remote store the settings name, which keeps its own versions).

    A new version is opened on disk at once, so every request sees the current version, and copied into
    memory on a background thread when its snapshot is at most ``memory_limit_mib``; once the copy is
    loaded, requests read it instead (queries run several times faster there).
    """

    def __init__(self, store_dir: Path, store: EmbeddedStore | None = None, remote=None, *, memory_limit_mib: int = 0):
        self._remote = remote
        self._store_dir = store_dir
        self._store = store
        self._memory: EmbeddedStore | None = None
        self._memory_limit = memory_limit_mib * 1024 * 1024
        self._link = store_dir / "current"
        self._target = os.path.realpath(self._link) if store is None else str(store.path)
        self._link_text: str | None = None  # what ``current`` said when _target was resolved
        self._lock = threading.Lock()
        self._copy_lock = threading.Lock()
        if store is not None:
            self._copy_in_background(store)

    def get(self) -> EmbeddedStore:
        if self._remote is not None:
            return self._remote
        # One readlink per request; the full resolution (several system calls, each a chance for another
        # thread to take the GIL, which showed in a busy worker's time) only when the link changed.
        try:
            link_text = os.readlink(self._link)
        except OSError:
            link_text = None
        if self._store is None or link_text is None or link_text != self._link_text:
            target = os.path.realpath(self._link)
            with self._lock:
                if self._store is None or target != self._target:
                    self._store = EmbeddedStore(self._store_dir)
                    self._memory = None
                    self._target = target
                    self._copy_in_background(self._store)
                self._link_text = link_text  # only once the version it names is open
        memory = self._memory
        return memory if memory is not None and memory.path == self._store.path else self._store

    def _copy_in_background(self, store: EmbeddedStore) -> None:
        if not self._memory_limit:
            return
        size = store.snapshot_bytes()
        if size is None or size > self._memory_limit:
            why = (
                "is larger than memory_copy_limit_mib"
                if size is not None
                else "has no snapshot (published by an older kg build; rebuild to serve it from memory)"
            )
            logging.getLogger("kg.web").warning("version %s %s; serving from disk", store.build_id, why)
            return

        def copy() -> None:
            # one copy loads at a time, and only of the version still current: several versions published
            # in a row would otherwise each be loaded at once, and each copy of a large store is large
            with self._copy_lock:
                if self._store is None or self._store.path != store.path:
                    return
                try:
                    memory = store.copy_in_memory()
                except StoreError as exc:  # the disk store keeps serving; say why it is slower
                    logging.getLogger("kg.web").warning("%s; serving from disk", exc)
                    return
            with self._lock:
                if self._store is not None and self._store.path == memory.path:
                    self._memory = memory

        threading.Thread(target=copy, name="kg-copy-in-memory", daemon=True).start()
