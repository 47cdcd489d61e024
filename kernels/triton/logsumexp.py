"""Log-sum-exp of a positive kernel through the fused Triton kernels (SPEC §2–3).

Forward: one launch of :func:`.lse_kernel.lse_fwd` (online maximum over columns and mixture
components). Backward: ∂L_i/∂(·) = Σ_j P_ij ∂log k_ij/∂(·) with P_ij = w_j k_ij e^(−L_i), i.e.
the row pass (:mod:`.row_pass`) of the *shifted* kernel k̃_ij = k_ij 2^(SR_i + SC_j), the shift
carrying log₂ w_j − L_i log₂ e inside each exponent (no e^(−L) overflow). Cross: one pass for
x and θ (coefficient g_i), one transposed pass for y and the log-weights (GC_j = Σ_i P_ij g_i).
Within-set: L_i and L_j both depend on the pair (i, j), with different shifts, so two passes
over the full square. Reference: :class:`kdecore._kernels.torch.logsumexp.PairwiseLogSumExp`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kdecore.families import Kernel

from ..autograd import first_order
from . import runtime
from .ops import lse_op, row_pass_op
from .packing import is_positive
from .prepare import prepare
from .sums import _ones, _opt

LOG2E = 1.0 / math.log(2.0)


class TritonPairwiseLogSumExp(torch.autograd.Function):
    """L_i = log Σ_j w_j k(x_i, y_j) for a positive kernel, fused; see the module doc."""

    @staticmethod
    def forward(ctx, spec, xc, yc, lw, theta):
        fam, precision = spec
        out = lse_op(xc, yc, lw, theta, list(fam), precision)
        ctx.spec = spec
        ctx.save_for_backward(xc, yc, lw, theta, out)
        return out

    @staticmethod
    @first_order("triton")
    def backward(ctx, g):
        xc, yc, lw, theta, out = ctx.saved_tensors
        fam, precision = ctx.spec
        need_x, need_y, need_lw, need_th = ctx.needs_input_grad[1:5]
        within = yc is None
        n = xc.shape[0] if within else yc.shape[0]
        # −L log₂e per row (0 where L = −inf: that row's terms are all 0 anyway)
        neg_l = torch.where(torch.isinf(out), torch.zeros_like(out), -out * LOG2E)
        lw2 = lw * LOG2E if lw is not None else torch.zeros(n, dtype=xc.dtype,
                                                            device=xc.device)
        zero = xc.new_zeros(xc.shape[1])
        ph = xc.new_zeros(1)
        fam_l = list(fam)
        gx = gy = glw = gth = None
        ycc = xc if within else yc
        if need_x or need_th:
            o = row_pass_op(xc, ycc, zero, ph, ph, g, _ones(n, xc), None, None, None, neg_l, lw2,
                            theta, fam_l, within, need_x, False, need_th, False, precision)
            gx, gth = _opt(o[0], need_x), _opt(o[2], need_th)
        if (need_y or need_lw) if not within else (need_x or need_lw):
            # rows = the column points j: coefficient g_i, shift log₂w_j − L_i log₂e
            o = row_pass_op(ycc, xc, zero, ph, ph, None, None, _ones(n, xc), g, None, lw2, neg_l,
                            theta, fam_l, within, need_x if within else need_y, need_lw, False,
                            False, precision)
            glw = _opt(o[1], need_lw)
            if within:
                gx = _opt(o[0], need_x) if gx is None else gx + o[0]
            else:
                gy = _opt(o[0], need_y)
        return None, gx, gy, glw, gth


def logsumexp(x: Tensor, y: Tensor | None, kernel: Kernel, y_log_weights: Tensor | None):
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    p = prepare(x, y, kernel)
    if not is_positive(p.packed.fam):
        raise TypeError(f"{kernel!r} has a term without a log-domain form; log-sum-exp needs "
                        "a positive kernel (rbf, rq, laplacian)")
    spec = (p.packed.fam, runtime.current_precision())
    return TritonPairwiseLogSumExp.apply(spec, p.xc, p.yc, y_log_weights, p.packed.theta)
