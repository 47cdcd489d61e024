"""KeOps formula strings of the kernel families (SPEC §1), built from a registry.

A kernel becomes one KeOps formula of the points ``x`` (``Vi``) and ``y`` (``Vj``) by walking
``kernel.terms()``: each family has a *value* builder (k_t as a scalar formula) and, when the
family is positive, a *log* builder (the vector of log-components of k_t, one per mixture entry).
Kernel parameters enter as KeOps ``Pm`` variables computed from ``kernel.tensors()`` with
differentiable PyTorch (e.g. c = 1/(2σ²)), so

- the formula depends only on the kernel's *structure* (families, mixture sizes, polynomial
  degree), never on parameter values: one compile serves every bandwidth;
- gradients with respect to the Pm variables flow back to σ, α, ℓ, weights and scales through
  PyTorch's autograd.

Per-point quantities (the anchored distance kernel's ‖x − z₀‖^β) are computed in PyTorch and
passed as one ``Vi``/``Vj`` feature matrix (``fi``/``fj``), so the O(n) work is not repeated for
every pair.

Squared distances are KeOps' ``SqDist(x,y)`` = Σ_k (x_k − y_k)²: differences first, so there is
no ‖x‖² + ‖y‖² − 2⟨x,y⟩ cancellation (PERFORMANCE.md, "Cancellation") and no centring is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor

from kdecore.families import Kernel

#: the squared distance of the pair, shared by every radial term (factorized when repeated).
R2 = "SqDist(x,y)"
#: r^β with value and gradient 0 at r = 0 (SPEC §1 distance kernel; like ``safe_pow``); written
#: as Exp(h·Log(r²)) because KeOps' Powf is single precision on the CPU.
SAFE_POWER = "IfElse(-{r2},Zero(1),Exp({h}*Log({r2})))"
#: r^β for the exponents that need no Exp/Log when β is fixed (not learned): the energy
#: distance's β = 1 is a square root (KeOps' Sqrt has derivative 0 at 0, like ``safe_pow``).
FIXED_POWERS = {1.0: "Sqrt(" + R2 + ")", 2.0: R2}


@dataclass
class Builder:
    """Collects the Pm parameters and per-point features of one formula while it is built."""

    d: int
    like: Tensor
    params: list[Tensor] = field(default_factory=list)
    features: list[Callable[[Tensor], Tensor]] = field(default_factory=list)

    def param(self, value: Tensor) -> str:
        """Register a parameter tensor (any shape; flattened) and return its alias."""
        self.params.append(value.to(self.like).reshape(-1))
        return f"p{len(self.params) - 1}"

    def feature(self, fn: Callable[[Tensor], Tensor]) -> tuple[str, str]:
        """Register a per-point feature (points (n, d) -> (n,)); returns its i and j forms."""
        self.features.append(fn)
        k = len(self.features) - 1
        return f"Elem(fi,{k})", f"Elem(fj,{k})"


#: family -> builder of the term's value k_t(x, y) (scalar formula).
VALUE: dict[str, Callable[[Kernel, Builder], str]] = {}
#: family -> builder of the term's log-components (formula, dimension): log k_t = logsumexp.
LOG: dict[str, Callable[[Kernel, Builder], tuple[str, int]]] = {}


def _register(table: dict, family: str):
    def wrap(fn):
        table[family] = fn
        return fn
    return wrap


def _p(term: Kernel, name: str, b: Builder) -> Tensor:
    return term.param(name, b.like)


def _weights(term: Kernel, b: Builder) -> Tensor:
    """Mixture weights with the term's scale folded in: scale · w_b."""
    return _p(term, "scale", b) * _p(term, "weights", b)


# -- radial mixtures: Σ_b a_b exp(−φ_b(r)) ------------------------------------------------

def _radial_exponents(term: Kernel, b: Builder) -> str:
    """The vector of exponents φ_b (one per mixture entry) of a radial mixture term."""
    return RADIAL[term.family](term, b)


RADIAL: dict[str, Callable[[Kernel, Builder], str]] = {}


@_register(RADIAL, "rbf")
def _rbf(term: Kernel, b: Builder) -> str:
    """rbf: φ_b = r² / (2σ_b²)  (SPEC §1)."""
    sigma = _p(term, "sigma", b)
    return f"{b.param(0.5 / (sigma * sigma))}*{R2}"


