"""Polynomial kernel (SPEC §1; the KID kernel of 002 §4)."""

from __future__ import annotations

from torch import Tensor

from ..tile import Tile
from .base import Kernel, ParamLike, as_param, register_family


@register_family("polynomial")
class Polynomial(Kernel):
    """k(x, y) = (γ ⟨x, y⟩ + c)^p  (SPEC §1; KID uses p = 3, γ = 1/d, c = 1).

    Args:
        degree: the integer power p ≥ 1 (not differentiable).
        gamma: γ > 0, or None for 1/d with d the feature dimension of the data.
        coef0: the constant c (scikit-learn's and the MMD-GAN code's name; torchmetrics: coef).
        scale: overall factor.
    """

    param_names = ("gamma", "coef0")
    positive_params = ("gamma",)

    def __init__(self, degree: int = 3, gamma: ParamLike | None = None, coef0: ParamLike = 1.0,
                 scale: ParamLike = 1.0) -> None:
        super().__init__(scale)
        if isinstance(degree, bool) or not isinstance(degree, int):
            raise TypeError(f"degree must be an int, got {type(degree).__name__}")
        if degree < 1:
            raise ValueError(f"degree must be >= 1, got {degree}")
        self.degree = degree
        self.gamma_is_default = gamma is None
        self.gamma = as_param(1.0 if gamma is None else gamma, "gamma", positive=True)
        self.coef0 = as_param(coef0, "coef0", positive=False)

    def gamma_for(self, d: int, like: Tensor) -> Tensor:
        """γ as used on d-dimensional data (1/d when it was left to its default)."""
        g = self.param("gamma", like)
        return g / d if self.gamma_is_default else g

    def _matrix(self, tile: Tile) -> Tensor:
        base = self.gamma_for(tile.d, tile.x) * tile.dot
        if tile.inplace:
            return base.add_(self.param("coef0", tile.x)).pow_(self.degree)
        return (base + self.param("coef0", tile.x)) ** self.degree

    def __repr__(self) -> str:
        g = "1/d" if self.gamma_is_default else f"{float(self.gamma):g}"
        return f"Polynomial(degree={self.degree}, gamma={g}, coef0={float(self.coef0):g})"
