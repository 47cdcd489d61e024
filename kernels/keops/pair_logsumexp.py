"""Log-sum-exp of a positive kernel through KeOps' LogSumExp reduction (SPEC §2–3).

``L_i = log Σ_j exp(log w_j + log k(x_i, y_j))`` with KeOps' online-maximum reduction: finite
far from every data point (log-KDE without underflow). ``log k`` is built from the families'
log-components (:func:`~.formulas.log_plan`), never as the log of an underflowed sum.

Skipped pairs (the within-set diagonal, found by point ids as in :mod:`.pair_sums`) and
log-weights of −∞ take the finite value −``BIG`` (a quarter of the dtype's maximum): KeOps'
running maximum starts at −∞, and an entry of exactly −∞ would make it evaluate exp(−∞ + ∞).
Rows whose every entry was skipped come back as −∞, as from the torch backend. Missing
log-weights are zeros, so one compiled formula serves weighted and unweighted calls, within
a set and across two.

Backward (first order): with P_ij = exp(s_ij − L_i) the softmax weights and g the cotangent,
∂/∂x_i and ∂/∂θ come from one reduction over j of ``Grad(s, ·, g_i P_ij)``; ∂/∂y_j and
∂/∂log w_j = Σ_i g_i P_ij from one reduction over i: two more compiled formulas.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.families import Kernel

from ..autograd import first_order
from .formulas import Plan, concat, log_plan, pair_aliases, pair_args, sides, skip_same
from .pair_sums import split_gradients
from .runtime import reduce


def big(dtype: torch.dtype) -> float:
    """The finite stand-in for +∞ in log-domain formulas."""
    return torch.finfo(dtype).max / 4


def _logits(plan: Plan) -> str:
    return skip_same(f"{plan.formula}+lw", fill="neg")


class KeOpsLogSumExp(torch.autograd.Function):
    """L_i = log Σ_j w_j k(x_i, y_j) with KeOps; see the module docstring."""

    @staticmethod
    def forward(ctx, plan, x, y, lw, fx, fy, *params):
        a, b = sides(x, y, fx, fy)
        out = reduce(_logits(plan), _aliases(plan, x.shape[1], []), "LogSumExp", 1,
                     *_args(plan, params, a, b, lw, []))[:, 0]
        out = out.masked_fill(out < -0.5 * big(x.dtype), float("-inf"))
        ctx.plan = plan
        ctx.save_for_backward(x, y, lw, fx, fy, out, *params)
        return out

    @staticmethod
    @first_order("keops")
    def backward(ctx, g):
        x, y, lw, fx, fy, out, *params = ctx.saved_tensors
        plan: Plan = ctx.plan
        need_x, need_y, need_lw, need_fx, need_fy, *need_p = ctx.needs_input_grad[1:]
        within = y is None
        d, nf = x.shape[1], plan.nf
        a, b = sides(x, y, fx, fy)
        finite = torch.isfinite(out)
        g = torch.where(finite, g, torch.zeros_like(g)).reshape(-1, 1)
        lse = torch.where(finite, out, torch.zeros_like(out)).reshape(-1, 1)
        s = _logits(plan)
        coef = f"g*Exp({s}-L)"
        aliases = _aliases(plan, d, ["g=Vi(1)", "L=Vi(1)"])
        args = _args(plan, params, a, b, lw, [g, lse])
        grads: list[Tensor | None] = [None] * (5 + len(params))
        if need_x or need_fx or any(need_p):
            wrt = ["x", *(["fi"] if nf else []), *plan.param_names]
            rows = reduce(f"Factorize({concat([f'Grad({s},{v},{coef})' for v in wrt])},{s})",
                          aliases, "Sum", 1, *args)
            gx, gfx, gp = split_gradients(rows, d, nf, params)
            grads[0], grads[3] = gx, gfx
            grads[5:] = gp
        if need_y or need_fy or need_lw or (within and (need_x or need_fx)):
            wrt = [f"Grad({s},{v},{coef})" for v in ["y", *(["fj"] if nf else [])]]
            cols = reduce(f"Factorize({concat([*wrt, coef])},{s})", aliases, "Sum", 0, *args)
            gy, gfy, glw = cols[:, :d], cols[:, d:d + nf], cols[:, d + nf]
            if within:  # the columns are the same points: add their second role
                grads[0] = gy if grads[0] is None else grads[0] + gy
                grads[3] = gfy if grads[3] is None else grads[3] + gfy
            else:
                grads[1], grads[4] = gy, gfy
            grads[2] = glw
        flags = [need_x, need_y, need_lw, need_fx, need_fy, *need_p]
        return (None, *(gr if f else None for gr, f in zip(grads, flags, strict=True)))


def _aliases(plan: Plan, d: int, extra: list[str]) -> list[str]:
    return [*pair_aliases(d, plan.nf), "lw=Vj(1)", *extra, "neg=Pm(1)", *plan.param_aliases]


def _args(plan: Plan, params, a, b, lw: Tensor | None, extra: list[Tensor]) -> list[Tensor]:
    x = a.points
    n = b.points.shape[0]
    lw = x.new_zeros(n) if lw is None else lw.clamp_min(-big(x.dtype))
    neg = torch.full((1,), -big(x.dtype), dtype=x.dtype, device=x.device)
    return [*pair_args(a, b), lw.reshape(-1, 1), *extra, neg, *params]


def logsumexp(x: Tensor, y: Tensor | None, kernel: Kernel, y_log_weights: Tensor | None):
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    plan = log_plan(kernel, x.shape[1], x)
    fx = plan.point_features(x)
    fy = None if y is None else plan.point_features(y)
    return KeOpsLogSumExp.apply(plan, x, y, y_log_weights, fx, fy, *plan.params)
