"""Triton device functions that form the statistics of one tile (SPEC §2; PERFORMANCE.md,
"Kernel design facts").

For rows x̃_i and columns ỹ_j of points centred on a common centre c (translation leaves r²
unchanged and keeps ‖x̃‖ small, which is what bounds the rounding error of r²):

    G_ij = ⟨x̃_i, ỹ_j⟩          one ``tl.dot`` (K-loop over d when d exceeds one K-tile)
    r²_ij = max(‖x̃_i‖² + ‖ỹ_j‖² − 2 G_ij, 0)   norms precomputed once per point
    ⟨x_i, y_j⟩ = G_ij + α_i + α_j,  α = ⟨x̃, c⟩ + ‖c‖²/2

For d ≤ 4 (``DIRECT_D``) r² = Σ_k (x̃_ik − ỹ_jk)² is formed directly: exact, and as cheap as
the product on the FMA pipe. Every family term of the kernel reads these shared tiles.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def mma(a, b, acc, PREC: tl.constexpr):
    """acc + a @ b with the precision mode's products (runtime.PRECISIONS)."""
    if PREC == "bf16":
        return tl.dot(a.to(tl.bfloat16), b.to(tl.bfloat16), acc)
    elif PREC == "bf16-rounded":  # the interpreter's bf16 dot is wrong: round, then multiply
        return tl.dot(a.to(tl.bfloat16).to(a.dtype), b.to(tl.bfloat16).to(b.dtype), acc,
                      input_precision="ieee")
    else:
        return tl.dot(a, b, acc, input_precision=PREC)


@triton.jit
def load_block(P, idx, mask, k0, d, BK: tl.constexpr):
    """Rows ``idx`` of the (n, d) matrix P, features k0..k0+BK (zeros outside)."""
    ks = k0 + tl.arange(0, BK)
    offs = idx.to(tl.int64)[:, None] * d + ks[None, :]
    return tl.load(P + offs, mask=mask[:, None] & (ks[None, :] < d), other=0.0)


@triton.jit
def load_vec(P, idx, mask):
    return tl.load(P + idx, mask=mask, other=0.0)


@triton.jit
def gram(XC, YC, rows, cols, rmask, cmask, d, xt, ONE_K: tl.constexpr, BM: tl.constexpr,
         BN: tl.constexpr, BK: tl.constexpr, PREC: tl.constexpr):
    """G = X̃ Ỹᵀ for the tile; ``xt`` is the program's row tile when one K-tile holds d.
    (Loads and products are written inline: the interpreter pays per device-function call.)"""
    acc = tl.zeros((BM, BN), dtype=XC.dtype.element_ty)
    ks = tl.arange(0, BK)
    if ONE_K:
        yt = tl.load(YC + cols.to(tl.int64)[:, None] * d + ks[None, :],
                     mask=cmask[:, None] & (ks[None, :] < d), other=0.0)
        if PREC == "ieee" or PREC == "tf32x3" or PREC == "tf32":
            acc = tl.dot(xt, tl.trans(yt), acc, input_precision=PREC)
        else:
            acc = mma(xt, tl.trans(yt), acc, PREC)
    else:
        for k0 in range(0, d, BK):
            x = load_block(XC, rows, rmask, k0, d, BK)
            y = load_block(YC, cols, cmask, k0, d, BK)
            acc = mma(x, tl.trans(y), acc, PREC)
    return acc


@triton.jit
def direct(XC, YC, rows, cols, rmask, cmask, DIRECT_D: tl.constexpr, BM: tl.constexpr,
           BN: tl.constexpr, NEED_DOT: tl.constexpr):
    """(r², G) from feature differences, for d = DIRECT_D ≤ 4."""
    r2 = tl.zeros((BM, BN), dtype=XC.dtype.element_ty)
    g = tl.zeros((BM, BN), dtype=XC.dtype.element_ty)
    for k in tl.static_range(DIRECT_D):
        xk = tl.load(XC + rows.to(tl.int64) * DIRECT_D + k, mask=rmask, other=0.0)
        yk = tl.load(YC + cols.to(tl.int64) * DIRECT_D + k, mask=cmask, other=0.0)
        diff = xk[:, None] - yk[None, :]
        r2 += diff * diff
        if NEED_DOT:
            g += xk[:, None] * yk[None, :]
    return r2, g


@triton.jit
def program_rows(M, BM: tl.constexpr):
    """(row block, split index, number of splits, rows, row mask) of this program: a grid of
    (row blocks, column splits[, feature chunks])."""
    pid = tl.program_id(0)
    rows = pid * BM + tl.arange(0, BM)
    return pid, tl.program_id(1), tl.num_programs(1), rows, rows < M


@triton.jit
def row_side(XC, XN, XA, rows, rmask, d, NEED_R2: tl.constexpr, NEED_DOT: tl.constexpr,
             ONE_K: tl.constexpr, DIRECT_D: tl.constexpr, BK: tl.constexpr):
    """What a program keeps of its rows: norms, dot offsets and (one K-tile) the row tile."""
    xn = load_vec(XN, rows, rmask) if NEED_R2 else 0.0
    xa = load_vec(XA, rows, rmask) if NEED_DOT else 0.0
    if ONE_K and DIRECT_D == 0:
        xt = load_block(XC, rows, rmask, 0, d, BK)
    else:
        xt = 0.0
    return xn, xa, xt


@triton.jit
def stats(XC, YC, YN, YA, rows, cols, rmask, cmask, d, xt, xn, xa,
          NEED_R2: tl.constexpr, NEED_DOT: tl.constexpr, DIRECT_D: tl.constexpr,
          ONE_K: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
          PREC: tl.constexpr):
    """(r², ⟨x, y⟩) of the tile; either may be a placeholder when the kernel does not read it."""
    if DIRECT_D > 0:
        r2, g = direct(XC, YC, rows, cols, rmask, cmask, DIRECT_D, BM, BN, NEED_DOT)
    else:
        g = gram(XC, YC, rows, cols, rmask, cmask, d, xt, ONE_K, BM, BN, BK, PREC)
        if NEED_R2:
            yn = tl.load(YN + cols, mask=cmask, other=0.0)
            r2 = tl.maximum(xn[:, None] + yn[None, :] - 2.0 * g, 0.0)
        else:
            r2 = g
    if NEED_DOT:
        ya = tl.load(YA + cols, mask=cmask, other=0.0)
        dot = g + xa[:, None] + ya[None, :]
    else:
        dot = r2
    return r2, dot


@triton.jit
def rbf_fast(XC, YC, YN, TH, rows, cols, rmask, cmask, d, xt, xn, ONE_K: tl.constexpr,
             BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, PREC: tl.constexpr):
    """One Gaussian, norms folded in: k = w·2^min(a‖x̃‖² + a‖ỹ‖² − 2a G, 0), a = −log₂e/(2σ²)
    (clamping the exponent at 0 is clamping r² at 0, as a < 0)."""
    w = tl.load(TH)
    a = tl.load(TH + 1)
    g = gram(XC, YC, rows, cols, rmask, cmask, d, xt, ONE_K, BM, BN, BK, PREC)
    yn = tl.load(YN + cols, mask=cmask, other=0.0)
    e = (xn * a)[:, None] + (yn * a)[None, :] - (2.0 * a) * g
    return w * tl.exp2(tl.minimum(e, 0.0))
