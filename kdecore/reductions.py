"""The primitive: pairwise reductions of a kernel matrix that is never materialized (SPEC §2).

Every estimator of kdecore is a few calls to these functions. Each validates its inputs,
picks a backend (:mod:`kdecore.dispatch`) and returns tensors on the inputs' device,
differentiable in the points, the weights and the kernel's parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from . import dispatch
from .families import Kernel
from .families import kernel as as_kernel
from .tile import safe_pow
from .validation import as_points, as_weights, check_pair


class Sums(NamedTuple):
    """Row sums (m,), column sums (n,) and the sum of squares () of a kernel matrix; the ones
    that were not asked for are None."""

    rows: Tensor | None
    cols: Tensor | None
    squares: Tensor | None


class MMDStats(NamedTuple):
    """What MMD² and its variance need (SPEC §4.1, §4.3), all O(m + n):
    a = K̃_XX 1, b = K̃_YY 1, c = K_XY 1, c' = K_XYᵀ 1 and, when asked, the squared totals
    A₂ = Σ K̃_XX², B₂ = Σ K̃_YY², C₂ = Σ K_XY² (K̃: diagonal skipped)."""

    xx_rows: Tensor
    yy_rows: Tensor
    xy_rows: Tensor
    xy_cols: Tensor
    xx_squares: Tensor | None
    yy_squares: Tensor | None
    xy_squares: Tensor | None


def _prepare(x: Tensor, y: Tensor | None, kernel: Kernel | str) -> tuple[Tensor, Tensor | None,
                                                                          Kernel]:
    if y is None:
        x = as_points(x, "x")
    else:
        x, y = check_pair(x, y, "x", "y")
    k = as_kernel(kernel)
    k.check()
    return x, y, k


def pairwise_sums(x: Tensor, y: Tensor | None, kernel: Kernel | str, *,
                  x_weights: Tensor | None = None, y_weights: Tensor | None = None,
                  rows: bool = True, cols: bool = False, squares: bool = False,
                  backend: str = "auto") -> Sums:
    """Row, column and squared sums of K = [k(x_i, y_j)] without forming K (SPEC §2).

    R_i = Σ_j w_j k(x_i, y_j) (``y_weights`` = w),  C_j = Σ_i v_i k(x_i, y_j)
    (``x_weights`` = v),  S = Σ_i Σ_j k(x_i, y_j)².

    ``y=None`` gives the within-set sums with Y = X and the diagonal skipped (the
    U-statistic): R_i = Σ_{j≠i} w_j k(x_i, x_j) and S = Σ_{i≠j} k(x_i, x_j)²; each unordered
    pair is evaluated once, and only ``rows``/``squares`` are available (``cols`` = ``rows``).

    Args:
        x: (m, d) points.
        y: (n, d) points, or None for the within-set variant.
        kernel: a :class:`~kdecore.Kernel` or a preset name.
        x_weights, y_weights: optional (m,) / (n,) weights.
        rows, cols, squares: which reductions to return.
        backend: ``"auto"``, ``"torch"``, ``"triton"`` or ``"keops"``.
    """
    x, y, k = _prepare(x, y, kernel)
    if y is None:
        if cols:
            raise ValueError("cols is not available for within-set sums (y=None): the matrix "
                             "is symmetric, so cols equals rows")
        if x_weights is not None:
            raise ValueError("within-set sums (y=None) take one weight vector: pass y_weights")
        if y_weights is not None:
            y_weights = as_weights(y_weights, x.shape[0], "y_weights", x)
    else:
        if x_weights is not None:
            x_weights = as_weights(x_weights, x.shape[0], "x_weights", x)
        if y_weights is not None:
            y_weights = as_weights(y_weights, y.shape[0], "y_weights", x)
    if not (rows or cols or squares):
        raise ValueError("ask for at least one of rows, cols, squares")
    impl = dispatch.resolve(backend, x.device)
    return Sums(*impl.sums(x, y, k, x_weights, y_weights, rows=rows, cols=cols,
                           squares=squares))


def kernel_sum(x: Tensor, y: Tensor, kernel: Kernel | str, weights: Tensor | None = None, *,
               backend: str = "auto") -> Tensor:
    """R_i = Σ_j w_j k(x_i, y_j)  (SPEC §2, row sums), shape (m,), w = 1 by default."""
    return pairwise_sums(x, y, kernel, y_weights=weights, backend=backend).rows


def pairwise_logsumexp(x: Tensor, y: Tensor | None, kernel: Kernel | str, *,
                       y_log_weights: Tensor | None = None, backend: str = "auto") -> Tensor:
    """L_i = log Σ_j exp(log w_j + log k(x_i, y_j))  (SPEC §2, log-sum-exp), shape (m,).

    Stable for any distance: a point far from all of Y gets a finite (very negative) value,
    never log 0 = −inf from an underflowed sum. Needs a positive kernel (rbf, rq, laplacian and
    their sums). ``y=None`` skips j = i. ``y_log_weights`` are log w_j (−inf drops a point).
    """
    x, y, k = _prepare(x, y, kernel)
    if not k.has_log:
        raise TypeError(f"kernel {k!r} can be negative or zero: log-sum-exp needs a positive "
                        "kernel (rbf, rq, laplacian)")
    if y_log_weights is not None:
        n = x.shape[0] if y is None else y.shape[0]
        if not isinstance(y_log_weights, Tensor):
            raise TypeError("y_log_weights must be a torch.Tensor")
        if y_log_weights.dim() != 1 or y_log_weights.shape[0] != n:
            raise ValueError(f"y_log_weights must have shape ({n},), got "
                             f"{tuple(y_log_weights.shape)}")
        if y_log_weights.device != x.device:
            raise ValueError(f"y_log_weights must be on {x.device}, got {y_log_weights.device}")
        if bool(torch.isnan(y_log_weights).any()) or bool(
                (y_log_weights == float("inf")).any()):
            raise ValueError("y_log_weights contains NaN or +Inf")
        y_log_weights = y_log_weights.to(x.dtype)
    impl = dispatch.resolve(backend, x.device)
    return impl.logsumexp(x, y, k, y_log_weights)


def pairwise_nearest(x: Tensor, y: Tensor | None = None, *,
                     backend: str = "auto") -> tuple[Tensor, Tensor]:
    """M_i = min_j ‖x_i − y_j‖ and its index (SPEC §2, min/argmin), shapes (m,), (m,).

    ``y=None`` finds each point's nearest *other* point. The distances are differentiable
    (recomputed from the chosen pairs, O(m·d)); the indices are not.
    """
    if y is None:
        x = as_points(x, "x")
        if x.shape[0] < 2:
            raise ValueError("x needs at least 2 points to have a nearest other point")
    else:
        x, y = check_pair(x, y, "x", "y")
    impl = dispatch.resolve(backend, x.device)
    _, idx = impl.nearest(x.detach(), None if y is None else y.detach())
    other = (x if y is None else y)[idx]
    diff = x - other
    r2 = (diff * diff).sum(-1)
    return safe_pow(r2, 0.5), idx


def mmd_stats(x: Tensor, y: Tensor, kernel: Kernel | str, *, squares: bool = False,
              backend: str = "auto") -> MMDStats:
    """The sums behind MMD² and its variance (see :class:`MMDStats`), in as few passes as the
    backend allows (a fused backend does it in one launch over the pooled sample)."""
    x, y, k = _prepare(x, y, kernel)
    impl = dispatch.resolve(backend, x.device)
    fused = getattr(impl, "mmd_stats", None)
    if fused is not None:
        return fused(x, y, k, squares=squares)
    xx = impl.sums(x, None, k, None, None, rows=True, cols=False, squares=squares)
    yy = impl.sums(y, None, k, None, None, rows=True, cols=False, squares=squares)
    xy = impl.sums(x, y, k, None, None, rows=True, cols=True, squares=squares)
    return MMDStats(xx[0], yy[0], xy[0], xy[1], xx[2], yy[2], xy[2])
