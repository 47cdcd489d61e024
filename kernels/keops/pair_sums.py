"""Row sums, column sums and squared sums of a kernel matrix through KeOps (SPEC §2).

Forward: one KeOps ``Sum`` reduction over j of ``(w_j, 1) ⊙ (k_ij, k_ij²)`` gives the rows and
the per-row squared sums in one pass; column sums are the same formula with the two sets
swapped (every family is symmetric, k(x, y) = k(y, x)), so they reuse its compiled code.

Within-set variant (``y=None``): the diagonal is skipped *inside* the formula — each point
carries an exact integer id and ``IfElse`` replaces k_ii by 0 (:func:`~.formulas.skip_same`) —
rather than by subtracting k(x_i, x_i) afterwards, which would cancel catastrophically when
the off-diagonal sum is small (far-apart points). Two sets get disjoint ids, so the same
compiled formula serves both variants. KeOps evaluates every ordered pair (no symmetry saving).

Backward (first order; ``once_differentiable``): the cotangents g (rows), h (cols), g_s
(squares) make the pair objective a_ij = (g_i w_j + v_i h_j) k_ij + g_s k_ij² =
⟨P_i, Q_j⟩ k_ij + g_s k_ij² with P_i = (g_i, v_i), Q_j = (w_j, h_j). One formula reduces KeOps'
symbolic gradient ``Grad(k, ·, e)``, e = ⟨P_i, Q_j⟩ + 2 g_s k_ij, over j: ∂/∂x_i, ∂/∂(per-point
features) and ∂/∂(kernel parameters) together. The same formula with the sets (and P, Q)
swapped gives ∂/∂y_j. Within a set, P = (g, w), Q = (w, g) and 2 g_s cover both roles of each
point in one call. Weight gradients are forward sums with the cotangents as weights. So a
kernel structure costs two compiled formulas for its sums and all their gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.families import Kernel

from ..autograd import first_order, optional_outputs, requested_cotangents
from .formulas import Plan, Side, concat, pair_aliases, pair_args, sides, skip_same, value_plan
from .runtime import reduce


def _row_sums(plan: Plan, params, i: Side, j: Side, w: Tensor) -> Tensor:
    """out_i = [Σ_j w_j k(x_i, x_j), Σ_j k(x_i, x_j)²] over the pairs of distinct ids, (m, 2).

    The squared sums ride along with every call (one multiply-add per pair), so one compiled
    formula serves rows, cols, squares and the weight gradients. W_j = (w_j, 1) multiplies a
    Concat, which KeOps' algebraic simplifications leave alone, so ``Factorize`` finds k twice
    and evaluates it once."""
    core = skip_same(plan.formula)
    formula = f"Factorize(W*Concat({core},Square({core})),{core})"
    aliases = [*pair_aliases(i.points.shape[1], plan.nf), "W=Vj(2)", *plan.param_aliases]
    args = [*pair_args(i, j), torch.stack([w, torch.ones_like(w)], 1), *params]
    return reduce(formula, aliases, "Sum", 1, *args)


def _row_gradients(plan: Plan, params, i: Side, j: Side, p: Tensor, q: Tensor,
                   gs: Tensor) -> Tensor:
    """Σ_j ∇_{x_i, f_i, θ} [⟨P_i, Q_j⟩ k_ij + g_s k_ij²], shape (m, d + nf + Σ dim θ)."""
    core = skip_same(plan.formula)
    e = f"(P|Q)+IntCst(2)*gs*{core}"
    wrt = ["x", *(["fi"] if plan.nf else []), *plan.param_names]
    formula = f"Factorize({concat([f'Grad({core},{v},{e})' for v in wrt])},{core})"
    aliases = [*pair_aliases(i.points.shape[1], plan.nf), "P=Vi(2)", "Q=Vj(2)", "gs=Pm(1)",
               *plan.param_aliases]
    args = [*pair_args(i, j), p, q, gs.reshape(1), *params]
    return reduce(formula, aliases, "Sum", 1, *args)


def split_gradients(out: Tensor, d: int, nf: int, params) -> tuple[Tensor, Tensor, list[Tensor]]:
    """(∂x (m, d), ∂features (m, nf), [∂θ_k summed over the rows]) of a gradient reduction."""
    gp, k = [], d + nf
    for t in params:
        gp.append(out[:, k:k + t.numel()].sum(0).reshape(t.shape))
        k += t.numel()
    return out[:, :d], out[:, d:d + nf], gp


def _ones(n: int, like: Tensor) -> Tensor:
    return torch.ones(n, dtype=like.dtype, device=like.device)


def _total(per_row: Tensor) -> Tensor:
    return per_row.sum(dtype=torch.float64).to(per_row.dtype)


def _forward(plan, x, y, wx, wy, fx, fy, params, rows, cols, squares):
    a, b = sides(x, y, fx, fy)
    if y is None:
        out = _row_sums(plan, params, a, b, _ones(x.shape[0], x) if wy is None else wy)
        return out[:, 0], None, _total(out[:, 1]) if squares else None
    r_out = c_out = None
    if rows or not cols:
        r_out = _row_sums(plan, params, a, b, _ones(y.shape[0], x) if wy is None else wy)
    if cols:
        c_out = _row_sums(plan, params, b, a, _ones(x.shape[0], x) if wx is None else wx)
    sq = (r_out if r_out is not None else c_out)[:, 1]
    return (r_out[:, 0] if rows else None, c_out[:, 0] if cols else None,
            _total(sq) if squares else None)


class KeOpsSums(torch.autograd.Function):
    """(rows, cols, squares) of K = [k(x_i, y_j)] with KeOps; see the module docstring."""

    @staticmethod
    def forward(ctx, plan, flags, x, y, wx, wy, fx, fy, *params):
        res = _forward(plan, x, y, wx, wy, fx, fy, params, *flags)
        ctx.plan, ctx.flags = plan, flags
        ctx.save_for_backward(x, y, wx, wy, fx, fy, *params)
        return optional_outputs(ctx, res, x)

    @staticmethod
    @first_order("keops")
    def backward(ctx, g_r, g_c, g_s):
        x, y, wx, wy, fx, fy, *params = ctx.saved_tensors
        needs = ctx.needs_input_grad[2:]
        cotangents = requested_cotangents(ctx.flags, g_r, g_c, g_s)
        if cotangents is None:
            return (None, None, *([None] * len(needs)))
        g_r, g_c, g_s = cotangents
        if y is None:
            grads = _within_backward(ctx.plan, x, wy, fx, params, needs, g_r, g_s)
        else:
            grads = _cross_backward(ctx.plan, x, y, wx, wy, fx, fy, params, needs, g_r, g_c,
                                    g_s)
        return (None, None, *grads)


def _within_backward(plan, x, w, fx, params, needs, g_r, g_s):
    need_x, _, _, need_w, need_fx, _, *need_p = needs
    m, d = x.shape
    grads: list[Tensor | None] = [None] * len(needs)
    a, b = sides(x, None, fx, None)
    g = g_r if g_r is not None else x.new_zeros(m)
    w = w if w is not None else _ones(m, x)
    gs = g_s if g_s is not None else x.new_zeros(())
    if need_x or need_fx or any(need_p):
        # both roles of each point at once: e = ⟨(g_l, w_l), (w_j, g_j)⟩ + 2·(2 g_s)·k
        out = _row_gradients(plan, params, a, b, torch.stack([g, w], 1),
                             torch.stack([w, g], 1), 2 * gs)
        gx, gfx, gp = split_gradients(out, d, plan.nf, params)
        grads[0] = gx if need_x else None
        grads[4] = gfx if need_fx else None
        for k, t in enumerate(gp):  # the double sum counted each unordered pair twice
            grads[6 + k] = 0.5 * t if need_p[k] else None
    if need_w and g_r is not None:
        grads[3] = _row_sums(plan, params, a, b, g_r)[:, 0]
    return grads


def _cross_backward(plan, x, y, wx, wy, fx, fy, params, needs, g_r, g_c, g_s):
    need_x, need_y, need_wx, need_wy, need_fx, need_fy, *need_p = needs
    (m, d), n = x.shape, y.shape[0]
    grads: list[Tensor | None] = [None] * len(needs)
    a, b = sides(x, y, fx, fy)
    p = torch.stack([g_r if g_r is not None else x.new_zeros(m),
                     wx if wx is not None else _ones(m, x)], 1)
    q = torch.stack([wy if wy is not None else _ones(n, x),
                     g_c if g_c is not None else x.new_zeros(n)], 1)
    gs = g_s if g_s is not None else x.new_zeros(())
    if need_x or need_fx or any(need_p):
        gx, gfx, gp = split_gradients(_row_gradients(plan, params, a, b, p, q, gs), d,
                                      plan.nf, params)
        grads[0] = gx if need_x else None
        grads[4] = gfx if need_fx else None
        for k, t in enumerate(gp):
            grads[6 + k] = t if need_p[k] else None
    if need_y or need_fy:
        gy, gfy, _ = split_gradients(_row_gradients(plan, params, b, a, q, p, gs), d,
                                     plan.nf, params)
        grads[1] = gy if need_y else None
        grads[5] = gfy if need_fy else None
    if need_wx and g_c is not None:
        grads[2] = _row_sums(plan, params, a, b, g_c)[:, 0]
    if need_wy and g_r is not None:
        grads[3] = _row_sums(plan, params, b, a, g_r)[:, 0]
    return grads


def sums(x: Tensor, y: Tensor | None, kernel: Kernel, x_weights: Tensor | None,
         y_weights: Tensor | None, *, rows: bool, cols: bool, squares: bool):
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    plan = value_plan(kernel, x.shape[1], x)
    fx = plan.point_features(x)
    fy = None if y is None else plan.point_features(y)
    out = KeOpsSums.apply(plan, (rows, cols, squares), x, y, x_weights, y_weights, fx, fy,
                          *plan.params)
    return tuple(o if flag else None for o, flag in zip(out, (rows, cols, squares),
                                                        strict=True))
