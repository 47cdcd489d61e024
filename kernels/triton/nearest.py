"""Nearest neighbours through the Triton kernel (SPEC §2, §7 ENN); not differentiable."""

from __future__ import annotations

from torch import Tensor

from ..torch.tiling import pooled_center
from . import runtime
from .ops import nearest_op


def nearest(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    c = pooled_center(x, y)
    return nearest_op(x - c, None if y is None else y - c, runtime.current_precision())