@_register(RADIAL, "laplacian")
def _laplacian(term: Kernel, b: Builder) -> str:
    """laplacian: φ_b = r / σ_b  (SPEC §1); KeOps' Sqrt has derivative 0 at 0."""
    return f"{b.param(1.0 / _p(term, 'sigma', b))}*Sqrt({R2})"


@_register(RADIAL, "rq")
def _rq(term: Kernel, b: Builder) -> str:
    """rq: φ_a = α_a log(1 + r² / (2 α_a ℓ²))  (SPEC §1; 002 eq. 6)."""
    alpha = _p(term, "alpha", b)
    ell = _p(term, "lengthscale", b)
    return (f"{b.param(alpha)}*Log(IntCst(1)+{b.param(0.5 / (alpha * ell * ell))}*{R2})")


def _radial_value(term: Kernel, b: Builder) -> str:
    """k_t = Σ_b (scale·w_b) exp(−φ_b)."""
    a = b.param(_weights(term, b))
    return f"({a}|Exp(-{_radial_exponents(term, b)}))"


def _radial_log(term: Kernel, b: Builder) -> tuple[str, int]:
    """log-components log(scale·w_b) − φ_b (the kernel needs positive weights, as the
    torch backend's log_matrix)."""
    la = b.param(torch.log(_weights(term, b)))
    return f"{la}-{_radial_exponents(term, b)}", int(term.weights.numel())


for _family in RADIAL:
    VALUE[_family] = _radial_value
    LOG[_family] = _radial_log


# -- inner-product families ---------------------------------------------------------------

@_register(VALUE, "dot")
def _dot(term: Kernel, b: Builder) -> str:
    """dot: k = scale · ⟨x, y⟩  (SPEC §1)."""
    return f"{b.param(_p(term, 'scale', b))}*(x|y)"


def power(base: str, p: int) -> str:
    """``base`` to the integer power p by repeated squaring, ``base`` evaluated once."""
    factors, cur = [], base
    while p:
        if p & 1:
            factors.append(cur)
        cur = f"Square({cur})"
        p >>= 1
    expr = "*".join(factors)
    return f"Factorize({expr},{base})" if len(factors) > 1 else expr


@_register(VALUE, "polynomial")
def _polynomial(term: Kernel, b: Builder) -> str:
    """polynomial: k = scale · (γ⟨x, y⟩ + c)^p, γ = 1/d by default  (SPEC §1, §4.4)."""
    g = b.param(term.gamma_for(b.d, b.like))
    c = b.param(_p(term, "coef0", b))
    s = b.param(_p(term, "scale", b))
    return f"{s}*{power(f'({g}*(x|y)+{c})', term.degree)}"


@_register(VALUE, "distance")
def _distance(term: Kernel, b: Builder) -> str:
    """distance: k = scale · ½ (‖x − z₀‖^β + ‖y − z₀‖^β − ‖x − y‖^β), or −½ scale ‖x − y‖^β
    without anchor (SPEC §1; 002 eq. 8). The anchor norms are per-point features."""
    beta = term.beta
    if not beta.requires_grad and float(beta) in FIXED_POWERS:
        cross = FIXED_POWERS[float(beta)]
    else:
        cross = SAFE_POWER.format(r2=R2, h=b.param(0.5 * _p(term, "beta", b)))
    s = b.param(_p(term, "scale", b))
    if not term._anchored:
        return f"-{s}*IntInv(2)*{cross}"
    fi, fj = b.feature(lambda pts: term._anchor_norm(None, pts, 0.5 * _p(term, "beta", b)))
    return f"{s}*IntInv(2)*({fi}+{fj}-{cross})"


