"""How the PyTorch backend cuts an m×n problem into tiles (SPEC §2).

Tiles are visited one at a time, so memory is O(tile + m + n) whatever m and n are. The
within-set variant visits only tiles on or above the block diagonal: each unordered pair once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from kdecore.families import Kernel
from kdecore.options import get_options

#: default tile (rows, cols) by device type: cache-sized on the CPU, launch-amortizing on a GPU.
DEFAULT_TILE: dict[str, tuple[int, int]] = {"cpu": (1024, 1024), "cuda": (8192, 8192)}


class Block(NamedTuple):
    i0: int
    i1: int
    j0: int
    j1: int
    #: within-set tile on the block diagonal (its diagonal entries are the skipped j = i)
    diagonal: bool
    #: within-set tile strictly above the diagonal: it also stands for its mirror image
    mirrored: bool


def tile_shape(device: torch.device) -> tuple[int, int]:
    configured = get_options().tile
    if configured is not None:
        return configured
    return DEFAULT_TILE.get(device.type, DEFAULT_TILE["cuda"])


def blocks(m: int, n: int | None, device: torch.device) -> Iterator[Block]:
    """Tiles of an m×n problem; ``n=None`` is the within-set m×m upper block triangle."""
    bm, bn = tile_shape(device)
    if n is None:
        b = min(bm, bn)
        for i0 in range(0, m, b):
            for j0 in range(i0, m, b):
                yield Block(i0, min(i0 + b, m), j0, min(j0 + b, m), j0 == i0, j0 != i0)
        return
    for i0 in range(0, m, bm):
        for j0 in range(0, n, bn):
            yield Block(i0, min(i0 + bm, m), j0, min(j0 + bn, n), False, False)


def pooled_center(x: Tensor, y: Tensor | None) -> Tensor:
    """The mean of the pooled points (a constant; distances are translation invariant)."""
    with torch.no_grad():
        total = x.sum(0, dtype=torch.float64)
        count = x.shape[0]
        if y is not None:
            total = total + y.sum(0, dtype=torch.float64)
            count += y.shape[0]
        return (total / count).to(x.dtype)


def self_pairs(blk: Block, device: torch.device) -> Tensor | None:
    """Mask of the tile's entries with i = j (None when the tile misses the diagonal)."""
    if blk.i0 >= blk.j1 or blk.j0 >= blk.i1:
        return None
    i = torch.arange(blk.i0, blk.i1, device=device)
    j = torch.arange(blk.j0, blk.j1, device=device)
    return i.unsqueeze(1) == j.unsqueeze(0)


def exclude_self_pairs(t: Tensor, blk: Block, value: float, *, inplace: bool) -> Tensor:
    """``t`` (the tile of block ``blk`` of a within-set problem) with its i = j entries set to
    ``value``. In place, a tile whose rows and columns are the same points only writes its
    diagonal (no mask is built)."""
    if blk.i0 >= blk.j1 or blk.j0 >= blk.i1:
        return t
    if inplace and blk.i0 == blk.j0 and blk.i1 == blk.j1:
        t.diagonal().fill_(value)
        return t
    skip = self_pairs(blk, t.device)
    return t.masked_fill_(skip, value) if inplace else t.masked_fill(skip, value)


def on_data(kernel: Kernel, tensors: Sequence[Tensor], like: Tensor) -> Kernel:
    """``kernel`` with its tensors converted once to the data's device and dtype
    (differentiably), instead of once per tile."""
    return kernel.with_tensors([t.to(device=like.device, dtype=like.dtype) for t in tensors])


def accumulator(n: int, like: Tensor) -> Tensor:
    """A float64 accumulator of n entries (tile partial sums are added in float64)."""
    return torch.zeros(n, dtype=torch.float64, device=like.device)
