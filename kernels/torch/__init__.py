"""The tiled PyTorch backend: runs on any device PyTorch runs on, and is the correctness
oracle of the others (in float64). See ``kdecore._kernels`` for the contract."""

from __future__ import annotations

import torch

from .logsumexp import logsumexp
from .nearest import nearest
from .sums import sums

NAME = "torch"


def unavailable_reason() -> str | None:
    return None


def device_reason(device: torch.device) -> str | None:
    return None


__all__ = ["NAME", "device_reason", "logsumexp", "nearest", "sums", "unavailable_reason"]
