"""MMD² estimators, the witness function and the energy distance (SPEC §4.1–4.2; 002 §2.1).

Each estimator is a registered function of (x, y, kernel, backend), chosen by name.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .. import dispatch
from ..families import Distance, Kernel
from ..families import kernel as as_kernel
from ..reductions import kernel_sum, mmd_stats
from ..validation import check_pair, require_points
from ._common import f64, out_dtype

#: MMD² estimators by name (a registry, not an if-chain).
ESTIMATORS: dict[str, Callable[[Tensor, Tensor, Kernel, str], Tensor]] = {}


def register_estimator(name: str):
    def wrap(fn):
        ESTIMATORS[name] = fn
        return fn
    return wrap


def unbiased_from_stats(xx: Tensor, yy: Tensor, xy: Tensor, m: int, n: int) -> Tensor:
    """MMD²_u from the three totals, in float64 (002 eq. 4)."""
    return f64(xx) / (m * (m - 1)) + f64(yy) / (n * (n - 1)) - 2.0 * f64(xy) / (m * n)


@register_estimator("unbiased")
def _unbiased(x: Tensor, y: Tensor, k: Kernel, backend: str) -> Tensor:
    """MMD²_u = Σ_{i≠j} k(x_i,x_j)/(m(m−1)) + Σ_{i≠j} k(y_i,y_j)/(n(n−1))
    − 2 Σ_{i,j} k(x_i,y_j)/(mn)   (SPEC §4.1; 002 eq. 4). May be negative."""
    require_points(x, "x", 2, "the unbiased MMD² estimate")
    require_points(y, "y", 2, "the unbiased MMD² estimate")
    s = mmd_stats(x, y, k, backend=backend)
    m, n = x.shape[0], y.shape[0]
    return unbiased_from_stats(s.xx_rows.sum(), s.yy_rows.sum(), s.xy_rows.sum(), m, n)


@register_estimator("biased")
def _biased(x: Tensor, y: Tensor, k: Kernel, backend: str) -> Tensor:
    """MMD²_b = Σ_{i,j} k(x_i,x_j)/m² + Σ_{i,j} k(y_i,y_j)/n² − 2 Σ_{i,j} k(x_i,y_j)/(mn)
    (SPEC §4.1, the V-statistic: diagonals kept). Always ≥ 0 for a positive definite kernel."""
    s = mmd_stats(x, y, k, backend=backend)
    m, n = x.shape[0], y.shape[0]
    xx = f64(s.xx_rows.sum()) + f64(k.pointwise(x, x).sum())
    yy = f64(s.yy_rows.sum()) + f64(k.pointwise(y, y).sum())
    return xx / (m * m) + yy / (n * n) - 2.0 * f64(s.xy_rows.sum()) / (m * n)


@register_estimator("linear")
def _linear(x: Tensor, y: Tensor, k: Kernel, backend: str) -> Tensor:
    """Linear-time MMD²_l (SPEC §4.1; Gretton et al. 2012, Lemma 14): for m = n = 2t, the mean
    over i of k(x_{2i−1},x_{2i}) + k(y_{2i−1},y_{2i}) − k(x_{2i−1},y_{2i}) − k(x_{2i},y_{2i−1})."""
    m, n = x.shape[0], y.shape[0]
    if m != n:
        raise ValueError(f"the linear estimator needs as many x as y points, got m={m}, n={n}")
    if m % 2 or m < 2:
        raise ValueError(f"the linear estimator pairs consecutive points and needs an even "
                         f"number of points, got {m}; drop a point explicitly")
    dispatch.resolve(backend, x.device)  # a bad backend name fails the same way everywhere
    x1, x2, y1, y2 = x[0::2], x[1::2], y[0::2], y[1::2]
    h = k.pointwise(x1, x2) + k.pointwise(y1, y2) - k.pointwise(x1, y2) - k.pointwise(x2, y1)
    return f64(h).mean()


def mmd2(x: Tensor, y: Tensor, kernel: Kernel | str, *, estimator: str = "unbiased",
         backend: str = "auto") -> Tensor:
    """Squared maximum mean discrepancy between samples x ~ P and y ~ Q (SPEC §4.1).

    ``estimator``: ``"unbiased"`` (002 eq. 4; needs m, n ≥ 2; may be negative),
    ``"biased"`` (V-statistic) or ``"linear"`` (O(n), m = n even). A 1-D input is read as
    n points with one feature. Returns a 0-d tensor in the inputs' dtype (float32 for
    half inputs), differentiable in x, y and the kernel's parameters.
    """
    x, y = check_pair(x, y, "x", "y", allow_1d=True)
    try:
        fn = ESTIMATORS[estimator]
    except KeyError:
        raise ValueError(f"unknown estimator {estimator!r}; known: "
                         f"{', '.join(ESTIMATORS)}") from None
    return out_dtype(fn(x, y, as_kernel(kernel), backend), x)


def witness(t: Tensor, x: Tensor, y: Tensor, kernel: Kernel | str, *,
            backend: str = "auto") -> Tensor:
    """Witness function f(t) = (1/m) Σ_i k(x_i, t) − (1/n) Σ_j k(y_j, t)  (SPEC §4.2;
    002 eq. 3), evaluated at each row of t; shape (len(t),)."""
    x, y = check_pair(x, y, "x", "y", allow_1d=True)
    t, x = check_pair(t, x, "t", "x", allow_1d=True)
    k = as_kernel(kernel)
    fx = kernel_sum(t, x, k, backend=backend)
    fy = kernel_sum(t, y, k, backend=backend)
    return fx / x.shape[0] - fy / y.shape[0]


def energy_distance(x: Tensor, y: Tensor, beta: float | Tensor = 1.0, *,
                    backend: str = "auto") -> Tensor:
    """Unbiased energy distance E‖X−Y‖^β − ½E‖X−X'‖^β − ½E‖Y−Y'‖^β  (SPEC §1; 002 eq. 7),
    i.e. MMD²_u with the distance-induced kernel of exponent β ∈ (0, 2].

    Computed with the anchor-free form k = −½‖x − y‖^β (``Distance(beta, z0=None)``), which
    gives the same MMD² without cancelling large norms.
    """
    return mmd2(x, y, Distance(beta, z0=None), estimator="unbiased", backend=backend)

