"""Shared fixtures: the repository's example incident and small generated series and logs."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "incidents" / "checkout-deploy"


@pytest.fixture(scope="session")
def example_bundle() -> Path:
    assert (EXAMPLE / "incident.json").exists(), EXAMPLE
    return EXAMPLE


def step_series(n: int = 600, at: int = 400, seed: int = 7) -> list[float]:
    """A noisy level around 100 that steps to 160 at sample `at`."""
    rng = random.Random(seed)
    return [(100.0 if i < at else 160.0) + rng.gauss(0, 2) for i in range(n)]


def spike_series(n: int = 1000, at: int = 800) -> list[float]:
    """A smooth periodic signal with one spike."""
    return [10.0 + math.sin(i / 10) + (40.0 if i == at else 0.0) for i in range(n)]


def log_lines(n: int = 2000, seed: int = 3) -> list[str]:
    """Lines of a few templates with variable users, ips and durations."""
    rng = random.Random(seed)
    forms = [
        lambda: f"user u{rng.randrange(500)} logged in from 10.0.{rng.randrange(255)}.{rng.randrange(255)}",
        lambda: f"GET /api/items/{rng.randrange(10000)} 200 {rng.randrange(5, 90)}ms",
        lambda: f"connection to db-{rng.randrange(3)} timed out after {rng.randrange(1, 30)}s",
        lambda: "cache warmed",
    ]
    return [forms[rng.randrange(len(forms))]() for _ in range(n)]
