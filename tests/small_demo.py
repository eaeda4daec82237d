"""The small, fast demo consortium the end-to-end tests run (300 businesses, 512-bit keys, one iteration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from custos.demo import DemoConfig


def small_demo_config(folder: Path, **overrides: Any) -> DemoConfig:
    """A `DemoConfig` sized for tests, in `folder`; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "businesses": 300,
        "key_bits": 512,
        "epochs": 1,
        "budget": 100,
        "timeout": 150,
        "protocol_timeout": 8,
    }
    return DemoConfig(folder=folder, **(fields | overrides))
