"""Nearest neighbours by KeOps' Min_ArgMin reduction of squared distances (SPEC §2, §7 ENN)."""

from __future__ import annotations

import torch
from torch import Tensor

from .formulas import R2, pair_aliases, pair_args, sides, skip_same
from .runtime import reduce


@torch.no_grad()
def nearest(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """(min_j ‖x_i − y_j‖², argmin_j) per row; ``y=None`` skips j = i (its pair reads +∞)."""
    inf = torch.full((1,), float("inf"), dtype=x.dtype, device=x.device)
    best, arg = reduce(skip_same(R2, fill="inf"), [*pair_aliases(x.shape[1], 0), "inf=Pm(1)"],
                       "Min_ArgMin", 1, *pair_args(*sides(x, y, None, None)), inf)
    return best[:, 0], arg[:, 0].long()
