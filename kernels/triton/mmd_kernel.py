"""Fused forward kernel of MMD² and its variance: one launch over the pooled sample (SPEC §4.1,
§4.3).

Z = [X; Y] (m + n points). The upper block triangle of Z×Z visits every unordered pair once;
a pair inside X or inside Y goes to the *same-set* sums (a = K̃_XX 1 for i < m, b = K̃_YY 1
after), a pair across goes to the *cross* sums (c = K_XY 1 for i < m, c' = K_XYᵀ 1 after),
mirrored column sums by float64 atomics. Squared totals: A₂, B₂ over the triangle (doubled on
the host) and C₂. Tiles that lie wholly inside one block (all but those straddling row m) take
a branch without the set masks. For m = n this is 2m² kernel evaluations — XX, YY and XY
computed separately cost the same, in three launches.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from . import launch, runtime
from .sums_kernel import tile_kernel
from .tile_ops import program_rows, row_side


@triton.autotune(configs=launch.candidates("fwd"), key=["d", "SIZE", "PREC", "FAM", "DO_SQ"],
                 prune_configs_by={"early_config_prune": launch.pruner("fwd")},
                 reset_to_zero=["SAME", "CROSS", "SQ"])
@triton.jit
def mmd_fwd(ZC, ZN, ZA, AUX, TH, SAME, CROSS, SQ, NZ, MX, d, SIZE, FAM: tl.constexpr,
            NEED_R2: tl.constexpr, NEED_DOT: tl.constexpr, DIRECT_D: tl.constexpr,
            ONE_K: tl.constexpr, FAST_RBF: tl.constexpr, DO_SQ: tl.constexpr,
            WITHIN: tl.constexpr, PREC: tl.constexpr, BK: tl.constexpr, BM: tl.constexpr,
            BN: tl.constexpr):
    pid, sid, n_split, rows, rmask = program_rows(NZ, BM)
    xn, xa, xt = row_side(ZC, ZN, ZA, rows, rmask, d, NEED_R2, NEED_DOT, ONE_K, DIRECT_D, BK)
    row_x = rows < MX
    rows_all_x = (pid + 1) * BM <= MX
    rows_all_y = pid * BM >= MX
    acc_same = tl.zeros((BM,), dtype=tl.float64)
    acc_cross = tl.zeros((BM,), dtype=tl.float64)
    sq_same = tl.zeros((BM,), dtype=tl.float64)
    sq_cross = tl.zeros((BM,), dtype=tl.float64)
    for jb in range(pid + sid, tl.cdiv(NZ, BN), n_split):
        cols = jb * BN + tl.arange(0, BN)
        cmask = cols < NZ
        k = tile_kernel(ZC, ZC, ZN, ZA, AUX, AUX, TH, rows, cols, rmask, cmask, d, xt, xn, xa,
                        FAM, NEED_R2, NEED_DOT, DIRECT_D, ONE_K, FAST_RBF, BM, BN, BK, PREC)
        k = tl.where(rmask[:, None] & cmask[None, :], k, 0.0)
        if jb == pid:
            k = tl.where(cols[None, :] > rows[:, None], k, 0.0)
        cols_all_x = (jb + 1) * BN <= MX
        cols_all_y = jb * BN >= MX
        if (rows_all_x & cols_all_x) | (rows_all_y & cols_all_y):
            acc_same += tl.sum(k, 1).to(tl.float64)
            tl.atomic_add(SAME + cols, tl.sum(k, 0).to(tl.float64), mask=cmask)
            if DO_SQ:
                sq_same += tl.sum(k * k, 1).to(tl.float64)
        elif (rows_all_x & cols_all_y) | (rows_all_y & cols_all_x):
            acc_cross += tl.sum(k, 1).to(tl.float64)
            tl.atomic_add(CROSS + cols, tl.sum(k, 0).to(tl.float64), mask=cmask)
            if DO_SQ:
                sq_cross += tl.sum(k * k, 1).to(tl.float64)
        else:
            same = row_x[:, None] == (cols < MX)[None, :]
            ks = tl.where(same, k, 0.0)
            kc = k - ks
            acc_same += tl.sum(ks, 1).to(tl.float64)
            acc_cross += tl.sum(kc, 1).to(tl.float64)
            tl.atomic_add(SAME + cols, tl.sum(ks, 0).to(tl.float64), mask=cmask)
            tl.atomic_add(CROSS + cols, tl.sum(kc, 0).to(tl.float64), mask=cmask)
            if DO_SQ:
                sq_same += tl.sum(ks * ks, 1).to(tl.float64)
                sq_cross += tl.sum(kc * kc, 1).to(tl.float64)
    tl.atomic_add(SAME + rows, acc_same, mask=rmask)
    tl.atomic_add(CROSS + rows, acc_cross, mask=rmask)
    if DO_SQ:
        tl.atomic_add(SQ, tl.sum(tl.where(row_x, sq_same, 0.0), 0))
        tl.atomic_add(SQ + 1, tl.sum(tl.where(row_x, 0.0, sq_same), 0))
        tl.atomic_add(SQ + 2, tl.sum(sq_cross, 0))


def forward(zs: launch.Side, aux: Tensor, m: int, theta: Tensor, fam: tuple[int, ...],
            need_r2: bool, need_dot: bool, squares: bool, precision: str
            ) -> tuple[Tensor, Tensor, Tensor]:
    """(same-set sums (m+n,), cross sums (m+n,), (A₂/2, B₂/2, C₂)) in float64."""
    z = zs.pts
    nz, d = zs.n, z.shape[1]
    f64 = dict(dtype=torch.float64, device=z.device)
    same = torch.zeros(nz, **f64)
    cross = torch.zeros(nz, **f64)
    sq = torch.zeros(3, **f64)
    direct = runtime.direct_d(d)
    mmd_fwd[launch.grid2(nz, nz, z.device, square_from_diag=True)](
        z, zs.norms, zs.offsets, aux, theta, same, cross, sq, nz, m, d,
        runtime.size_class(nz, nz), FAM=fam,
        NEED_R2=need_r2, NEED_DOT=need_dot, DIRECT_D=direct,
        FAST_RBF=(fam == (1, 0, 0, 0, 0, 0) and direct == 0), DO_SQ=squares, WITHIN=True,
        PREC=runtime.dot_mode(precision, z.dtype), **runtime.k_block(d))
    return same, cross, sq
