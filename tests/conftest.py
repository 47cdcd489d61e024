"""Shared test set-up.

Without a CUDA GPU the Triton backend runs through the Triton interpreter: TRITON_INTERPRET=1
must be set before triton is first imported, so it is set here (CI has no GPU).
"""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import kdecore as kd

#: on CI a backend that cannot run is a failure, never a skip (DEVELOPERS.md, Standards).
STRICT = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_backend(name: str) -> None:
    """Fail (on CI) or skip with the reason (elsewhere) when ``name`` cannot run here."""
    reason = kd.backend_status()[name]
    if reason is None:
        return
    if STRICT:
        pytest.fail(f"CI requires every backend: {reason}")
    pytest.skip(reason)


@pytest.fixture
def small_tiles():
    """Tiles far smaller than the test problems, so every tiling path runs."""
    with kd.options(tile=(8, 8)):
        yield
