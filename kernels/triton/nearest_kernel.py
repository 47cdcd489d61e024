"""Kernel of the nearest-neighbour search: a tiled min/argmin of squared distances (SPEC §2,
§7 ENN).

Each program keeps, for its rows, the smallest r² seen and its column; ties keep the first
(smallest) index, as ``torch.min`` does. Column splits write one candidate per split and the
host picks the smallest (value, index) pair.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from . import launch, runtime
from .tile_ops import program_rows, row_side, stats


@triton.autotune(configs=launch.candidates("fwd"), key=["d", "SIZE", "PREC", "WITHIN"],
                 prune_configs_by={"early_config_prune": launch.pruner("fwd")})
@triton.jit
def nearest_fwd(XC, YC, XN, YN, OUTV, OUTI, M, N, d, SIZE, DIRECT_D: tl.constexpr,
                ONE_K: tl.constexpr, WITHIN: tl.constexpr, PREC: tl.constexpr,
                BK: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    _pid, sid, n_split, rows, rmask = program_rows(M, BM)
    xn, xa, xt = row_side(XC, XN, XN, rows, rmask, d, True, False, ONE_K, DIRECT_D, BK)
    best = tl.full((BM,), float("inf"), XC.dtype.element_ty)
    arg = tl.zeros((BM,), dtype=tl.int64)
    for jb in range(sid, tl.cdiv(N, BN), n_split):
        cols = jb * BN + tl.arange(0, BN)
        cmask = cols < N
        r2, _dot = stats(XC, YC, YN, YN, rows, cols, rmask, cmask, d, xt, xn, xa, True, False,
                      DIRECT_D, ONE_K, BM, BN, BK, PREC)
        r2 = tl.where(cmask[None, :], r2, float("inf"))
        if WITHIN:
            r2 = tl.where(rows[:, None] == cols[None, :], float("inf"), r2)
        val, idx = tl.min(r2, 1, return_indices=True)
        better = val < best
        best = tl.where(better, val, best)
        arg = tl.where(better, (idx + jb * BN).to(tl.int64), arg)
    offs = sid.to(tl.int64) * M + rows
    tl.store(OUTV + offs, best, mask=rmask)
    tl.store(OUTI + offs, arg, mask=rmask)


def launch_nearest(xc: Tensor, yc: Tensor | None, precision: str) -> tuple[Tensor, Tensor]:
    """(min_j r², argmin_j) for centred points; ``yc=None`` skips j = i."""
    zero = xc.new_zeros(xc.shape[1])
    xs = launch.side(xc, zero, True, False)
    ys = xs if yc is None else launch.side(yc, zero, True, False)
    m, n, d = xs.n, ys.n, xc.shape[1]
    grid = launch.grid2(m, n, xc.device)
    n_split = max(grid(c.all_kwargs())[1] for c in launch.candidates("fwd"))
    vals = torch.full((n_split, m), float("inf"), dtype=xc.dtype, device=xc.device)
    idx = torch.zeros((n_split, m), dtype=torch.int64, device=xc.device)
    nearest_fwd[grid](xs.pts, ys.pts, xs.norms, ys.norms, vals, idx, m, n, d,
                      runtime.size_class(m, n),
                      DIRECT_D=runtime.direct_d(d),  WITHIN=yc is None,
                      PREC=runtime.dot_mode(precision, xc.dtype), **runtime.k_block(d))
    best = vals.min(0).values
    # the smallest index among the splits that reach the minimum
    big = torch.iinfo(torch.int64).max
    arg = torch.where(vals == best, idx, torch.full_like(idx, big)).min(0).values
    return best, arg

