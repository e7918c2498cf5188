"""Tests never write into the user's cache: not from a test, nor from a module-scoped fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from radiobench.io.datafiles import DEFAULT_HOME, cache_root


@pytest.fixture(scope="module")
def module_cache() -> Path:
    return cache_root()  # module fixtures run before the per-test isolated_env


def not_the_users(path: Path) -> bool:
    return not path.resolve().is_relative_to(DEFAULT_HOME.expanduser().resolve())


def test_a_test_gets_its_own_cache(module_cache):
    assert not_the_users(cache_root()) and cache_root() != module_cache


def test_module_fixtures_get_a_session_cache(module_cache):
    assert not_the_users(module_cache)
