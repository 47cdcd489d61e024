"""Row, column and squared sums through the fused Triton kernels (SPEC §2).

``TritonPairwiseSums`` is the fused op: its forward is one launch of
:func:`.sums_kernel.sums_fwd` (rows, cols and squares together; within-set: the upper block
triangle, each unordered pair once); its backward recomputes tiles in the row-pass kernel
(:mod:`.row_pass`), once for the gradients of x, its weights and θ, once on the transposed
problem for y and its weights. For an output o the coefficient of the pair (i, j) is

    cross:   g_ij = gR_i wy_j + wx_i gC_j + 2 gS k_ij
    within:  g_ij = gR_i w_j + w_i gR_j + 4 gS k_ij    (full square, j ≠ i; θ gets half)

with gR, gC, gS the incoming gradients of rows, cols and squares. Its reference is
:class:`kdecore._kernels.torch.sums.PairwiseSums`; the tests compare the two. First order
only: a second derivative raises (:func:`first_order`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.families import Kernel

from ..autograd import first_order
from . import runtime
from .ops import row_pass_op, sums_op
from .packing import aux_scale_index
from .prepare import prepare


def aux_grad(gs: Tensor | None, theta: Tensor, fam: tuple[int, ...]) -> Tensor | None:
    """∂/∂(aux columns) from the row sums of g: ∂k/∂a = s/2 for each distance component."""
    if gs is None or gs.numel() == 0:
        return None
    half = 0.5 * theta.detach()[aux_scale_index(fam)]
    return gs[:, None] * half[None, :]


def _ones(n: int, like: Tensor) -> Tensor:
    return torch.ones(n, dtype=like.dtype, device=like.device)


def _opt(t: Tensor, want: bool) -> Tensor | None:
    return t if want and t.numel() > 0 else None


class TritonPairwiseSums(torch.autograd.Function):
    """(rows, cols, squares) of Σ_j w_j k(x_i, y_j) and friends, fused; see the module doc."""

    @staticmethod
    def forward(ctx, spec, xc, yc, wx, wy, theta, aux_x, aux_y, center):
        fam, rows, cols, squares, precision = spec
        out = sums_op(xc, yc, center, wx, wy, theta, aux_x, aux_y, list(fam), rows, cols,
                      squares, precision)
        ctx.spec = spec
        ctx.save_for_backward(xc, yc, wx, wy, theta, aux_x, aux_y, center)
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*[o for o, f in zip(out, (rows, cols, squares), strict=True)
                                      if not f])
        return out

    @staticmethod
    @first_order("triton")
    def backward(ctx, g_r, g_c, g_s):
        xc, yc, wx, wy, theta, aux_x, aux_y, center = ctx.saved_tensors
        fam, rows, cols, squares, precision = ctx.spec
        g_r = g_r if rows else None
        g_c = g_c if cols else None
        g_s = g_s if squares else None
        need = ctx.needs_input_grad[1:8]
        if g_r is None and g_c is None and g_s is None:
            return (None,) * 9
        if yc is None:
            grads = _within_backward(xc, wy, theta, aux_x, center, fam, precision, g_r, g_s,
                                     need)
        else:
            grads = _cross_backward(xc, yc, wx, wy, theta, aux_x, aux_y, center, fam,
                                    precision, g_r, g_c, g_s, need)
        return (None, *grads, None)


def _cross_backward(xc, yc, wx, wy, theta, aux_x, aux_y, center, fam, precision, g_r, g_c,
                    g_s, need):
    need_x, need_y, need_wx, need_wy, need_th, need_ax, need_ay = need
    m, n = xc.shape[0], yc.shape[0]
    wx1 = wx if wx is not None else _ones(m, xc)
    wy1 = wy if wy is not None else _ones(n, xc)
    sqc = None if g_s is None else (2.0 * g_s).reshape(1).to(xc.dtype)
    fam_l = list(fam)
    gx = gy = gwx = gwy = gth = gax = gay = None
    if need_x or need_wx or need_th or need_ax:
        want_gc = need_wx and g_c is not None
        out = row_pass_op(xc, yc, center, aux_x, aux_y,
                          g_r, None if g_r is None else wy1,
                          None if g_c is None else wx1, g_c, sqc, None, None, theta, fam_l,
                          False, need_x, want_gc, need_th, need_ax, precision)
        gx, gwx, gth = _opt(out[0], need_x), _opt(out[1], want_gc), _opt(out[2], need_th)
        gax = aux_grad(out[3], theta, fam)
    if need_y or need_wy or need_ay:
        want_gc = need_wy and g_r is not None
        th_here = need_th and gth is None
        out = row_pass_op(yc, xc, center, aux_y, aux_x,
                          g_c, None if g_c is None else wx1,
                          None if g_r is None else wy1, g_r, sqc, None, None, theta, fam_l,
                          False, need_y, want_gc, th_here, need_ay, precision)
        gy, gwy = _opt(out[0], need_y), _opt(out[1], want_gc)
        if th_here:
            gth = _opt(out[2], True)
        gay = aux_grad(out[3], theta, fam)
    return gx, gy, gwx, gwy, gth, gax, gay


def _within_backward(xc, w, theta, aux, center, fam, precision, g_r, g_s, need):
    need_x, _, _, need_w, need_th, need_ax, _ = need
    if not (need_x or need_w or need_th or need_ax):
        return (None,) * 7
    w1 = w if w is not None else _ones(xc.shape[0], xc)
    sqc = None if g_s is None else (4.0 * g_s).reshape(1).to(xc.dtype)
    want_gc = need_w and g_r is not None
    out = row_pass_op(xc, xc, center, aux, aux, g_r, None if g_r is None else w1,
                      None if g_r is None else w1, g_r, sqc, None, None, theta, list(fam),
                      True, need_x, want_gc, need_th, need_ax, precision)
    gth = _opt(out[2], need_th)
    return (_opt(out[0], need_x), None, None, _opt(out[1], want_gc),
            None if gth is None else 0.5 * gth, aux_grad(out[3], theta, fam), None)


def sums(x: Tensor, y: Tensor | None, kernel: Kernel, x_weights: Tensor | None,
         y_weights: Tensor | None, *, rows: bool, cols: bool, squares: bool):
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    p = prepare(x, y, kernel)
    spec = (p.packed.fam, rows, cols, squares, runtime.current_precision())
    out = TritonPairwiseSums.apply(spec, p.xc, p.yc, x_weights, y_weights, p.packed.theta,
                                   p.aux_x, p.aux_y, p.center)
    return tuple(o if flag else None for o, flag in zip(out, (rows, cols, squares),
                                                        strict=True))
