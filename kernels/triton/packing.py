"""How a kernel reaches the Triton kernels (SPEC §1): a structure tuple, a flat parameter
vector θ and per-point auxiliary columns.

Every term of ``kernel.terms()`` is looked up in :data:`FAMILY_CODECS` (a registry, one entry
per family) and contributes *components* to its family's block. All components of all terms
share one tile of squared distances r² and/or inner products ⟨x, y⟩, so ``rq* = rq mixture +
dot`` or a bandwidth mixture costs one tile, not one per term. θ holds *derived* parameters in
the form the kernels evaluate (log₂ e folded into the RBF scale, 1/(2αℓ²) for RQ, …); it is
computed here with differentiable PyTorch operations, so the kernels only return ∂/∂θ and
autograd carries it to σ, α, ℓ, the mixture weights, the scales, γ, c and β.

Per component, θ holds (k is the component's contribution to k(x, y)):

==========  ==========================  ===============================================
family      θ entries                   k
==========  ==========================  ===============================================
rbf         (w, a), a = −log₂e/(2σ²)    w · 2^(a r²)
laplacian   (w, a), a = −log₂e/σ        w · 2^(a r)
rq          (w, u, α), u = 1/(2αℓ²)     w · (1 + u r²)^(−α)
dot         (s,)                        s · ⟨x, y⟩
polynomial  (s, γ, c, p)                s · (γ⟨x, y⟩ + c)^p  (p is not differentiated)
distance    (s, h), h = β/2             s · ½ (a_x + a_y − (r²)^h), a = ‖· − z₀‖^β (aux)
==========  ==========================  ===============================================

with w = scale × mixture weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from kdecore.families import Kernel

LOG2E = 1.0 / math.log(2.0)


def _rbf(term: Kernel, like: Tensor) -> Tensor:
    sigma = term.param("sigma", like)
    w = term.param("weights", like) * term.param("scale", like)
    return torch.stack([w, (-0.5 * LOG2E) / (sigma * sigma)], 1)


def _laplacian(term: Kernel, like: Tensor) -> Tensor:
    sigma = term.param("sigma", like)
    w = term.param("weights", like) * term.param("scale", like)
    return torch.stack([w, -LOG2E / sigma], 1)


def _rq(term: Kernel, like: Tensor) -> Tensor:
    alpha = term.param("alpha", like)
    ell = term.param("lengthscale", like)
    w = term.param("weights", like) * term.param("scale", like)
    return torch.stack([w, 0.5 / (alpha * ell * ell), alpha], 1)


def _dot(term: Kernel, like: Tensor) -> Tensor:
    return term.param("scale", like).reshape(1, 1)


def _polynomial(term: Kernel, like: Tensor) -> Tensor:
    p = torch.tensor(float(term.degree), dtype=like.dtype, device=like.device)
    return torch.stack([term.param("scale", like), term.gamma_for(like.shape[-1], like),
                        term.param("coef0", like), p]).reshape(1, 4)


def _distance(term: Kernel, like: Tensor) -> Tensor:
    return torch.stack([term.param("scale", like), 0.5 * term.param("beta", like)]).reshape(1, 2)


def _distance_aux(term: Kernel, pts: Tensor) -> Tensor:
    """a = ‖p − z₀‖^β per point (0 without an anchor), differentiable in p and β."""
    if not term._anchored:
        return pts.new_zeros(pts.shape[0])
    return term._anchor_norm(None, pts, 0.5 * term.param("beta", pts))


@dataclass(frozen=True)
class FamilyCodec:
    """What the Triton kernels need to know about one family.

    ``slot``: position of the family's block in θ and in the structure tuple (the kernels'
    ``FAM[slot]`` is its component count); ``width``: θ entries per component; ``needs``:
    which tile statistics it reads ("r2", "dot"); ``positive``: has a log-domain form;
    ``pack``: θ rows (components × width) of a term; ``aux``: its per-point column, if any.
    """

    slot: int
    width: int
    needs: frozenset[str]
    positive: bool
    pack: Callable[[Kernel, Tensor], Tensor]
    aux: Callable[[Kernel, Tensor], Tensor] | None = None


#: family name → codec; the order of slots is the order of the blocks in the kernels.
FAMILY_CODECS: dict[str, FamilyCodec] = {
    "rbf": FamilyCodec(0, 2, frozenset({"r2"}), True, _rbf),
    "laplacian": FamilyCodec(1, 2, frozenset({"r2"}), True, _laplacian),
    "rq": FamilyCodec(2, 3, frozenset({"r2"}), True, _rq),
    "dot": FamilyCodec(3, 1, frozenset({"dot"}), False, _dot),
    "polynomial": FamilyCodec(4, 4, frozenset({"dot"}), False, _polynomial),
    "distance": FamilyCodec(5, 2, frozenset({"r2"}), False, _distance, _distance_aux),
}
N_SLOTS = len(FAMILY_CODECS)
_BY_SLOT = sorted(FAMILY_CODECS.items(), key=lambda kv: kv[1].slot)


def codec(term: Kernel) -> FamilyCodec:
    try:
        return FAMILY_CODECS[term.family]
    except KeyError:
        raise TypeError(f"the triton backend has no kernel code for the {term.family!r} family "
                        f"of {term!r}; use backend='torch'") from None


@dataclass(frozen=True)
class Packed:
    """A kernel as the Triton kernels see it.

    ``fam``: components per slot (the kernels' FAM constexpr); ``theta``: (P,) derived
    parameters, differentiable; ``aux_terms``: the terms owning aux columns, in order.
    """

    fam: tuple[int, ...]
    theta: Tensor
    need_r2: bool
    need_dot: bool
    aux_terms: tuple[Kernel, ...] = field(default=())

    @property
    def n_aux(self) -> int:
        return self.fam[FAMILY_CODECS["distance"].slot]

    def aux(self, pts: Tensor) -> Tensor:
        """(n, n_aux) per-point columns (a 1-element placeholder when there are none)."""
        if not self.aux_terms:
            return pts.new_zeros(1)
        cols = [FAMILY_CODECS[t.family].aux(t, pts) for t in self.aux_terms]
        return torch.stack(cols, 1).contiguous()



def pack(kernel: Kernel, like: Tensor) -> Packed:
    """θ, the structure tuple and the aux terms of ``kernel`` for points like ``like``."""
    blocks: list[list[Tensor]] = [[] for _ in range(N_SLOTS)]
    counts = [0] * N_SLOTS
    aux_terms: list[Kernel] = []
    needed: set[str] = set()
    for term in kernel.terms():
        c = codec(term)
        rows = c.pack(term, like)
        blocks[c.slot].append(rows.reshape(-1))
        counts[c.slot] += rows.shape[0]
        needed |= c.needs
        if c.aux is not None:
            aux_terms.append(term)
    theta = torch.cat([t for blk in blocks for t in blk]).contiguous()
    return Packed(tuple(counts), theta, "r2" in needed, "dot" in needed, tuple(aux_terms))


def aux_scale_index(fam: tuple[int, ...]) -> list[int]:
    """Positions in θ of the scale s of each aux-owning (distance) component: ∂k/∂a = s/2."""
    dist = FAMILY_CODECS["distance"]
    base = sum(fam[c.slot] * c.width for c in FAMILY_CODECS.values() if c.slot < dist.slot)
    return [base + dist.width * i for i in range(fam[dist.slot])]


def theta_width(fam: tuple[int, ...]) -> int:
    """P, the length of θ for the structure ``fam``."""
    return sum(fam[c.slot] * c.width for c in FAMILY_CODECS.values())


def is_positive(fam: tuple[int, ...]) -> bool:
    """True when every component of ``fam`` has a log-domain form."""
    return all(c.positive or fam[c.slot] == 0 for c in FAMILY_CODECS.values())


def needs(fam: tuple[int, ...]) -> tuple[bool, bool]:
    """(need_r2, need_dot): which tile statistics the structure ``fam`` reads."""
    used = [c.needs for c in FAMILY_CODECS.values() if fam[c.slot] > 0]
    return any("r2" in n for n in used), any("dot" in n for n in used)
