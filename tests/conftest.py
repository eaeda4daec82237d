"""Shared fixtures for every suite."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.backends"]

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder."""
    return REPO_ROOT
