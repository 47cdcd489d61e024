"""The Triton kernels as ``torch.library`` custom operators (namespace ``kdecore_triton``).

Each launch is an opaque operator with a fake (meta) implementation that only computes output
shapes, so ``torch.compile`` can trace a model that calls the backend: the graph holds the
operator and the kernel runs at execution time. The autograd formulas live in the
``torch.autograd.Function`` of each reduction (:mod:`.sums`, :mod:`.logsumexp`,
:mod:`.mmd`), whose forward and backward call these operators.

Arguments are plain tensors and numbers: centred points (``xc``, ``yc``; ``yc=None`` is the
within-set variant), the centre, weights, θ and aux columns of :mod:`.packing`, the structure
tuple ``fam`` and the precision mode name. Unrequested outputs are empty tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import launch, lse_kernel, mmd_kernel, nearest_kernel, row_pass, sums_kernel
from .packing import needs, theta_width

NAMESPACE = "kdecore_triton"

_SUMS = ("(Tensor xc, Tensor? yc, Tensor center, Tensor? wx, Tensor? wy, Tensor theta, "
         "Tensor auxx, Tensor auxy, int[] fam, bool rows, bool cols, bool squares, "
         "str precision) -> (Tensor, Tensor, Tensor)")
_ROW_PASS = ("(Tensor rc, Tensor cc, Tensor center, Tensor auxr, Tensor auxc, Tensor? a, "
             "Tensor? b, Tensor? c, Tensor? e, Tensor? sqc, Tensor? sr, Tensor? sc, "
             "Tensor theta, int[] fam, bool within, bool need_gx, bool need_gc, bool need_th, "
             "bool need_gs, str precision) -> (Tensor, Tensor, Tensor, Tensor)")
_LSE = ("(Tensor xc, Tensor? yc, Tensor? lw, Tensor theta, int[] fam, str precision) "
        "-> Tensor")
_NEAREST = "(Tensor xc, Tensor? yc, str precision) -> (Tensor, Tensor)"
_MMD = ("(Tensor xc, Tensor yc, Tensor center, Tensor theta, Tensor auxx, Tensor auxy, "
        "int[] fam, bool squares, str precision) -> (Tensor, Tensor, Tensor, Tensor, Tensor)")


def _empty(like: Tensor) -> Tensor:
    return like.new_empty(0)


def _c(t: Tensor | None) -> Tensor | None:
    """The kernels index flat memory: incoming gradients are often expanded (stride 0)."""
    return None if t is None else t.contiguous()


@torch.library.custom_op(f"{NAMESPACE}::sums", mutates_args=(), schema=_SUMS)
def sums_op(xc: Tensor, yc: Tensor | None, center: Tensor, wx: Tensor | None,
            wy: Tensor | None, theta: Tensor, auxx: Tensor, auxy: Tensor, fam: list[int],
            rows: bool, cols: bool, squares: bool, precision: str
            ) -> tuple[Tensor, Tensor, Tensor]:
    """(rows (m,), cols (n,), squares ()) of SPEC §2; ``yc=None``: within-set, j ≠ i."""
    f = tuple(fam)
    need_r2, need_dot = needs(f)
    within = yc is None
    xs = launch.side(xc, center, need_r2, need_dot)
    ys = xs if within else launch.side(yc, center, need_r2, need_dot)
    auxx, auxy, theta = _c(auxx), _c(auxy), _c(theta)
    r, c, s = sums_kernel.forward(xs, ys, auxx, auxx if within else auxy, _c(wx), _c(wy), theta, f,
                                  need_r2, need_dot, within, rows, cols and not within,
                                  squares, precision)
    dt = xc.dtype
    return (r.to(dt) if rows else _empty(xc), c.to(dt) if cols else _empty(xc),
            (s[0] * (2.0 if within else 1.0)).to(dt) if squares else _empty(xc))


@sums_op.register_fake
def _sums_fake(xc, yc, center, wx, wy, theta, auxx, auxy, fam, rows, cols, squares, precision):
    m = xc.shape[0]
    n = m if yc is None else yc.shape[0]
    return (xc.new_empty(m if rows else 0), xc.new_empty(n if cols else 0),
            xc.new_empty(() if squares else (0,)))


@torch.library.custom_op(f"{NAMESPACE}::row_pass", mutates_args=(), schema=_ROW_PASS)
def row_pass_op(rc: Tensor, cc: Tensor, center: Tensor, auxr: Tensor, auxc: Tensor,
                a: Tensor | None, b: Tensor | None, c: Tensor | None, e: Tensor | None,
                sqc: Tensor | None, sr: Tensor | None, sc: Tensor | None, theta: Tensor,
                fam: list[int], within: bool, need_gx: bool, need_gc: bool, need_th: bool,
                need_gs: bool, precision: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(GX (m, d), GC (m,), GTH (P,), GS (m,)) of :mod:`.row_pass`; unrequested: empty."""
    f = tuple(fam)
    need_r2, need_dot = needs(f)
    rs = launch.side(rc, center, need_r2, need_dot)
    cs = rs if within else launch.side(cc, center, need_r2, need_dot)
    a, b, c, e, sqc, sr, sc = (_c(t) for t in (a, b, c, e, sqc, sr, sc))
    out = row_pass.row_pass(rs, cs, _c(center), _c(auxr), _c(auxc), a, b, c, e, sqc, sr, sc,
                            _c(theta), f,
                            need_r2, need_dot, within, need_gx, need_gc, need_th, need_gs,
                            precision)
    return tuple(_empty(rc) if o is None else o.to(rc.dtype) for o in out)


