"""Distance-induced kernel (SPEC §1; 002 eq. 8): MMD with it is the energy distance."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..tile import Tile, safe_pow
from .base import Kernel, ParamLike, as_param, register_family


@register_family("distance")
class Distance(Kernel):
    """k(x, y) = ½ (‖x − z₀‖^β + ‖y − z₀‖^β − ‖x − y‖^β),  0 < β ≤ 2  (SPEC §1; 002 eq. 8).

    MMD²(P, Q) with this kernel is the energy distance
    E‖X − Y‖^β − ½ E‖X − X'‖^β − ½ E‖Y − Y'‖^β (002 eq. 7) for any anchor z₀, because the
    anchor terms cancel. ``z0=None`` drops them: k(x, y) = −½ ‖x − y‖^β, which is not positive
    definite but gives the same MMD² without the cancellation of large norms (what
    :func:`kdecore.energy_distance` uses).

    Args:
        beta: exponent β in (0, 2] (002: 1).
        z0: the anchor z₀: 0 (the origin, 002's default), a point of shape (d,), or None.
        scale: overall factor.
    """

    param_names = ("beta",)
    positive_params = ("beta",)

    def __init__(self, beta: ParamLike = 1.0, z0: float | Sequence[float] | Tensor | None = 0.0,
                 scale: ParamLike = 1.0) -> None:
        super().__init__(scale)
        self.beta = as_param(beta, "beta", positive=True)
        with torch.no_grad():
            if not bool(self.beta <= 2):
                raise ValueError(f"beta must be in (0, 2], got {float(self.beta)}")
        self._anchored = z0 is not None
        self.z0: Tensor | None = None
        if z0 is not None:
            z = z0 if isinstance(z0, Tensor) else torch.as_tensor(z0, dtype=torch.float64)
            if z.dim() > 1:
                raise ValueError(f"z0 must be a scalar 0 or a point of shape (d,), "
                                 f"got shape {tuple(z.shape)}")
            if z.dim() == 0 and float(z) != 0.0:
                raise ValueError("a scalar z0 must be 0 (the origin); pass a point of shape "
                                 "(d,) for another anchor")
            if z.dim() == 1:
                self.z0 = z

    def _anchor_norm(self, tile: Tile, pts: Tensor, half_beta: Tensor) -> Tensor:
        if self.z0 is not None:
            if self.z0.shape[0] != pts.shape[-1]:
                raise ValueError(f"z0 has {self.z0.shape[0]} features, the points have "
                                 f"{pts.shape[-1]}")
            pts = pts - self.z0.to(pts)
        return safe_pow((pts * pts).sum(-1), half_beta)

    def _matrix(self, tile: Tile) -> Tensor:
        half_beta = 0.5 * self.param("beta", tile.x)
        cross = safe_pow(tile.sqdist, half_beta)
        if not self._anchored:
            return cross.mul_(-0.5) if tile.inplace else -0.5 * cross
        nx = tile.col(self._anchor_norm(tile, tile.x, half_beta))
        ny = tile.row(self._anchor_norm(tile, tile.y, half_beta))
        return 0.5 * (nx + ny - cross)

    def __repr__(self) -> str:
        base = super().__repr__()
        return base if self._anchored else base[:-1] + ", z0=None)"
