"""Kernel families (SPEC §1), their registry, and named presets.

>>> import kdecore as kd
>>> k = kd.RQ() + kd.Dot()           # rq* of 002
>>> k = 0.5 * kd.RBF(sigma=(2, 5))   # scaled bandwidth mixture
>>> kd.kernel("rq*")                 # the same from its preset name
"""

from __future__ import annotations

from collections.abc import Callable

from .bandwidths import RBF, Laplacian
from .base import FAMILIES, Kernel, SumKernel, register_family
from .distance import Distance
from .dot import Dot
from .polynomial import Polynomial
from .rq import RQ, RQ_MIX_ALPHAS

#: the bandwidths of 002's RBF mixture (the "rbf-mix" preset).
RBF_MIX_SIGMAS = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)

#: named kernels: name -> (factory, source).
PRESETS: dict[str, tuple[Callable[[], Kernel], str]] = {
    "rbf": (lambda: RBF(1.0), "Gaussian, σ = 1"),
    "rbf-mix": (lambda: RBF(RBF_MIX_SIGMAS), "002 §5: σ ∈ {2, 5, 10, 20, 40, 80}"),
    "rq": (lambda: RQ(1.0), "rational quadratic, α = 1"),
    "rq-mix": (lambda: RQ(RQ_MIX_ALPHAS), "002 §5: α ∈ {0.2, 0.5, 1, 2, 5}"),
    "rq*": (lambda: RQ(RQ_MIX_ALPHAS) + Dot(), "002 §5: rq mixture + dot"),
    "dot": (lambda: Dot(), "linear kernel (feature matching)"),
    "dist": (lambda: Distance(1.0), "002 eq. 8: distance-induced, β = 1 (energy distance)"),
    "poly3": (lambda: Polynomial(3), "002 §4: (⟨x, y⟩/d + 1)³, the KID kernel"),
    "laplacian": (lambda: Laplacian(1.0), "exp(−‖x − y‖), σ = 1"),
}


def kernel(spec: str | Kernel) -> Kernel:
    """A kernel from a preset name (``"rbf-mix"``, ``"rq-mix"``, ``"rq*"``, ``"dot"``,
    ``"dist"``, ``"poly3"``, ``"rbf"``, ``"rq"``, ``"laplacian"``), or ``spec`` itself if it is
    already a :class:`Kernel`."""
    if isinstance(spec, Kernel):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"kernel must be a Kernel or a preset name, got {type(spec).__name__}")
    try:
        factory, _ = PRESETS[spec]
    except KeyError:
        raise ValueError(f"unknown kernel preset {spec!r}; known: {', '.join(PRESETS)}") from None
    return factory()


__all__ = [
    "FAMILIES", "PRESETS", "RBF", "RBF_MIX_SIGMAS", "RQ", "RQ_MIX_ALPHAS", "Distance", "Dot",
    "Kernel", "Laplacian", "Polynomial", "SumKernel", "kernel", "register_family",
]
