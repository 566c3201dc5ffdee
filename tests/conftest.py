"""Shared fixtures: the real seed graph, built once per test session into a temporary store."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import Settings, load_settings
from kg.pipeline import Build, build_and_publish
from kg.store import EmbeddedStore

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
