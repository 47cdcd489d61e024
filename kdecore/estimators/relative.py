"""Relative similarity test of Bounliphone et al. (2016), from row/column sums (SPEC §4.5)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..families import Kernel
from ..families import kernel as as_kernel
from ..reductions import pairwise_sums
from ..validation import check_pair, require_points
from ._common import f64, out_dtype


def relative_mmd_test(x: Tensor, y: Tensor, z: Tensor, kernel: Kernel | str, *,
                      backend: str = "auto") -> tuple[Tensor, Tensor]:
    """Is Z significantly closer to the reference X than Y is?  Returns (p_value, t).

    t = MMD²_u(X,Y) − MMD²_u(X,Z) without the common X–X term: u_yy − 2u_xy − (u_zz − 2u_xz),
    Var = 4(m−2)/(m(m−1)) ζ₁ with ζ₁ from row/column sums only (SPEC §4.5; the authors'
    ``MMD_Diff_Var``), and p = Φ(−t/√Var). A small p-value rejects H0: MMD(X,Y) ≤ MMD(X,Z),
    i.e. says Z is closer to X (002 §4.1 uses it with X held-out data, Y the older generator's
    samples, Z the current one's). Memory O(m + n + r).
    """
    x, y = check_pair(x, y, "x", "y", allow_1d=True)
    x, z = check_pair(x, z, "x", "z", allow_1d=True)
    for t, name in ((x, "x"), (y, "y"), (z, "z")):
        require_points(t, name, 3, "the relative MMD test")
    k = as_kernel(kernel)
    m, n, r = x.shape[0], y.shape[0], z.shape[0]
    yy = f64(pairwise_sums(y, None, k, backend=backend).rows)
    zz = f64(pairwise_sums(z, None, k, backend=backend).rows)
    xy = pairwise_sums(x, y, k, rows=True, cols=True, backend=backend)
    xz = pairwise_sums(x, z, k, rows=True, cols=True, backend=backend)
    xy_r, xy_c, xz_r, xz_c = (f64(v) for v in (xy.rows, xy.cols, xz.rows, xz.cols))
    u_yy = yy.sum() / (n * (n - 1))
    u_zz = zz.sum() / (r * (r - 1))
    u_xy = xy_r.sum() / (m * n)
    u_xz = xz_r.sum() / (m * r)
    t1 = yy.dot(yy) / n**3 - u_yy**2
    t2 = xy_r.dot(xy_r) / (n**2 * m) - u_xy**2
    t3 = xy_c.dot(xy_c) / (n * m**2) - u_xy**2
    t4 = zz.dot(zz) / r**3 - u_zz**2
    t5 = xz_c.dot(xz_c) / (r * m**2) - u_xz**2
    t6 = xz_r.dot(xz_r) / (r**2 * m) - u_xz**2
    t7 = yy.dot(xy_c) / (n**2 * m) - u_yy * u_xy
    t8 = xy_r.dot(xz_r) / (n * m * r) - u_xz * u_xy
    t9 = zz.dot(xz_c) / (r**2 * m) - u_zz * u_xz
    zeta1 = t1 + t2 + t3 + t4 + t5 + t6 - 2.0 * (t7 + t8 + t9)
    var = 4.0 * (m - 2) / (m * (m - 1)) * zeta1
    stat = u_yy - 2.0 * u_xy - (u_zz - 2.0 * u_xz)
    sd = torch.sqrt(torch.clamp(var, min=torch.finfo(torch.float64).tiny))
    p_value = 0.5 * torch.erfc((stat / sd) / math.sqrt(2.0))  # Φ(−t/√Var)
    return out_dtype(p_value, x), out_dtype(stat, x)
