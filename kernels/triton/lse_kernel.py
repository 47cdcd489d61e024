"""Forward kernel of the log-sum-exp reduction (SPEC §2; log-KDE without underflow).

L_i = log Σ_j exp(log w_j + log k(x_i, y_j)) for a positive kernel k = Σ_c w_c 2^(e_c), with
the online maximum of FlashAttention taken over columns *and* mixture components: per tile the
row maximum of the base-2 logits log₂ w_c + e_c + log₂ w_j, then Σ_c w_c 2^(e_c + log₂ w_j − max)
(:func:`.epilogue.kernel_value` with a shift), the running sum rescaled by 2^(old − new max).
Column splits write one partial L per split; the host combines them with a log-sum-exp.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from . import launch, runtime
from .epilogue import LN2, kernel_logit_max, kernel_value
from .tile_ops import program_rows, row_side, stats

LOG2E = tl.constexpr(1.4426950408889634)


@triton.autotune(configs=launch.candidates("fwd"),
                 key=["d", "SIZE", "PREC", "FAM", "WITHIN", "HAS_LW"],
                 prune_configs_by={"early_config_prune": launch.pruner("fwd")})
@triton.jit
def lse_fwd(XC, YC, XN, YN, LW, TH, OUT, M, N, d, SIZE, FAM: tl.constexpr, DIRECT_D: tl.constexpr,
            ONE_K: tl.constexpr, WITHIN: tl.constexpr, HAS_LW: tl.constexpr,
            PREC: tl.constexpr, BK: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    _pid, sid, n_split, rows, rmask = program_rows(M, BM)
    dt = XC.dtype.element_ty
    xn, xa, xt = row_side(XC, XN, XN, rows, rmask, d, True, False, ONE_K, DIRECT_D, BK)
    run_max = tl.full((BM,), float("-inf"), dt)
    run_sum = tl.zeros((BM,), dtype=dt)
    for jb in range(sid, tl.cdiv(N, BN), n_split):
        cols = jb * BN + tl.arange(0, BN)
        cmask = cols < N
        r2, _dot = stats(XC, YC, YN, YN, rows, cols, rmask, cmask, d, xt, xn, xa, True, False,
                      DIRECT_D, ONE_K, BM, BN, BK, PREC)
        if HAS_LW:
            lw = tl.load(LW + cols, mask=cmask, other=float("-inf")) * LOG2E
        else:
            lw = tl.where(cmask, 0.0, float("-inf")).to(dt)
        logits = kernel_logit_max(r2, FAM, TH) + lw[None, :]
        if WITHIN:
            logits = tl.where(rows[:, None] == cols[None, :], float("-inf"), logits)
        new_max = tl.maximum(run_max, tl.max(logits, 1))
        ref = tl.where(new_max == float("-inf"), 0.0, new_max)
        shift = lw[None, :] - ref[:, None]
        if WITHIN:
            shift = tl.where(rows[:, None] == cols[None, :], float("-inf"), shift)
        p = kernel_value(r2, r2, shift, TH, TH, TH, rows, cols, rmask, cmask, FAM, True)
        run_sum = run_sum * tl.exp2(run_max - ref) + tl.sum(p, 1)
        run_max = new_max
    ref = tl.where(run_max == float("-inf"), 0.0, run_max)
    pos = run_sum > 0
    out = tl.where(pos, (tl.log2(tl.where(pos, run_sum, 1.0)) + ref) * LN2, float("-inf"))
    tl.store(OUT + sid.to(tl.int64) * M + rows, out, mask=rmask)


def forward(xs: launch.Side, ys: launch.Side, lw: Tensor | None, theta: Tensor,
            fam: tuple[int, ...], within: bool, precision: str) -> Tensor:
    """L (m,) in float64 (``ys`` is ``xs`` when ``within``)."""
    x = xs.pts
    m, n, d = xs.n, ys.n, x.shape[1]
    grid = launch.grid2(m, n, x.device)
    n_split = max(grid(c.all_kwargs())[1] for c in launch.candidates("fwd"))
    out = torch.full((n_split, m), float("-inf"), dtype=x.dtype, device=x.device)
    lse_fwd[grid](x, ys.pts, xs.norms, ys.norms, launch.placeholder(x) if lw is None else lw,
                  theta, out, m, n, d, runtime.size_class(m, n), FAM=fam,
                  DIRECT_D=runtime.direct_d(d), WITHIN=within, HAS_LW=lw is not None,
                  PREC=runtime.dot_mode(precision, x.dtype), **runtime.k_block(d))
    return torch.logsumexp(out.double(), 0)
