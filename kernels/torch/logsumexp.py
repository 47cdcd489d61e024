"""Log-sum-exp of a positive kernel, tile by tile, with an online maximum (SPEC §2–3).

``L_i = log Σ_j exp(log w_j + log k(x_i, y_j))`` — log-KDE without underflow: a query far from
every data point gets a finite log-density instead of log(0). The running-max rescaling of
FlashAttention keeps each tile's exponentials ≤ 1. The backward recomputes each tile and weighs
its log-kernel gradient by P_ij = exp(log w_j + log k_ij − L_i) (once differentiable).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from kdecore.families import Kernel
from kdecore.tile import LOG2E, Tile

from .tiling import Block, blocks, exclude_self_pairs, on_data, pooled_center


def _tile_logits(kernel: Kernel, xs: Tensor, ys: Tensor, center: Tensor, logw: Tensor | None,
                 blk: Block | None) -> Tensor:
    """log w_j + log k(x_i, y_j) on one tile; ``blk`` given for within-set tiles (self pairs
    get −inf)."""
    tile = Tile(xs, ys, center)
    s = kernel.log_matrix(tile)
    inplace = tile.inplace  # the forward pass: ``s`` is a fresh tile that may be updated
    if logw is not None:
        s = s.add_(logw) if inplace else s + logw
    if blk is not None:
        s = exclude_self_pairs(s, blk, float("-inf"), inplace=inplace)
    return s


def _forward(x: Tensor, y: Tensor | None, kernel: Kernel, logw: Tensor | None) -> Tensor:
    within = y is None
    ys_all = x if within else y
    center = pooled_center(x, y)
    m = x.shape[0]
    run_max = torch.full((m,), float("-inf"), dtype=torch.float64, device=x.device)
    run_sum = torch.zeros(m, dtype=torch.float64, device=x.device)
    # every tile of the full m×n grid (symmetry does not help an online maximum per row)
    for blk in blocks(m, ys_all.shape[0], x.device):
        s = _tile_logits(kernel, x[blk.i0:blk.i1], ys_all[blk.j0:blk.j1], center,
                         None if logw is None else logw[blk.j0:blk.j1],
                         blk if within else None)
        tmax = s.amax(1).to(torch.float64)
        old = run_max[blk.i0:blk.i1]
        new = torch.maximum(old, tmax)
        ref = torch.where(torch.isinf(new), torch.zeros_like(new), new)
        # a tile row (≤ a few thousand terms ≤ 1) sums accurately in its own dtype; summing with
        # dtype=float64 would first copy the whole tile to float64
        part = s.sub_(ref.to(s.dtype).unsqueeze(1)).mul_(LOG2E).exp2_().sum(1).to(torch.float64)
        run_sum[blk.i0:blk.i1] = run_sum[blk.i0:blk.i1] * torch.exp(old - ref) + part
        run_max[blk.i0:blk.i1] = new
    ref = torch.where(torch.isinf(run_max), torch.zeros_like(run_max), run_max)
    return (torch.log(run_sum) + ref).to(x.dtype)


class PairwiseLogSumExp(torch.autograd.Function):
    """L_i = log Σ_j w_j k(x_i, y_j) for a positive kernel; see :func:`logsumexp`."""

    @staticmethod
    def forward(ctx, kernel, x, y, logw, *tensors):
        out = _forward(x, y, on_data(kernel, tensors, x), logw)
        ctx.kernel = kernel
        ctx.save_for_backward(x, y, logw, out, *tensors)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, y, logw, out, *tensors = ctx.saved_tensors
        need_x, need_y, need_w, *need_t = ctx.needs_input_grad[1:]
        within = y is None
        ys_all = x if within else y
        center = pooled_center(x, y)
        gx = torch.zeros_like(x) if need_x else None
        gy = torch.zeros_like(y) if need_y else None
        gw = torch.zeros_like(logw) if need_w else None
        gt = [torch.zeros_like(t) if n else None for t, n in zip(tensors, need_t, strict=True)]
        for blk in blocks(x.shape[0], ys_all.shape[0], x.device):
            with torch.enable_grad():
                xs = x[blk.i0:blk.i1].detach().requires_grad_(need_x)
                ys = ys_all[blk.j0:blk.j1].detach().requires_grad_(
                    need_x if within else need_y)
                ws = None if logw is None else logw[blk.j0:blk.j1].detach().requires_grad_(
                    need_w)
                ts = [t.detach().requires_grad_(n) for t, n in zip(tensors, need_t,
                                                                   strict=True)]
                s = _tile_logits(ctx.kernel.with_tensors(ts), xs, ys, center, ws,
                                 blk if within else None)
                p = torch.exp(s.detach() - out[blk.i0:blk.i1].unsqueeze(1))
                coef = p * g[blk.i0:blk.i1].unsqueeze(1)
                obj = (coef * torch.where(p > 0, s, torch.zeros_like(s))).sum()
                leaves = [v for v in (xs, ys, ws, *ts) if v is not None and v.requires_grad]
                if not leaves or not obj.requires_grad:
                    continue
                got = torch.autograd.grad(obj, leaves, allow_unused=True)
            for v, gv in zip(leaves, got, strict=True):
                if gv is None:
                    continue
                if v is xs:
                    gx[blk.i0:blk.i1] += gv
                elif v is ys:
                    (gx if within else gy)[blk.j0:blk.j1] += gv
                elif v is ws:
                    gw[blk.j0:blk.j1] += gv
                else:
                    gt[next(i for i, t in enumerate(ts) if t is v)] += gv
        return (None, gx, gy, gw, *gt)


def logsumexp(x: Tensor, y: Tensor | None, kernel: Kernel, y_log_weights: Tensor | None):
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    return PairwiseLogSumExp.apply(kernel, x, y, y_log_weights, *kernel.tensors())
