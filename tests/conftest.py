"""Shared fixtures: the real seed graph, built once per test session into a temporary store.

Helpers and constants shared by the test modules are in helpers.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import ROOT, SHARED_SEEDS, TOKEN, Canary

from kg.build.pipeline import Build, build_and_publish
from kg.config import Settings, load_settings
from kg.store.embedded import EmbeddedStore


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: three workers for every two cores. Many tests spend their time waiting on servers, timers
    and child processes rather than computing; on two cores three workers ran the suite faster than two, and
    four no faster than three (docs/PERFORMANCE.md). PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if chosen := os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(chosen)
    return max(1, (3 * len(os.sched_getaffinity(0)) + 1) // 2)


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
def disk_store(built) -> EmbeddedStore:
    """The session's published store as it is on disk (RocksDB, opened read-only)."""
    return built[1]


@pytest.fixture(scope="session")
def store(disk_store) -> EmbeddedStore:
    """The session's published store copied into memory, as kg serve holds a version that fits: the same
    version (build id, files, attachments), read many times as fast as RocksDB, which the tests that read
    the whole graph over and over would otherwise spend much of the suite's time on."""
    return disk_store.copy_in_memory()


@pytest.fixture(scope="session")
def shared_seeds() -> Path:
    if not SHARED_SEEDS.is_dir():
        pytest.skip("../shared/seeds (the source articles) is not beside the project on this machine")
    return SHARED_SEEDS


@pytest.fixture(scope="module")
def canary():
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def client(settings, store):
    """A Flask test client of the app over the session's built store (read-only)."""
    from kg.web import create_app  # imported when first used, as the fixtures this replaces did

    return create_app(settings, store=store).test_client()


@pytest.fixture
def writable(tmp_path, settings, store):
    """A copy of the session's published store (its version's folder and files, as publishing left them, and
    the cache of the ontology and shapes), with writes enabled by a token."""
    published, copy = settings.path("store_dir"), tmp_path / "store"
    (copy / "versions").mkdir(parents=True)
    for path in store.path.parent.glob(f"{store.build_id}*"):
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, copy / "versions" / path.name)
    (copy / "current").symlink_to(Path("versions") / store.build_id)
    if (published / "cache").is_dir():
        shutil.copytree(published / "cache", copy / "cache")
    return load_settings({"root": ROOT, "store_dir": copy, "write_token": TOKEN}, env={})
