"""Rational quadratic kernel and its mixture (SPEC §1; 002 eq. 6)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..tile import LOG2E, Tile
from .base import Kernel, ParamLike, as_param, register_family

#: the α set of 002 (the "rq-mix" preset).
RQ_MIX_ALPHAS = (0.2, 0.5, 1.0, 2.0, 5.0)


@register_family("rq")
class RQ(Kernel):
    """k(x, y) = Σ_α w_α (1 + ‖x − y‖² / (2αℓ²))^(−α)  (SPEC §1, rq / rq mixture).

    Args:
        alpha: α > 0 or a sequence of them (002 uses {0.2, 0.5, 1, 2, 5}).
        lengthscale: ℓ > 0 (002: 1).
        weights: mixture weights w_α (default 1 each).
        scale: overall factor.
    """

    param_names = ("alpha", "lengthscale", "weights")
    positive_params = ("alpha", "lengthscale")
    has_log = True

    def __init__(self, alpha: ParamLike = RQ_MIX_ALPHAS, lengthscale: ParamLike = 1.0,
                 weights: ParamLike | None = None, scale: ParamLike = 1.0) -> None:
        super().__init__(scale)
        self.alpha = as_param(alpha, "alpha", positive=True, vector=True)
        self.lengthscale = as_param(lengthscale, "lengthscale", positive=True)
        if weights is None:
            weights = torch.ones(self.alpha.shape[0], dtype=torch.float64)
        self.weights = as_param(weights, "weights", positive=False, vector=True)
        if self.weights.shape != self.alpha.shape:
            raise ValueError(f"weights must have one entry per alpha: alpha has "
                             f"{self.alpha.shape[0]}, weights {self.weights.shape[0]}")

    def _log_terms(self, tile: Tile, unit: float = 1.0) -> list[Tensor]:
        """``unit`` × log of each component, −α log(1 + r²/(2αℓ²)) (fresh tensors)."""
        alpha = self.param("alpha", tile.x)
        ell = self.param("lengthscale", tile.x)
        u = tile.sqdist / (2.0 * ell * ell)
        if tile.inplace:
            return [torch.log1p(u / alpha[a]).mul_(-unit * alpha[a])
                    for a in range(alpha.shape[0])]
        return [(-unit * alpha[a]) * torch.log1p(u / alpha[a]) for a in range(alpha.shape[0])]

    def _matrix(self, tile: Tile) -> Tensor:
        w = self.param("weights", tile.x)
        out = None
        for a, lt in enumerate(self._log_terms(tile, LOG2E)):  # base-2: k = w·2^lt
            k = lt.exp2_().mul_(w[a]) if tile.inplace else w[a] * torch.exp2(lt)
            out = k if out is None else (out.add_(k) if tile.inplace else out + k)
        return out

    def _log_matrix(self, tile: Tile) -> Tensor:
        logw = torch.log(self.param("weights", tile.x))
        terms = [logw[a] + lt for a, lt in enumerate(self._log_terms(tile))]
        return terms[0] if len(terms) == 1 else torch.logsumexp(torch.stack(terms), dim=0)
