"""Deterministic draws of the job simulation: the same parts always give the same numbers, so a run of the local
cloud is reproducible (trial names and values, objectives, payload bytes, Batch noise)."""

from __future__ import annotations

import hashlib
import random


def digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def unit_hash(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    return int.from_bytes(digest(*parts)[:8], "big") / 2.0**64


def rng(*parts: object) -> random.Random:
    # A simulation, not security: the same parts always give the same draws.
    return random.Random(digest(*parts).hex())  # noqa: S311


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))
