"""Nearest neighbours by a tiled min/argmin of squared distances (SPEC §2, §7 ENN)."""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.tile import Tile

from .tiling import blocks, exclude_self_pairs, pooled_center


@torch.no_grad()
def nearest(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """(min_j ‖x_i − y_j‖², argmin_j) per row; ``y=None`` skips j = i."""
    within = y is None
    ys_all = x if within else y
    center = pooled_center(x, y)
    m = x.shape[0]
    best = torch.full((m,), float("inf"), dtype=x.dtype, device=x.device)
    arg = torch.zeros(m, dtype=torch.long, device=x.device)
    for blk in blocks(m, ys_all.shape[0], x.device):
        r2 = Tile(x[blk.i0:blk.i1], ys_all[blk.j0:blk.j1], center).sqdist
        if within:  # the cached tile is ours alone: no one else reads it
            r2 = exclude_self_pairs(r2, blk, float("inf"), inplace=True)
        val, idx = r2.min(1)
        better = val < best[blk.i0:blk.i1]
        best[blk.i0:blk.i1] = torch.where(better, val, best[blk.i0:blk.i1])
        arg[blk.i0:blk.i1] = torch.where(better, idx + blk.j0, arg[blk.i0:blk.i1])
    return best, arg
