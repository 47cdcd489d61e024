"""The backward kernel of every reduction: one "row pass" (SPEC §2, gradients).

Every first-order gradient of the sums, the log-sum-exp and MMD² is, for the points on the
*row* side, a sum over columns of a coefficient tile g times ∂k/∂(row point). One kernel
covers them all; a backward launches it once for the rows and once more, on the transposed
problem, for the columns. Nothing m×n is saved: each tile is recomputed, like the backward of
fused attention. Per tile

    g_ij = A_i B_j + C_i E_j + σ k̃_ij           (HAS_AB, HAS_CE, HAS_SQ with σ = SQC)
    k̃_ij = k(x_i, y_j)·2^(SR_i + SC_j)           (HAS_SHIFT: log-domain, positive kernels)
    D = g ∂k̃/∂r²,  E' = g ∂k̃/∂⟨x,y⟩              (:func:`.epilogue.kernel_grads`)

and the program accumulates, for its rows i:

    GX_i  = 2 x̃_i Σ_j D_ij + c Σ_j E'_ij + Σ_j (E'_ij − 2 D_ij) ỹ_j    — the last term is one
            extra ``tl.dot`` of the tile with the column points (P·V of attention)
    GC_i  = Σ_j k̃_ij E_j        (gradient w.r.t. C when C is a weight)
    GS_i  = Σ_j g_ij             (gradient w.r.t. per-point aux columns, up to s/2)
    GTH_p = Σ_ij g_ij ∂k̃/∂θ_p   (kernel parameters; float64 atomics, one per program)

``WITHIN`` skips j = i over the full square (both triangles: the row side of a symmetric pair
is its own gradient). For d larger than BD the gradient's features are split over a third grid
axis; those programs recompute the tile (the per-row and θ terms come from the first).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from . import launch, runtime
from .epilogue import kernel_grads, kernel_value
from .packing import theta_width
from .tile_ops import load_block, load_vec, mma, program_rows, row_side, stats


@triton.autotune(configs=launch.candidates("bwd"),
                 key=["d", "SIZE", "PREC", "FAM", "WITHIN", "HAS_AB", "HAS_CE", "HAS_SQ",
                      "HAS_SHIFT", "NEED_GX", "NEED_GC", "NEED_TH", "NEED_GS"],
                 prune_configs_by={"early_config_prune": launch.pruner("bwd")},
                 reset_to_zero=["GX", "GC", "GTH", "GS"])
@triton.jit
def row_pass_kernel(XC, YC, XN, YN, XA, YA, CEN, AUXR, AUXC, A, B, C, E, SQC, SR, SC, TH,
                    GX, GC, GTH, GS, M, N, d, P, SIZE,
                    FAM: tl.constexpr, NEED_R2: tl.constexpr, NEED_DOT: tl.constexpr,
                    DIRECT_D: tl.constexpr, ONE_K: tl.constexpr, WITHIN: tl.constexpr,
                    HAS_AB: tl.constexpr, HAS_CE: tl.constexpr, HAS_SQ: tl.constexpr,
                    HAS_SHIFT: tl.constexpr, NEED_GX: tl.constexpr, NEED_GC: tl.constexpr,
                    NEED_TH: tl.constexpr, NEED_GS: tl.constexpr, PREC: tl.constexpr,
                    BK: tl.constexpr, BD: tl.constexpr, PB: tl.constexpr, BM: tl.constexpr,
                    BN: tl.constexpr):
    _pid, sid, n_split, rows, rmask = program_rows(M, BM)
    did = tl.program_id(2)
    dt = XC.dtype.element_ty
    xn, xa, xt = row_side(XC, XN, XA, rows, rmask, d, NEED_R2, NEED_DOT, ONE_K, DIRECT_D, BK)
    a = load_vec(A, rows, rmask) if HAS_AB else 0.0
    c = load_vec(C, rows, rmask) if HAS_CE else 0.0
    sr = tl.load(SR + rows, mask=rmask, other=float("-inf")) if HAS_SHIFT else 0.0
    sqc = tl.load(SQC) if HAS_SQ else 0.0
    acc_x = tl.zeros((BM, BD), dtype=dt)
    acc_d = tl.zeros((BM,), dtype=dt)
    acc_e = tl.zeros((BM,), dtype=dt)
    acc_gc = tl.zeros((BM,), dtype=tl.float64)
    acc_gs = tl.zeros((BM,), dtype=tl.float64)
    acc_th = tl.zeros((PB,), dtype=tl.float64)
    for jb in range(sid, tl.cdiv(N, BN), n_split):
        cols = jb * BN + tl.arange(0, BN)
        cmask = cols < N
        r2, dot = stats(XC, YC, YN, YA, rows, cols, rmask, cmask, d, xt, xn, xa, NEED_R2,
                        NEED_DOT, DIRECT_D, ONE_K, BM, BN, BK, PREC)
        valid = rmask[:, None] & cmask[None, :]
        if WITHIN:
            valid = valid & (rows[:, None] != cols[None, :])
        if HAS_SHIFT:
            sc = tl.load(SC + cols, mask=cmask, other=float("-inf"))
            shift = tl.where(valid, sr[:, None] + sc[None, :], float("-inf"))
        else:
            shift = 0.0
        g = tl.zeros((BM, BN), dtype=dt)
        if HAS_AB:
            g += a[:, None] * tl.load(B + cols, mask=cmask, other=0.0)[None, :]
        if HAS_CE:
            ec = tl.load(E + cols, mask=cmask, other=0.0)
            g += c[:, None] * ec[None, :]
        if HAS_SQ or NEED_GC:
            k = tl.where(valid, kernel_value(r2, dot, shift, TH, AUXR, AUXC, rows, cols, rmask,
                                             cmask, FAM, HAS_SHIFT), 0.0)
            if HAS_SQ:
                g += sqc * k
            if NEED_GC:
                acc_gc += tl.sum(k * ec[None, :], 1).to(tl.float64)
        g = tl.where(valid, g, 0.0)
        D, Et, acc_th = kernel_grads(g, r2, dot, shift, acc_th, TH, AUXR, AUXC, rows, cols,
                                     rmask, cmask, FAM, HAS_SHIFT, NEED_TH, PB)
        if NEED_GS:
            acc_gs += tl.sum(g, 1).to(tl.float64)
        if NEED_GX:
            if NEED_DOT:
                T = Et - 2.0 * D
                acc_e += tl.sum(Et, 1)
            else:
                T = -2.0 * D
            acc_d += tl.sum(D, 1)
            yd = load_block(YC, cols, cmask, did * BD, d, BD)
            acc_x = mma(T, yd, acc_x, PREC)
    if NEED_GX:
        dcols = did * BD + tl.arange(0, BD)
        dmask = dcols < d
        xd = load_block(XC, rows, rmask, did * BD, d, BD)
        gx = acc_x + 2.0 * xd * acc_d[:, None]
        if NEED_DOT:
            gx += tl.load(CEN + dcols, mask=dmask, other=0.0)[None, :] * acc_e[:, None]
        offs = rows.to(tl.int64)[:, None] * d + dcols[None, :]
        tl.atomic_add(GX + offs, gx, mask=rmask[:, None] & dmask[None, :])
    if did == 0:
        if NEED_GC:
            tl.atomic_add(GC + rows, acc_gc, mask=rmask)
        if NEED_GS:
            tl.atomic_add(GS + rows, acc_gs, mask=rmask)
        if NEED_TH:
            idx = tl.arange(0, PB)
            tl.atomic_add(GTH + idx, acc_th, mask=idx < P)


def row_pass(rs: launch.Side, cs: launch.Side, center: Tensor, aux_r: Tensor, aux_c: Tensor,
             a: Tensor | None, b: Tensor | None, c: Tensor | None, e: Tensor | None,
             sqc: Tensor | None, sr: Tensor | None, sc: Tensor | None, theta: Tensor,
             fam: tuple[int, ...], need_r2: bool, need_dot: bool, within: bool, need_gx: bool,
             need_gc: bool, need_th: bool, need_gs: bool, precision: str
             ) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """Launch :func:`row_pass_kernel`: (GX (m, d), GC (m,), GTH (P,), GS (m,)), each None when
    not asked for. (A, B) and (C, E) come in pairs (both or neither); see the module doc."""
    x = rs.pts
    m, n, d = rs.n, cs.n, x.shape[1]
    dev = x.device
    f64 = dict(dtype=torch.float64, device=dev)
    p = theta_width(fam)
    gx = torch.zeros((m, d) if need_gx else (1,), dtype=x.dtype, device=dev)
    gc = torch.zeros(m if need_gc else 1, **f64)
    gth = torch.zeros(max(p, 1), **f64)
    gs = torch.zeros(m if need_gs else 1, **f64)
    bd = runtime.d_block(d, x.dtype)
    n_d = triton.cdiv(d, bd) if need_gx else 1
    ph = launch.placeholder(x)

    def grid(meta: dict) -> tuple[int, int, int]:
        rb = triton.cdiv(m, meta["BM"])
        return rb, runtime.splits(rb * n_d, triton.cdiv(n, meta["BN"]), dev), n_d

    row_pass_kernel[grid](
        x, cs.pts, rs.norms, cs.norms, rs.offsets, cs.offsets, center, aux_r, aux_c,
        ph if a is None else a, ph if b is None else b, ph if c is None else c,
        ph if e is None else e, ph if sqc is None else sqc, ph if sr is None else sr,
        ph if sc is None else sc, theta, gx, gc, gth, gs, m, n, d, p,
        runtime.size_class(m, n),
        FAM=fam, NEED_R2=need_r2, NEED_DOT=need_dot, DIRECT_D=runtime.direct_d(d),
        WITHIN=within, HAS_AB=a is not None, HAS_CE=c is not None, HAS_SQ=sqc is not None,
        HAS_SHIFT=sr is not None, NEED_GX=need_gx, NEED_GC=need_gc, NEED_TH=need_th,
        NEED_GS=need_gs, PREC=runtime.dot_mode(precision, x.dtype), BD=bd,
        PB=runtime.next_pow2(max(p, 2)), **runtime.k_block(d))
    return (gx if need_gx else None, gc if need_gc else None, gth[:p] if need_th else None,
            gs if need_gs else None)
