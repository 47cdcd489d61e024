"""Forward kernel of the pairwise sums (SPEC §2): row sums, column sums, squared sums.

One program owns BM rows and walks the column tiles (every ``S``-th one when the columns are
split over S programs). Per tile: the shared tile statistics (:mod:`.tile_ops`), the kernel
value of every family (:mod:`.epilogue`), then

    rows_i += Σ_j wy_j k_ij      (registers, float64 across tiles)
    cols_j += Σ_i wx_i k_ij      (float64 atomics, one per column per tile)
    squares += Σ_ij k_ij²

Within-set (``WITHIN``, Y = X): only tiles on or above the block diagonal are visited (square
tiles), the diagonal tile keeps its strict upper triangle, and each tile's column sums are the
mirrored row sums: every unordered pair is evaluated once. The squared total of the triangle is
doubled on the host.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from . import launch, runtime
from .epilogue import kernel_value
from .tile_ops import load_vec, program_rows, rbf_fast, row_side, stats


@triton.jit
def tile_kernel(XC, YC, YN, YA, AUXR, AUXC, TH, rows, cols, rmask, cmask, d, xt, xn, xa,
                FAM: tl.constexpr, NEED_R2: tl.constexpr, NEED_DOT: tl.constexpr,
                DIRECT_D: tl.constexpr, ONE_K: tl.constexpr, FAST_RBF: tl.constexpr,
                BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, PREC: tl.constexpr):
    """k(x_i, y_j) on one tile."""
    if FAST_RBF:
        k = rbf_fast(XC, YC, YN, TH, rows, cols, rmask, cmask, d, xt, xn, ONE_K, BM, BN, BK,
                     PREC)
    else:
        r2, dot = stats(XC, YC, YN, YA, rows, cols, rmask, cmask, d, xt, xn, xa, NEED_R2,
                        NEED_DOT, DIRECT_D, ONE_K, BM, BN, BK, PREC)
        k = kernel_value(r2, dot, 0.0, TH, AUXR, AUXC, rows, cols, rmask, cmask, FAM, False)
    return k


@triton.autotune(configs=launch.candidates("fwd"),
                 key=["d", "SIZE", "PREC", "FAM", "WITHIN", "DO_COLS", "DO_SQ"],
                 prune_configs_by={"early_config_prune": launch.pruner("fwd")},
                 reset_to_zero=["ROWS", "COLS", "SQ"])
@triton.jit
def sums_fwd(XC, YC, XN, YN, XA, YA, AUXR, AUXC, WX, WY, TH, ROWS, COLS, SQ, M, N, d, SIZE,
             FAM: tl.constexpr, NEED_R2: tl.constexpr, NEED_DOT: tl.constexpr,
             DIRECT_D: tl.constexpr, ONE_K: tl.constexpr, FAST_RBF: tl.constexpr,
             WITHIN: tl.constexpr, DO_ROWS: tl.constexpr, DO_COLS: tl.constexpr,
             DO_SQ: tl.constexpr, HAS_WX: tl.constexpr, HAS_WY: tl.constexpr,
             PREC: tl.constexpr, BK: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid, sid, n_split, rows, rmask = program_rows(M, BM)
    xn, xa, xt = row_side(XC, XN, XA, rows, rmask, d, NEED_R2, NEED_DOT, ONE_K, DIRECT_D, BK)
    if HAS_WX:
        wx = load_vec(WX, rows, rmask)
    else:
        wx = rmask.to(XC.dtype.element_ty)
    acc_r = tl.zeros((BM,), dtype=tl.float64)
    acc_s = tl.zeros((BM,), dtype=tl.float64)
    first = pid if WITHIN else 0
    row_tail = (pid + 1) * BM > M
    for jb in range(first + sid, tl.cdiv(N, BN), n_split):
        cols = jb * BN + tl.arange(0, BN)
        cmask = cols < N
        k = tile_kernel(XC, YC, YN, YA, AUXR, AUXC, TH, rows, cols, rmask, cmask, d, xt, xn,
                        xa, FAM, NEED_R2, NEED_DOT, DIRECT_D, ONE_K, FAST_RBF, BM, BN, BK, PREC)
        if (jb + 1) * BN > N:
            k = tl.where(cmask[None, :], k, 0.0)
        if DO_COLS or DO_SQ:
            if row_tail:
                k = tl.where(rmask[:, None], k, 0.0)
        if WITHIN:
            if jb == pid:
                k = tl.where(cols[None, :] > rows[:, None], k, 0.0)
        if DO_ROWS:
            if HAS_WY:
                wy = tl.load(WY + cols, mask=cmask, other=0.0)
                acc_r += tl.sum(k * wy[None, :], 1).to(tl.float64)
            else:
                acc_r += tl.sum(k, 1).to(tl.float64)
        if DO_COLS:
            tl.atomic_add(COLS + cols, tl.sum(k * wx[:, None], 0).to(tl.float64), mask=cmask)
        if DO_SQ:
            acc_s += tl.sum(k * k, 1).to(tl.float64)
    if DO_ROWS:
        tl.atomic_add(ROWS + rows, acc_r, mask=rmask)
    if DO_SQ:
        tl.atomic_add(SQ, tl.sum(acc_s, 0))


def forward(xs: launch.Side, ys: launch.Side, aux_x: Tensor, aux_y: Tensor, wx: Tensor | None,
            wy: Tensor | None, theta: Tensor, fam: tuple[int, ...], need_r2: bool,
            need_dot: bool, within: bool, rows: bool, cols: bool, squares: bool,
            precision: str) -> tuple[Tensor, Tensor, Tensor]:
    """Launch :func:`sums_fwd`; returns float64 (rows (m,), cols (n,), squares (1,)).

    ``within``: ``ys`` is ``xs``; the mirrored column sums go into rows (``cols`` must be
    False) and ``wx`` = ``wy`` weighs them; the squared total counts each pair once.
    """
    x = xs.pts
    m, n, d = xs.n, ys.n, x.shape[1]
    f64 = dict(dtype=torch.float64, device=x.device)
    out_r = torch.zeros(m if rows else 1, **f64)
    out_c = out_r if within else torch.zeros(n if cols else 1, **f64)
    out_s = torch.zeros(1, **f64)
    direct = runtime.direct_d(d)
    if within:
        wx = wy
    sums_fwd[launch.grid2(m, n, x.device, square_from_diag=within)](
        x, ys.pts, xs.norms, ys.norms, xs.offsets, ys.offsets, aux_x, aux_y,
        launch.placeholder(x) if wx is None else wx, launch.placeholder(x) if wy is None else wy,
        theta, out_r, out_c, out_s, m, n, d, runtime.size_class(m, n),
        FAM=fam, NEED_R2=need_r2, NEED_DOT=need_dot, DIRECT_D=direct,
        FAST_RBF=(fam == (1, 0, 0, 0, 0, 0) and direct == 0), WITHIN=within, DO_ROWS=rows,
        DO_COLS=(rows if within else cols), DO_SQ=squares, HAS_WX=wx is not None,
        HAS_WY=wy is not None,
        PREC=runtime.dot_mode(precision, x.dtype), **runtime.k_block(d))
    return out_r, out_c, out_s
