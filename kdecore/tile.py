"""Pairwise statistics of one tile of points, computed lazily and shared by every kernel term.

A backend cuts the m×n problem into tiles; for a tile of rows ``x`` (bm×d) and columns ``y``
(bn×d) the kernel families read what they need from a :class:`Tile`: inner products, squared
distances, distances. Each statistic is computed once per tile, so a mixture of bandwidths, or
``rq* = rq mixture + dot``, shares one distance tile (SPEC §1, PERFORMANCE.md "Kernel design").

Precision (PERFORMANCE.md, "Cancellation"): squared distances are taken from points centred on
a common centre (the caller passes the pooled mean), as ``‖x̃‖² + ‖ỹ‖² − 2 x̃·ỹ`` clamped at 0;
for d ≤ 3 they are formed directly as Σ (x − y)², which is exact and as cheap. The centre is a
constant for autograd, which is exact because distances are translation invariant.
"""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor

#: feature dimension up to which squared distances are formed from differences directly.
DIRECT_DIFFERENCE_MAX_D = 3


def safe_pow(r2: Tensor, half_power: float | Tensor) -> Tensor:
    """``(r²)^p`` with value 0 and gradient 0 where ``r² = 0`` (p > 0).

    The double-``where`` keeps the gradient finite at coincident points (the excluded
    diagonal of a within-set tile, duplicated points), where ``d/dr (r^β)`` is infinite for β < 1.
    """
    positive = r2 > 0
    safe = torch.where(positive, r2, torch.ones_like(r2))
    return torch.where(positive, safe.pow(half_power), torch.zeros_like(r2))


class Tile:
    """Lazily computed pairwise statistics between rows ``x`` and columns ``y``.

    Args:
        x: (bm, d) points of the tile's rows, in the caller's coordinates.
        y: (bn, d) points of the tile's columns.
        center: (d,) point subtracted from both before distances are formed (constant).
    """

    def __init__(self, x: Tensor, y: Tensor, center: Tensor | None = None) -> None:
        self.x = x
        self.y = y
        self.center = center

    @property
    def inplace(self) -> bool:
        """True when autograd records nothing, so a family may update the fresh tile-sized
        results it made in place (saving a pass over the tile per operation). Shared cached
        statistics (``sqdist``, ``dot``, ``dist``) are never modified."""
        return not torch.is_grad_enabled()

    @property
    def d(self) -> int:
        return self.x.shape[-1]

    @property
    def dtype(self) -> torch.dtype:
        return self.x.dtype

    @property
    def device(self) -> torch.device:
        return self.x.device

    @cached_property
    def dot(self) -> Tensor:
        """⟨x_i, y_j⟩ in the caller's coordinates (bm, bn)."""
        return self.x @ self.y.transpose(-1, -2)

    @cached_property
    def sqdist(self) -> Tensor:
        """‖x_i − y_j‖² (bm, bn), ≥ 0."""
        x, y = self.x, self.y
        if self.center is not None:
            x = x - self.center
            y = y - self.center
        if self.d <= DIRECT_DIFFERENCE_MAX_D:
            diff = x.unsqueeze(-2) - y.unsqueeze(-3)
            return (diff * diff).sum(-1)
        xn = (x * x).sum(-1)
        yn = (y * y).sum(-1)
        r2 = torch.addmm(yn.unsqueeze(0), x, y.transpose(-1, -2), beta=1.0, alpha=-2.0)
        if self.inplace:
            return r2.add_(xn.unsqueeze(-1)).clamp_min_(0.0)
        return (r2 + xn.unsqueeze(-1)).clamp_min(0.0)

    def neg_scaled_sqdist(self, c: Tensor) -> Tensor:
        """−c·‖x_i − y_j‖² for c > 0, as a fresh tile (not cached: the caller may own it).

        With c folded into the product (x̃·(2c))·ỹᵀ − c‖x̃‖² − c‖ỹ‖², one pass over the tile is
        saved against ``sqdist * (−c)``; the result is clamped at 0 from above.
        """
        if self.d <= DIRECT_DIFFERENCE_MAX_D or "sqdist" in self.__dict__:
            return self.sqdist * (-c)
        x, y = self.x, self.y
        if self.center is not None:
            x = x - self.center
            y = y - self.center
        xn = (x * x).sum(-1) * c
        neg_yn = (y * y).sum(-1) * (-c)
        r = torch.addmm(neg_yn.unsqueeze(0), x * (2.0 * c), y.transpose(-1, -2))
        if self.inplace:
            return r.sub_(xn.unsqueeze(-1)).clamp_max_(0.0)
        return r - xn.unsqueeze(-1)

    @cached_property
    def dist(self) -> Tensor:
        """‖x_i − y_j‖ (bm, bn), with a zero (sub)gradient at coincident points."""
        return safe_pow(self.sqdist, 0.5)

    def col(self, v: Tensor) -> Tensor:
        """A per-row quantity (bm,) shaped to broadcast over the tile: (bm, 1)."""
        return v.unsqueeze(-1)

    def row(self, v: Tensor) -> Tensor:
        """A per-column quantity (bn,) shaped to broadcast over the tile: (1, bn)."""
        return v.unsqueeze(-2)
