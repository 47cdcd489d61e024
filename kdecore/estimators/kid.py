"""Kernel Inception Distance (SPEC §4.4; 002 §4): unbiased MMD² with the cubic polynomial
kernel on classifier features, averaged over subsets."""

from __future__ import annotations

import torch
from torch import Tensor

from ..families import Polynomial
from ..reductions import mmd_stats
from ..validation import check_pair, require_points
from ._common import f64, out_dtype
from .mmd import unbiased_from_stats
from .variance import variance_from_stats


def kid(feats_x: Tensor, feats_y: Tensor, *, subsets: int | None = 100,
        subset_size: int = 1000, degree: int = 3, gamma: float | None = None,
        coef0: float = 1.0, generator: torch.Generator | None = None,
        backend: str = "auto") -> tuple[Tensor, Tensor]:
    """KID = MMD²_u with k(x, y) = (γ⟨x, y⟩ + c)^p (γ = 1/d, c = 1, p = 3), as (mean, std).

    With ``subsets=S`` (default 100, as torchmetrics, torch-fidelity and 002): the mean and the
    standard deviation (ddof 0, as torchmetrics) of S estimates, each on ``subset_size`` points
    drawn without replacement from each set (with ``generator`` for reproducibility).
    ``subset_size`` larger than a set is an error, never silently shrunk.

    With ``subsets=None``: the full unbiased estimate on all points, and as its std the square
    root of the variance estimate of SPEC §4.3 (needs as many x as y; NaN otherwise).

    KID may be negative when the two sets are close: it is an unbiased estimate of a
    non-negative quantity.
    """
    x, y = check_pair(feats_x, feats_y, "feats_x", "feats_y")
    k = Polynomial(degree, gamma=gamma, coef0=coef0)
    if subsets is None:
        require_points(x, "feats_x", 2, "KID")
        require_points(y, "feats_y", 2, "KID")
        m, n = x.shape[0], y.shape[0]
        square = m == n and m >= 4
        s = mmd_stats(x, y, k, squares=square, backend=backend)
        est = unbiased_from_stats(s.xx_rows.sum(), s.yy_rows.sum(), s.xy_rows.sum(), m, n)
        std = (torch.sqrt(torch.clamp(variance_from_stats(s, m), min=0.0)) if square
               else torch.full((), float("nan"), dtype=torch.float64, device=x.device))
        return out_dtype(est, x), out_dtype(std, x)
    if isinstance(subsets, bool) or not isinstance(subsets, int) or subsets < 1:
        raise ValueError(f"subsets must be a positive int or None, got {subsets!r}")
    if isinstance(subset_size, bool) or not isinstance(subset_size, int) or subset_size < 2:
        raise ValueError(f"subset_size must be an int >= 2, got {subset_size!r}")
    for t, name in ((x, "feats_x"), (y, "feats_y")):
        if subset_size > t.shape[0]:
            raise ValueError(f"subset_size={subset_size} is larger than {name}, which has "
                             f"{t.shape[0]} points; lower subset_size or pass more features")
    estimates = []
    for _ in range(subsets):
        ix = torch.randperm(x.shape[0], generator=generator)[:subset_size].to(x.device)
        iy = torch.randperm(y.shape[0], generator=generator)[:subset_size].to(x.device)
        s = mmd_stats(x[ix], y[iy], k, backend=backend)
        estimates.append(unbiased_from_stats(s.xx_rows.sum(), s.yy_rows.sum(),
                                             s.xy_rows.sum(), subset_size, subset_size))
    est = f64(torch.stack(estimates))
    return out_dtype(est.mean(), x), out_dtype(est.std(unbiased=False), x)


__all__ = ["kid"]
