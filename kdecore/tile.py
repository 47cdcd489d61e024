"""Pairwise statistics of one tile of points, computed lazily and shared by every kernel term.

A backend cuts the m×n problem into tiles; for a tile of rows ``x`` (bm×d) and columns ``y``
(bn×d) the kernel families read what they need from a :class:`Tile`: inner products, squared
distances, distances. Each statistic is computed once per tile, so a mixture of bandwidths, or
``rq* = rq mixture + dot``, shares one distance tile (SPEC §1, PERFORMANCE.md "Kernel design").

Precision (PERFORMANCE.md, "Cancellation"): squared distances are taken from points centred on
a common centre (the caller passes the pooled mean), as ``‖x̃‖² + ‖ỹ‖² − 2 x̃·ỹ`` clamped at 0;
for d ≤ 3 they are formed directly as Σ (x − y)², one coordinate at a time (exact; no centring
needed). The centre is a constant for autograd, which is exact because distances are
translation invariant.
"""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor

#: log₂(e): exp(t) = 2^(t·log₂e). The families fold it into their scale constants and call
#: ``exp2``, about twice as fast as ``exp`` on the CPU (measured: 0.58 vs 1.08 ms per 2²⁰
#: float32 values, one AVX2 core) with the same accuracy (the argument's rounding dominates).
LOG2E = 1.4426950408889634

#: feature dimension up to which squared distances are formed from differences directly.
DIRECT_DIFFERENCE_MAX_D = 3


def safe_pow(r2: Tensor, half_power: float | Tensor) -> Tensor:
    """``(r²)^p`` with value 0 and gradient 0 where ``r² = 0`` (p > 0).

    The double-``where`` keeps the gradient finite at coincident points (the excluded
    diagonal of a within-set tile, duplicated points), where ``d/dr (r^β)`` is infinite for β < 1.
    """
    if isinstance(half_power, Tensor) and not half_power.requires_grad \
            and half_power.device.type == "cpu":
        half_power = float(half_power)  # a Python exponent: ≈ 10× faster than a tensor one
    differentiable = torch.is_grad_enabled() and (
        r2.requires_grad or (isinstance(half_power, Tensor) and half_power.requires_grad))
    if not differentiable:
        return r2.pow(half_power)  # 0^p = 0 for p > 0; no gradient to protect
    positive = r2 > 0
    safe = torch.where(positive, r2, torch.ones_like(r2))
    return torch.where(positive, safe.pow(half_power), torch.zeros_like(r2))


def _norms_folded_product(x: Tensor, y: Tensor, a: float | Tensor,
                          b: float | Tensor) -> Tensor:
    """a·⟨x_i, y_j⟩ + b·(‖x_i‖² + ‖y_j‖²) (bm, bn) as one matrix product, the norms folded in
    as two extra feature columns: [a·x, b‖x‖², b]·[y, 1, ‖y‖²]ᵀ. No broadcast bias pass over
    the tile (CPU ``addmm`` copies its bias into the output first; measured 1.3× slower)."""
    xn = (x * x).sum(-1, keepdim=True)
    yn = (y * y).sum(-1, keepdim=True)
    lhs = torch.cat([x * a, xn * b, torch.ones_like(xn) * b], dim=-1)
    rhs = torch.cat([y, torch.ones_like(yn), yn], dim=-1)
    return lhs @ rhs.transpose(-1, -2).contiguous()


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

    def caches(self, t: Tensor) -> bool:
        """True if ``t`` is one of this tile's cached statistics (never to be modified)."""
        return any(v is t for v in self.__dict__.values())

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
        if self.d <= DIRECT_DIFFERENCE_MAX_D:  # differences need no centring
            return self._direct_sqdist()
        x, y = self._centred()
        r2 = _norms_folded_product(x, y, -2.0, 1.0)
        return r2.clamp_min_(0.0) if self.inplace else r2.clamp_min(0.0)

    def _centred(self) -> tuple[Tensor, Tensor]:
        """x and y minus the (constant) centre."""
        if self.center is None:
            return self.x, self.y
        return self.x - self.center, self.y - self.center

    def _direct_sqdist(self) -> Tensor:
        """Σ_k (x_ik − y_jk)², one coordinate at a time (no (bm, bn, d) tensor), as a fresh
        tile; without autograd, two tile-sized allocations whatever d."""
        x, y = self.x, self.y
        first = x[..., 0].unsqueeze(-1) - y[..., 0].unsqueeze(-2)
        if self.inplace:
            r2 = first.mul_(first)
            diff = torch.empty_like(r2)
            for k in range(1, self.d):
                torch.sub(x[..., k].unsqueeze(-1), y[..., k].unsqueeze(-2), out=diff)
                r2.addcmul_(diff, diff)
            return r2
        r2 = first * first
        for k in range(1, self.d):
            diff = x[..., k].unsqueeze(-1) - y[..., k].unsqueeze(-2)
            r2 = torch.addcmul(r2, diff, diff)
        return r2

    def neg_scaled_sqdist(self, c: float | Tensor, *, reuse: bool = False) -> Tensor:
        """−c·‖x_i − y_j‖² for c > 0, as a fresh tile (not cached: the caller may own it).

        With c and the norms folded into one product, 2c x̃·ỹ − c‖x̃‖² − c‖ỹ‖², two passes over
        the tile are saved against ``sqdist * (−c)``; the result is clamped at 0 from above.
        ``reuse=True`` (several scales of one tile, e.g. a bandwidth mixture) caches
        :attr:`sqdist` once and scales it instead: one product for all of them.
        """
        if reuse or "sqdist" in self.__dict__:
            return self.sqdist * (-c)
        if self.d <= DIRECT_DIFFERENCE_MAX_D:
            r2 = self._direct_sqdist()
            return r2.mul_(-c) if self.inplace else r2 * (-c)
        x, y = self._centred()
        r = _norms_folded_product(x, y, 2.0 * c, -c)
        return r.clamp_max_(0.0) if self.inplace else r

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
