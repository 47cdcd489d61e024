"""Variance of the unbiased MMD² estimate from row/column sums (SPEC §4.3; Sutherland et al.
2017), and the t-ratio objective built on it."""

from __future__ import annotations

import torch
from torch import Tensor

from ..families import Kernel
from ..families import kernel as as_kernel
from ..reductions import MMDStats, mmd_stats
from ..validation import check_pair, require_points
from ._common import f64, out_dtype
from .mmd import unbiased_from_stats


def variance_from_stats(s: MMDStats, m: int) -> Tensor:
    """Var[MMD²_u] for m = n (SPEC §4.3), from a, b, c, c' and the squared totals, in float64.

    Var = 2/(m²(m−1)²) (2‖a‖² − A₂ + 2‖b‖² − B₂) − (4m−6)/(m³(m−1)³) (A² + B²)
        + 4(m−2)/(m³(m−1)²) (‖c‖² + ‖c'‖²) − 4(m−3)/(m³(m−1)²) C₂ − (8m−12)/(m⁵(m−1)) C²
        + 8/(m³(m−1)) ((A + B) C/m − a·c − b·c')
    """
    a, b, c, cp = (f64(v) for v in (s.xx_rows, s.yy_rows, s.xy_rows, s.xy_cols))
    a2, b2, c2 = (f64(v) for v in (s.xx_squares, s.yy_squares, s.xy_squares))
    big_a, big_b, big_c = a.sum(), b.sum(), c.sum()
    m1 = m - 1
    return (2.0 / (m**2 * m1**2) * (2 * a.dot(a) - a2 + 2 * b.dot(b) - b2)
            - (4 * m - 6) / (m**3 * m1**3) * (big_a**2 + big_b**2)
            + 4 * (m - 2) / (m**3 * m1**2) * (c.dot(c) + cp.dot(cp))
            - 4 * (m - 3) / (m**3 * m1**2) * c2
            - (8 * m - 12) / (m**5 * m1) * big_c**2
            + 8 / (m**3 * m1) * ((big_a + big_b) * big_c / m - a.dot(c) - b.dot(cp)))


def mmd2_variance(x: Tensor, y: Tensor, kernel: Kernel | str, *,
                  backend: str = "auto") -> tuple[Tensor, Tensor]:
    """(MMD²_u, Var[MMD²_u]) for samples of equal size m = n ≥ 2 (SPEC §4.3), O(m) memory.

    The variance estimate can be slightly negative for tiny samples; the t-ratio objective
    (:func:`mmd2_ratio`) guards it with ``max(Var, ε)``.
    """
    x, y = check_pair(x, y, "x", "y", allow_1d=True)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"mmd2_variance needs m = n (SPEC §4.3), got m={x.shape[0]}, "
                         f"n={y.shape[0]}")
    require_points(x, "x", 4, "the variance of MMD²_u")
    m = x.shape[0]
    s = mmd_stats(x, y, as_kernel(kernel), squares=True, backend=backend)
    mmd = unbiased_from_stats(s.xx_rows.sum(), s.yy_rows.sum(), s.xy_rows.sum(), m, m)
    return out_dtype(mmd, x), out_dtype(variance_from_stats(s, m), x)


def mmd2_ratio(x: Tensor, y: Tensor, kernel: Kernel | str, *, eps: float = 1e-8,
               backend: str = "auto") -> Tensor:
    """The t-ratio MMD²_u / sqrt(max(Var, ε)) (SPEC §4.3), the test-power objective."""
    mmd, var = mmd2_variance(x, y, kernel, backend=backend)
    return mmd / torch.sqrt(torch.clamp(var, min=eps))