# -- whole kernels --------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """One kernel as a KeOps formula: the formula string (its structure), the Pm tensors it
    reads (differentiable functions of ``kernel.tensors()``) and its per-point features."""

    formula: str
    params: tuple[Tensor, ...]
    features: tuple[Callable[[Tensor], Tensor], ...]

    @property
    def param_aliases(self) -> list[str]:
        return [f"p{k}=Pm({t.numel()})" for k, t in enumerate(self.params)]

    @property
    def param_names(self) -> list[str]:
        return [f"p{k}" for k in range(len(self.params))]

    @property
    def nf(self) -> int:
        return len(self.features)

    def point_features(self, pts: Tensor) -> Tensor | None:
        """The (n, nf) feature matrix of ``pts`` (None without features); differentiable."""
        if not self.features:
            return None
        return torch.stack([fn(pts).to(pts.dtype) for fn in self.features], dim=1)


def _unknown(family: str, table: dict) -> ValueError:
    return ValueError(f"the keops backend has no formula for kernel family {family!r}; "
                      f"it knows {', '.join(table)}")


def value_plan(kernel: Kernel, d: int, like: Tensor) -> Plan:
    """k(x, y) = Σ_t k_t(x, y) as one scalar formula (SPEC §1, sums of kernels)."""
    b = Builder(d, like)
    parts = []
    for term in kernel.terms():
        if term.family not in VALUE:
            raise _unknown(term.family, VALUE)
        parts.append(VALUE[term.family](term, b))
    formula = f"Factorize({'+'.join(parts)},{R2})" if len(parts) > 1 else parts[0]
    return Plan(formula, tuple(b.params), tuple(b.features))


def log_plan(kernel: Kernel, d: int, like: Tensor) -> Plan:
    """log k(x, y) as one scalar formula: the log-sum-exp of every term's log-components,
    stabilized by their maximum (exact for one component)."""
    b = Builder(d, like)
    parts, dim = [], 0
    for term in kernel.terms():
        if term.family not in LOG:
            raise _unknown(term.family, LOG)
        part, k = LOG[term.family](term, b)
        parts.append(part)
        dim += k
    vec = concat(parts)
    if dim == 1:
        formula = vec
    else:
        formula = f"Factorize(Max({vec})+Log(Sum(Exp({vec}-Max({vec})))),{vec})"
    if len(parts) > 1:
        formula = f"Factorize({formula},{R2})"
    return Plan(formula, tuple(b.params), tuple(b.features))


# -- pairs to skip ----------------------------------------------------------------------------

#: every point carries an id (i // ID_BASE, i % ID_BASE), exact in float32 up to 2^24·ID_BASE
#: points; ``SqNorm2(ii-jj)`` is 0 exactly when the ids agree.
ID_BASE = 4096
#: ≥ 0 for distinct ids, < 0 for equal ones: the ``IfElse`` condition that skips j = i.
DISTINCT = "SqNorm2(ii-jj)-IntInv(2)"


def point_ids(n: int, like: Tensor, start: int = 0) -> Tensor:
    """(n, 2) ids of points start … start + n − 1 (see :data:`ID_BASE`)."""
    i = torch.arange(start, start + n, device=like.device)
    return torch.stack([i // ID_BASE, i % ID_BASE], dim=1).to(like.dtype)


def set_ids(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """Ids of x and y: shared for the within-set variant (y=None, the diagonal j = i is
    skipped), disjoint for two sets (nothing is skipped).

    One formula thus serves both variants (half the compiles), at the cost of comparing two
    numbers per pair."""
    ix = point_ids(x.shape[0], x)
    return (ix, ix) if y is None else (ix, point_ids(y.shape[0], x, start=x.shape[0]))


def skip_same(formula: str, fill: str = "Zero(1)") -> str:
    """``formula``, with ``fill`` on the pairs whose ids agree (the within-set diagonal)."""
    return f"IfElse({DISTINCT},{formula},{fill})"


def concat(parts: list[str]) -> str:
    """KeOps' binary Concat over a list of formulas."""
    out = parts[-1]
    for part in reversed(parts[:-1]):
        out = f"Concat({part},{out})"
    return out


class Side(NamedTuple):
    """One set of points as a formula reads it: the points, their ids, their features."""

    points: Tensor
    ids: Tensor
    features: Tensor | None


def sides(x: Tensor, y: Tensor | None, fx: Tensor | None,
          fy: Tensor | None) -> tuple[Side, Side]:
    """The two sides of a reduction over x and y (y=None: the within-set variant), with
    their features (computed by :meth:`Plan.point_features` outside the autograd Function)."""
    ix, iy = set_ids(x, y)
    if y is None:
        return Side(x, ix, fx), Side(x, iy, fx)
    return Side(x, ix, fx), Side(y, iy, fy)


def pair_aliases(d: int, nf: int) -> list[str]:
    """Aliases of the points (x, y), their ids (ii, jj) and features (fi, fj)."""
    return [f"x=Vi({d})", f"y=Vj({d})", "ii=Vi(2)", "jj=Vj(2)",
            *([f"fi=Vi({nf})", f"fj=Vj({nf})"] if nf else [])]


def pair_args(i: Side, j: Side) -> list[Tensor]:
    """The tensors of :func:`pair_aliases`, in order, for rows ``i`` and columns ``j``."""
    feats = [i.features, j.features] if i.features is not None else []
    return [i.points, j.points, i.ids, j.ids, *feats]
