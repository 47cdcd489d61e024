"""MMD² and its variance in one launch (SPEC §4.1, §4.3): the fused ``mmd_stats``.

Forward: :func:`.mmd_kernel.mmd_fwd` over the pooled sample — a = K̃_XX 1, b = K̃_YY 1,
c = K_XY 1, c' = K_XYᵀ 1 and the squared totals A₂, B₂, C₂ together. Backward: the row pass
(:mod:`.row_pass`) four times — XX within (coefficient a-grad_i + a-grad_j + 4 ∂A₂ k), YY
within, and XY once per side (c-grad_i + c'-grad_j + 2 ∂C₂ k) — recomputing every tile.
Reference: the composition of :func:`kdecore._kernels.torch.sums.sums` the dispatcher uses
for backends without ``mmd_stats``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.families import Kernel
from kdecore.reductions import MMDStats

from ..autograd import first_order
from . import runtime
from .ops import mmd_op, row_pass_op
from .prepare import prepare
from .sums import _ones, _opt, aux_grad


class TritonMMDStats(torch.autograd.Function):
    """(a, b, c, c', (A₂, B₂, C₂)) of SPEC §4.3, fused; see the module doc."""

    @staticmethod
    def forward(ctx, spec, xc, yc, theta, aux_x, aux_y, center):
        fam, squares, precision = spec
        out = mmd_op(xc, yc, center, theta, aux_x, aux_y, list(fam), squares, precision)
        ctx.spec = spec
        ctx.save_for_backward(xc, yc, theta, aux_x, aux_y, center)
        ctx.set_materialize_grads(False)
        if not squares:
            ctx.mark_non_differentiable(out[4])
        return out

    @staticmethod
    @first_order("triton")
    def backward(ctx, ga, gb, gc, gcp, gsq):
        xc, yc, theta, aux_x, aux_y, center = ctx.saved_tensors
        fam, squares, precision = ctx.spec
        need_x, need_y, need_th, need_ax, need_ay = ctx.needs_input_grad[1:6]
        m, n = xc.shape[0], yc.shape[0]
        gsq = gsq if squares else None
        sq = [None] * 3 if gsq is None else [(f * gsq[i]).reshape(1) for i, f in
                                             enumerate((4.0, 4.0, 2.0))]
        fam_l = list(fam)
        gth = torch.zeros_like(theta) if need_th else None
        acc = {"x": None, "y": None, "ax": None, "ay": None}

        def add(key, val):
            if val is not None:
                acc[key] = val if acc[key] is None else acc[key] + val

        def run(rc, cc, aux_r, aux_c, a, b, c, e, s, within, want_x, want_aux, th_scale):
            if a is None and c is None and s is None:
                return None, None
            want_th = need_th and th_scale != 0.0
            o = row_pass_op(rc, cc, center, aux_r, aux_c, a, b, c, e, s, None, None, theta,
                            fam_l, within, want_x, False, want_th, want_aux, precision)
            if want_th:
                gth.add_(th_scale * o[2])
            return _opt(o[0], want_x), aux_grad(o[3], theta, fam)

        ones_m, ones_n = _ones(m, xc), _ones(n, xc)
        if need_x or need_th or need_ax:
            gxx, gaxx = run(xc, xc, aux_x, aux_x, ga, None if ga is None else ones_m,
                            None if ga is None else ones_m, ga, sq[0], True, need_x, need_ax, 0.5)
            add("x", gxx)
            add("ax", gaxx)
            gxy, gaxy = run(xc, yc, aux_x, aux_y, gc, None if gc is None else ones_n,
                            None if gcp is None else ones_m, gcp, sq[2], False, need_x,
                            need_ax, 1.0)
            add("x", gxy)
            add("ax", gaxy)
        if need_y or need_th or need_ay:
            gyy, gayy = run(yc, yc, aux_y, aux_y, gb, None if gb is None else ones_n,
                            None if gb is None else ones_n, gb, sq[1], True, need_y, need_ay, 0.5)
            add("y", gyy)
            add("ay", gayy)
        if need_y or need_ay:
            gyx, gayx = run(yc, xc, aux_y, aux_x, gcp, None if gcp is None else ones_m,
                            None if gc is None else ones_n, gc, sq[2], False, need_y, need_ay,
                            0.0)
            add("y", gyx)
            add("ay", gayx)
        return None, acc["x"], acc["y"], gth, acc["ax"], acc["ay"], None


def mmd_stats(x: Tensor, y: Tensor, kernel: Kernel, *, squares: bool) -> MMDStats:
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    p = prepare(x, y, kernel)
    spec = (p.packed.fam, squares, runtime.current_precision())
    a, b, c, cp, sq = TritonMMDStats.apply(spec, p.xc, p.yc, p.packed.theta, p.aux_x, p.aux_y,
                                           p.center)
    if squares:
        return MMDStats(a, b, c, cp, sq[0], sq[1], sq[2])
    return MMDStats(a, b, c, cp, None, None, None)