@row_pass_op.register_fake
def _row_pass_fake(rc, cc, center, auxr, auxc, a, b, c, e, sqc, sr, sc, theta, fam, within,
                   need_gx, need_gc, need_th, need_gs, precision):
    m = rc.shape[0]
    return (rc.new_empty(rc.shape if need_gx else (0,)), rc.new_empty(m if need_gc else 0),
            rc.new_empty(theta_width(tuple(fam)) if need_th else 0),
            rc.new_empty(m if need_gs else 0))


@torch.library.custom_op(f"{NAMESPACE}::logsumexp", mutates_args=(), schema=_LSE)
def lse_op(xc: Tensor, yc: Tensor | None, lw: Tensor | None, theta: Tensor, fam: list[int],
           precision: str) -> Tensor:
    """L_i = log Σ_j w_j k(x_i, y_j) (SPEC §2) for centred points; ``yc=None`` skips j = i."""
    zero = xc.new_zeros(xc.shape[1])
    xs = launch.side(xc, zero, True, False)
    ys = xs if yc is None else launch.side(yc, zero, True, False)
    return lse_kernel.forward(xs, ys, _c(lw), _c(theta), tuple(fam), yc is None,
                              precision).to(xc.dtype)


@lse_op.register_fake
def _lse_fake(xc, yc, lw, theta, fam, precision):
    return xc.new_empty(xc.shape[0])


@torch.library.custom_op(f"{NAMESPACE}::nearest", mutates_args=(), schema=_NEAREST)
def nearest_op(xc: Tensor, yc: Tensor | None, precision: str) -> tuple[Tensor, Tensor]:
    """(min_j r², argmin_j) for centred points; ``yc=None`` skips j = i."""
    return nearest_kernel.launch_nearest(xc, yc, precision)


@nearest_op.register_fake
def _nearest_fake(xc, yc, precision):
    m = xc.shape[0]
    return xc.new_empty(m), xc.new_empty(m, dtype=torch.int64)


@torch.library.custom_op(f"{NAMESPACE}::mmd_stats", mutates_args=(), schema=_MMD)
def mmd_op(xc: Tensor, yc: Tensor, center: Tensor, theta: Tensor, auxx: Tensor, auxy: Tensor,
           fam: list[int], squares: bool, precision: str
           ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(a, b, c, c', (A₂, B₂, C₂)) of SPEC §4.3 in one launch over the pooled sample."""
    f = tuple(fam)
    need_r2, need_dot = needs(f)
    m = xc.shape[0]
    zs = launch.side(torch.cat([xc, yc]), center, need_r2, need_dot)
    aux = torch.cat([auxx, auxy]) if auxx.dim() == 2 else auxx
    same, cross, sq = mmd_kernel.forward(zs, aux.contiguous(), m, theta.contiguous(), f,
                                         need_r2, need_dot, squares, precision)
    dt = xc.dtype
    sq_out = (sq * sq.new_tensor([2.0, 2.0, 1.0])).to(dt) if squares else _empty(xc)
    parts = (same[:m], same[m:], cross[:m], cross[m:])  # fresh copies: outputs may not alias
    return (*(p.to(dt, copy=True) for p in parts), sq_out)


@mmd_op.register_fake
def _mmd_fake(xc, yc, center, theta, auxx, auxy, fam, squares, precision):
    m, n = xc.shape[0], yc.shape[0]
    return (xc.new_empty(m), xc.new_empty(n), xc.new_empty(m), xc.new_empty(n),
            xc.new_empty(3 if squares else 0))
