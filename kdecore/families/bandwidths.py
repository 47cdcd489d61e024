"""Radial families with a bandwidth mixture: RBF (Gaussian) and Laplacian (SPEC §1).

Both hold a 1-D ``sigma`` (one bandwidth, or a mixture Σ_σ w_σ k_σ) and mixture ``weights``
(default 1 each, as in 002). Every bandwidth of a mixture reads the same distance tile.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..tile import LOG2E, Tile
from .base import Kernel, ParamLike, as_param, register_family


class _RadialMixture(Kernel):
    param_names = ("sigma", "weights")
    positive_params = ("sigma",)
    has_log = True

    def __init__(self, sigma: ParamLike = 1.0, weights: ParamLike | None = None,
                 scale: ParamLike = 1.0) -> None:
        super().__init__(scale)
        self.sigma = as_param(sigma, "sigma", positive=True, vector=True)
        if weights is None:
            weights = torch.ones(self.sigma.shape[0], dtype=torch.float64)
        self.weights = as_param(weights, "weights", positive=False, vector=True)
        if self.weights.shape != self.sigma.shape:
            raise ValueError(f"weights must have one entry per bandwidth: sigma has "
                             f"{self.sigma.shape[0]}, weights {self.weights.shape[0]}")

    def _log_profile(self, tile: Tile, sigma: Tensor, unit: float = 1.0,
                     reuse: bool = False) -> Tensor:
        """``unit`` × the log of one bandwidth's profile, −r²/(2σ²) or −r/σ, as a fresh tensor
        (``unit`` = log₂e gives base-2 logs; ``reuse``: one of several bandwidths)."""
        raise NotImplementedError

    def matrix(self, tile: Tile) -> Tensor:
        sigma = self.param("sigma", tile.x)
        w = self.param("weights", tile.x) * self.param("scale", tile.x)
        many = sigma.shape[0] > 1
        out = None
        for b in range(sigma.shape[0]):
            lp = self._log_profile(tile, sigma[b], LOG2E, many)  # base-2: k = w·2^lp
            k = lp.exp2_().mul_(w[b]) if tile.inplace else w[b] * torch.exp2(lp)
            out = k if out is None else (out.add_(k) if tile.inplace else out + k)
        return out

    def _log_matrix(self, tile: Tile) -> Tensor:
        sigma = self.param("sigma", tile.x)
        logw = torch.log(self.param("weights", tile.x))
        if sigma.shape[0] == 1:
            lp = self._log_profile(tile, sigma[0])
            return lp.add_(logw[0]) if tile.inplace else logw[0] + lp
        return torch.logsumexp(
            torch.stack([logw[b] + self._log_profile(tile, sigma[b], reuse=True)
                         for b in range(sigma.shape[0])]), dim=0)


@register_family("rbf")
class RBF(_RadialMixture):
    """Gaussian kernel k(x, y) = Σ_σ w_σ exp(−‖x − y‖² / (2σ²))  (SPEC §1, rbf / rbf mixture).

    Args:
        sigma: bandwidth σ > 0, or a sequence of bandwidths (a mixture; 002 uses
            {2, 5, 10, 20, 40, 80}); may be a tensor with ``requires_grad=True``.
        weights: mixture weights w_σ (default 1 each).
        scale: overall factor (``0.5 * RBF(...)`` sets it).
    """

    def _log_profile(self, tile: Tile, sigma: Tensor, unit: float = 1.0,
                     reuse: bool = False) -> Tensor:
        return tile.neg_scaled_sqdist(0.5 * unit / (sigma * sigma), reuse=reuse)


@register_family("laplacian")
class Laplacian(_RadialMixture):
    """Laplacian kernel k(x, y) = Σ_σ w_σ exp(−‖x − y‖ / σ)  (SPEC §1, laplacian)."""

    def _log_profile(self, tile: Tile, sigma: Tensor, unit: float = 1.0,
                     reuse: bool = False) -> Tensor:
        return tile.dist * (-unit / sigma)
