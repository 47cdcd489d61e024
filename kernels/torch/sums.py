"""Row sums, column sums and squared sums of a kernel matrix, tile by tile (SPEC §2).

``PairwiseSums`` is the fused op of the PyTorch backend; its forward never holds more than one
tile, and its backward recomputes each tile with autograd enabled on that tile alone (nothing
m×n is saved). The kernel's ``matrix(tile)`` is the reference formula of every family.

First-order gradients reach x, y, both weight vectors and every kernel tensor. Second-order
gradients (``create_graph=True``, e.g. a witness gradient penalty, 002 §5) are supported by
recomputing the tiles inside the graph: that graph holds the tiles, so its memory is O(m·n) —
meant for minibatches.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdecore.families import Kernel
from kdecore.tile import Tile

from ..autograd import optional_outputs, requested_cotangents
from .tiling import Block, accumulator, blocks, exclude_self_pairs, on_data, pooled_center


def _tile_matrix(kernel: Kernel, xs: Tensor, ys: Tensor, center: Tensor, blk: Block) -> Tensor:
    tile = Tile(xs, ys, center)
    k = kernel.matrix(tile)
    if blk.diagonal:
        k = exclude_self_pairs(k, blk, 0.0, inplace=tile.inplace and not tile.caches(k))
    return k


def _forward(x: Tensor, y: Tensor | None, kernel: Kernel, wx: Tensor | None,
             wy: Tensor | None, rows: bool, cols: bool, squares: bool):
    within = y is None
    ys_all = x if within else y
    center = pooled_center(x, y)
    acc_r = accumulator(x.shape[0], x) if rows else None
    acc_c = accumulator(ys_all.shape[0], x) if cols else None
    acc_s = accumulator(1, x) if squares else None
    for blk in blocks(x.shape[0], None if within else y.shape[0], x.device):
        k = _tile_matrix(kernel, x[blk.i0:blk.i1], ys_all[blk.j0:blk.j1], center, blk)
        if rows:
            r = k.sum(1) if wy is None else k @ wy[blk.j0:blk.j1]
            acc_r[blk.i0:blk.i1] += r
            if blk.mirrored:
                c = k.sum(0) if wy is None else wy[blk.i0:blk.i1] @ k
                acc_r[blk.j0:blk.j1] += c
        if cols:
            acc_c[blk.j0:blk.j1] += k.sum(0) if wx is None else wx[blk.i0:blk.i1] @ k
        if squares:
            flat = k.reshape(-1)
            acc_s += torch.dot(flat, flat) * (2.0 if blk.mirrored else 1.0)
    dt = x.dtype
    return (acc_r.to(dt) if rows else None, acc_c.to(dt) if cols else None,
            acc_s[0].to(dt) if squares else None)


def _tile_objective(k: Tensor, blk: Block, g_r: Tensor | None, g_c: Tensor | None,
                    g_s: Tensor | None, wx: Tensor | None, wy: Tensor | None,
                    wy_mirror: Tensor | None, within: bool) -> Tensor:
    """Σ g·(the tile's contribution to each output): its gradient is the tile's share."""
    s = k.new_zeros(())
    if g_r is not None:
        gi = g_r[blk.i0:blk.i1]
        s = s + (gi @ k.sum(1) if wy is None else gi @ (k @ wy))
        if blk.mirrored:
            gj = g_r[blk.j0:blk.j1]
            s = s + (gj @ k.sum(0) if wy_mirror is None else (wy_mirror @ k) @ gj)
    if g_c is not None:
        gj = g_c[blk.j0:blk.j1]
        s = s + (k.sum(0) @ gj if wx is None else (wx @ k) @ gj)
    if g_s is not None:
        s = s + g_s * (k * k).sum() * (2.0 if blk.mirrored else 1.0)
    return s


class PairwiseSums(torch.autograd.Function):
    """(rows, cols, squares) of Σ_j w_j k(x_i, y_j) and friends; see :func:`sums`."""

    @staticmethod
    def forward(ctx, kernel, flags, x, y, wx, wy, *tensors):
        rows, cols, squares = flags
        out = _forward(x, y, on_data(kernel, tensors, x), wx, wy, rows, cols, squares)
        ctx.kernel, ctx.flags = kernel, flags
        ctx.save_for_backward(x, y, wx, wy, *tensors)
        return optional_outputs(ctx, out, x)

    @staticmethod
    def backward(ctx, g_r, g_c, g_s):
        x, y, wx, wy, *tensors = ctx.saved_tensors
        needs = ctx.needs_input_grad[2:]
        cotangents = requested_cotangents(ctx.flags, g_r, g_c, g_s)
        if cotangents is None:
            return (None, None, *([None] * len(needs)))
        g_r, g_c, g_s = cotangents
        within = y is None
        if torch.is_grad_enabled():
            grads = _backward_graph(ctx.kernel, x, y, wx, wy, tensors, needs, g_r, g_c, g_s)
        else:
            grads = _backward_tiles(ctx.kernel, x, y, wx, wy, tensors, needs, g_r, g_c, g_s,
                                    within)
        return (None, None, *grads)


def _backward_tiles(kernel, x, y, wx, wy, tensors, needs, g_r, g_c, g_s, within):
    """First-order backward: each tile recomputed on detached leaves, its gradient added."""
    need_x, need_y, need_wx, need_wy, *need_t = needs
    ys_all = x if within else y
    center = pooled_center(x, y)
    gx = torch.zeros_like(x) if need_x or (within and need_y) else None
    gy = torch.zeros_like(y) if (need_y and not within) else None
    gwx = torch.zeros_like(wx) if need_wx else None
    gwy = torch.zeros_like(wy) if need_wy else None
    gt = [torch.zeros_like(t) if n else None for t, n in zip(tensors, need_t, strict=True)]
    for blk in blocks(x.shape[0], None if within else y.shape[0], x.device):
        with torch.enable_grad():
            xs = x[blk.i0:blk.i1].detach().requires_grad_(gx is not None)
            ys = ys_all[blk.j0:blk.j1].detach().requires_grad_(
                gx is not None if within else gy is not None)
            ts = [t.detach().requires_grad_(n) for t, n in zip(tensors, need_t, strict=True)]
            wxs = None if wx is None else wx[blk.i0:blk.i1].detach().requires_grad_(need_wx)
            wys = None if wy is None else wy[blk.j0:blk.j1].detach().requires_grad_(need_wy)
            wym = (None if wy is None or not blk.mirrored
                   else wy[blk.i0:blk.i1].detach().requires_grad_(need_wy))
            k = _tile_matrix(kernel.with_tensors(ts), xs, ys, center, blk)
            s = _tile_objective(k, blk, g_r, g_c, g_s, wxs, wys, wym, within)
            leaves = [v for v in (xs, ys, wxs, wys, wym, *ts)
                      if v is not None and v.requires_grad]
            if not leaves or not s.requires_grad:
                continue
            got = iter(torch.autograd.grad(s, leaves, allow_unused=True))
        for v in (xs, ys, wxs, wys, wym, *ts):
            if v is None or not v.requires_grad:
                continue
            g = next(got)
            if g is None:
                continue
            if v is xs:
                gx[blk.i0:blk.i1] += g
            elif v is ys:
                (gx if within else gy)[blk.j0:blk.j1] += g
            elif v is wxs:
                gwx[blk.i0:blk.i1] += g
            elif v is wys:
                gwy[blk.j0:blk.j1] += g
            elif v is wym:
                gwy[blk.i0:blk.i1] += g
            else:
                idx = next(i for i, t in enumerate(ts) if t is v)
                gt[idx] += g
    gxo = gx if need_x else None
    return (gxo, gy, gwx, gwy, *gt)


def _backward_graph(kernel, x, y, wx, wy, tensors, needs, g_r, g_c, g_s):
    """Differentiable backward (``create_graph=True``): tiles recomputed inside the graph.

    Every input is re-entered through its own view, so that an input passed twice (``x`` as
    both points, one weight vector for both sides) gets each use's partial derivative in its
    own slot rather than the total twice."""
    x, y, wx, wy, *tensors = [None if v is None else v.view_as(v)
                              for v in (x, y, wx, wy, *tensors)]
    within = y is None
    ys_all = x if within else y
    center = pooled_center(x, y)
    kern = on_data(kernel, tensors, x)
    total = x.new_zeros(())
    for blk in blocks(x.shape[0], None if within else y.shape[0], x.device):
        k = _tile_matrix(kern, x[blk.i0:blk.i1], ys_all[blk.j0:blk.j1], center, blk)
        total = total + _tile_objective(
            k, blk, g_r, g_c, g_s,
            None if wx is None else wx[blk.i0:blk.i1],
            None if wy is None else wy[blk.j0:blk.j1],
            None if (wy is None or not blk.mirrored) else wy[blk.i0:blk.i1], within)
    inputs = [x, y, wx, wy, *tensors]
    want = [i for i, (v, n) in enumerate(zip(inputs, needs, strict=True))
            if n and v is not None]
    out: list[Tensor | None] = [None] * len(inputs)
    if want and total.requires_grad:
        got = torch.autograd.grad(total, [inputs[i] for i in want], create_graph=True,
                                  allow_unused=True)
        for i, g in zip(want, got, strict=True):
            out[i] = g
    return out


def sums(x: Tensor, y: Tensor | None, kernel: Kernel, x_weights: Tensor | None,
         y_weights: Tensor | None, *, rows: bool, cols: bool, squares: bool):
    """Backend entry point (see ``kdecore._kernels`` for the contract)."""
    out = PairwiseSums.apply(kernel, (rows, cols, squares), x, y, x_weights, y_weights,
                             *kernel.tensors())
    return tuple(o if flag else None for o, flag in zip(out, (rows, cols, squares),
                                                        strict=True))
