"""Triton device functions: every kernel family evaluated on the shared tile (SPEC §1).

``FAM`` is the structure tuple of :mod:`.packing` (components per family, in slot order) and
``TH`` the pointer to θ. Each family has a *value* block (its contribution to k), a *gradient*
block (its contribution to D = g·∂k/∂r², E = g·∂k/∂⟨x,y⟩ and to the θ-gradients Σ g·∂k/∂θ for a
coefficient tile g) and, for the positive families, a *logit* block (log₂ of each component,
for the online maximum of log-sum-exp). The combiners at the bottom run the blocks in slot
order; a family with 0 components compiles to nothing.

``shift`` (``HAS_SHIFT``) adds a tile to every exponent of the positive families: log-domain
reductions evaluate w·2^(a r² + s_i + t_j) = P_ij without forming e^(−L_i), which overflows.
Values are exp2-based with log₂ e folded into θ (PERFORMANCE.md): one MUFU.EX2 per component.
RBF and Laplacian share their blocks (w·2^(a t) with t = r² or r).
"""

from __future__ import annotations

import triton
import triton.language as tl

LN2 = tl.constexpr(0.6931471805599453)

# Device-function calls are cheap when compiled (inlined) but each one costs the interpreter a
# re-patching of triton.language, so the blocks below inline their small steps and the
# combiners skip absent families with constexpr ifs.


# -- rbf and laplacian: w · 2^(a t), t = r² (rbf) or r (laplacian) -----------------------------

@triton.jit
def expo_value(k, t, shift, TH, BASE: tl.constexpr, N: tl.constexpr, HAS_SHIFT: tl.constexpr):
    for c in tl.static_range(N):
        w = tl.load(TH + BASE + 2 * c)
        a = tl.load(TH + BASE + 2 * c + 1)
        e = t * a
        if HAS_SHIFT:
            e += shift
        k += w * tl.exp2(e)
    return k


@triton.jit
def expo_grad(g, t, dt_dr2, shift, D, acc_th, TH, BASE: tl.constexpr, N: tl.constexpr,
              HAS_SHIFT: tl.constexpr, NEED_TH: tl.constexpr, PB: tl.constexpr):
    """∂k/∂r² = w 2^(a t) a ln2 · dt/dr²; ∂k/∂w = 2^(a t); ∂k/∂a = w 2^(a t) t ln2."""
    idx = tl.arange(0, PB)
    for c in tl.static_range(N):
        w = tl.load(TH + BASE + 2 * c)
        a = tl.load(TH + BASE + 2 * c + 1)
        e = t * a
        if HAS_SHIFT:
            e += shift
        ex = tl.exp2(e)
        gk = g * (w * ex)
        D += gk * dt_dr2 * (a * LN2)
        if NEED_TH:
            acc_th += tl.where(idx == BASE + 2 * c, tl.sum(g * ex), 0.0)
            acc_th += tl.where(idx == BASE + 2 * c + 1, tl.sum(gk * t) * LN2, 0.0)
    return D, acc_th


@triton.jit
def expo_logit(mx, t, TH, BASE: tl.constexpr, N: tl.constexpr):
    for c in tl.static_range(N):
        w = tl.load(TH + BASE + 2 * c)
        a = tl.load(TH + BASE + 2 * c + 1)
        mx = tl.maximum(mx, tl.log2(w) + t * a)
    return mx


@triton.jit
def half_inv_sqrt(r2):
    """∂r/∂r² = 1/(2r), with 0 at r = 0 (the subgradient the reference uses)."""
    pos = r2 > 0
    return tl.where(pos, 0.5 / tl.sqrt(tl.where(pos, r2, 1.0)), 0.0)


# -- rq: w · (1 + u r²)^(−α) = w · 2^(−α log₂(1 + u r²)) --------------------------------------

@triton.jit
def rq_theta(TH, AT: tl.constexpr):
    """(w, u, α) of the component whose θ starts at AT (packing.py's layout)."""
    return tl.load(TH + AT), tl.load(TH + AT + 1), tl.load(TH + AT + 2)


@triton.jit
def rq_value(k, r2, shift, TH, BASE: tl.constexpr, N: tl.constexpr, HAS_SHIFT: tl.constexpr):
    for c in tl.static_range(N):
        w, u, al = rq_theta(TH, BASE + 3 * c)
        e = -al * tl.log2(1.0 + u * r2)
        if HAS_SHIFT:
            e += shift
        k += w * tl.exp2(e)
    return k


@triton.jit
def rq_grad(g, r2, shift, D, acc_th, TH, BASE: tl.constexpr, N: tl.constexpr,
            HAS_SHIFT: tl.constexpr, NEED_TH: tl.constexpr, PB: tl.constexpr):
    idx = tl.arange(0, PB)
    for c in tl.static_range(N):
        w, u, al = rq_theta(TH, BASE + 3 * c)
        v = 1.0 + u * r2
        lv = tl.log2(v)
        e = -al * lv
        if HAS_SHIFT:
            e += shift
        ex = tl.exp2(e)
        gk = g * (w * ex)
        q = gk / v
        D += q * (-al * u)
        if NEED_TH:
            acc_th += tl.where(idx == BASE + 3 * c, tl.sum(g * ex), 0.0)
            acc_th += tl.where(idx == BASE + 3 * c + 1, -al * tl.sum(q * r2), 0.0)
            acc_th += tl.where(idx == BASE + 3 * c + 2, -tl.sum(gk * lv) * LN2, 0.0)
    return D, acc_th


@triton.jit
def rq_logit(mx, r2, TH, BASE: tl.constexpr, N: tl.constexpr):
    for c in tl.static_range(N):
        w, u, al = rq_theta(TH, BASE + 3 * c)
        mx = tl.maximum(mx, tl.log2(w) - al * tl.log2(1.0 + u * r2))
    return mx


# -- dot: s · ⟨x, y⟩ --------------------------------------------------------------------------

@triton.jit
def dot_value(k, dot, TH, BASE: tl.constexpr, N: tl.constexpr):
    for c in tl.static_range(N):
        k += tl.load(TH + BASE + c) * dot
    return k


@triton.jit
def dot_grad(g, dot, E, acc_th, TH, BASE: tl.constexpr, N: tl.constexpr,
             NEED_TH: tl.constexpr, PB: tl.constexpr):
    idx = tl.arange(0, PB)
    for c in tl.static_range(N):
        E += g * tl.load(TH + BASE + c)
        if NEED_TH:
            acc_th += tl.where(idx == BASE + c, tl.sum(g * dot), 0.0)
    return E, acc_th


# -- polynomial: s · (γ⟨x, y⟩ + c)^p ----------------------------------------------------------

@triton.jit
def poly_theta(TH, AT: tl.constexpr):
    """(s, γ, c, p) of the component whose θ starts at AT (p as a float)."""
    return (tl.load(TH + AT), tl.load(TH + AT + 1), tl.load(TH + AT + 2),
            tl.load(TH + AT + 3))


@triton.jit
def poly_value(k, dot, TH, BASE: tl.constexpr, N: tl.constexpr):
    for c in tl.static_range(N):
        s, gm, c0, pf = poly_theta(TH, BASE + 4 * c)
        p = pf.to(tl.int32)
        b = gm * dot + c0
        bp = b
        for _ in range(1, p):  # b^p: a run-time loop of p − 1 multiplications
            bp = bp * b
        k += s * bp
    return k


@triton.jit
def poly_grad(g, dot, E, acc_th, TH, BASE: tl.constexpr, N: tl.constexpr,
              NEED_TH: tl.constexpr, PB: tl.constexpr):
    idx = tl.arange(0, PB)
    for c in tl.static_range(N):
        s, gm, c0, pf = poly_theta(TH, BASE + 4 * c)
        b = gm * dot + c0
        gbp = g  # g · b^(p−1)
        for _ in range(1, pf.to(tl.int32)):
            gbp = gbp * b
        E += gbp * (s * pf * gm)
        if NEED_TH:
            acc_th += tl.where(idx == BASE + 4 * c, tl.sum(gbp * b), 0.0)
            acc_th += tl.where(idx == BASE + 4 * c + 1, tl.sum(gbp * dot) * (s * pf), 0.0)
            acc_th += tl.where(idx == BASE + 4 * c + 2, tl.sum(gbp) * (s * pf), 0.0)
    return E, acc_th


# -- distance: s · ½ (a_i + a_j − (r²)^h) -----------------------------------------------------

@triton.jit
def distance_value(k, r2, TH, AUXR, AUXC, rows, cols, rmask, cmask, BASE: tl.constexpr,
                   N: tl.constexpr):
    pos = r2 > 0
    lr = tl.log2(tl.where(pos, r2, 1.0))
    for c in tl.static_range(N):
        s = tl.load(TH + BASE + 2 * c)
        h = tl.load(TH + BASE + 2 * c + 1)
        cross = tl.where(pos, tl.exp2(h * lr), 0.0)
        ax = tl.load(AUXR + rows * N + c, mask=rmask, other=0.0)
        ay = tl.load(AUXC + cols * N + c, mask=cmask, other=0.0)
        k += (0.5 * s) * (ax[:, None] + ay[None, :] - cross)
    return k


@triton.jit
def distance_grad(g, r2, D, acc_th, TH, AUXR, AUXC, rows, cols, rmask, cmask,
                  BASE: tl.constexpr, N: tl.constexpr, NEED_TH: tl.constexpr,
                  PB: tl.constexpr):
    idx = tl.arange(0, PB)
    pos = r2 > 0
    rs = tl.where(pos, r2, 1.0)
    lr = tl.log2(rs)
    for c in tl.static_range(N):
        s = tl.load(TH + BASE + 2 * c)
        h = tl.load(TH + BASE + 2 * c + 1)
        cross = tl.where(pos, tl.exp2(h * lr), 0.0)
        D += g * (cross / rs) * (-0.5 * s * h)
        if NEED_TH:
            ax = tl.load(AUXR + rows * N + c, mask=rmask, other=0.0)
            ay = tl.load(AUXC + cols * N + c, mask=cmask, other=0.0)
            acc_th += tl.where(idx == BASE + 2 * c,
                               0.5 * tl.sum(g * (ax[:, None] + ay[None, :] - cross)), 0.0)
            acc_th += tl.where(idx == BASE + 2 * c + 1,
                               tl.sum(g * cross * lr) * (-0.5 * s * LN2), 0.0)
    return D, acc_th


# -- combiners (slot order: rbf, laplacian, rq, dot, polynomial, distance) ---------------------

@triton.jit
def kernel_value(r2, dot, shift, TH, AUXR, AUXC, rows, cols, rmask, cmask,
                 FAM: tl.constexpr, HAS_SHIFT: tl.constexpr):
    """k(x_i, y_j) on the tile (times 2^shift for the positive families)."""
    b_lap = 2 * FAM[0]
    b_rq = b_lap + 2 * FAM[1]
    b_dot = b_rq + 3 * FAM[2]
    b_poly = b_dot + FAM[3]
    b_dist = b_poly + 4 * FAM[4]
    k = tl.zeros(r2.shape, r2.dtype)
    if FAM[0] > 0:
        k = expo_value(k, r2, shift, TH, 0, FAM[0], HAS_SHIFT)
    if FAM[1] > 0:
        k = expo_value(k, tl.sqrt(r2), shift, TH, b_lap, FAM[1], HAS_SHIFT)
    if FAM[2] > 0:
        k = rq_value(k, r2, shift, TH, b_rq, FAM[2], HAS_SHIFT)
    if FAM[3] > 0:
        k = dot_value(k, dot, TH, b_dot, FAM[3])
    if FAM[4] > 0:
        k = poly_value(k, dot, TH, b_poly, FAM[4])
    if FAM[5] > 0:
        k = distance_value(k, r2, TH, AUXR, AUXC, rows, cols, rmask, cmask, b_dist, FAM[5])
    return k


@triton.jit
def kernel_grads(g, r2, dot, shift, acc_th, TH, AUXR, AUXC, rows, cols, rmask, cmask,
                 FAM: tl.constexpr, HAS_SHIFT: tl.constexpr, NEED_TH: tl.constexpr,
                 PB: tl.constexpr):
    """(D, E, acc_th): D = g·∂k/∂r², E = g·∂k/∂⟨x,y⟩ on the tile, θ-gradient partials added."""
    b_lap = 2 * FAM[0]
    b_rq = b_lap + 2 * FAM[1]
    b_dot = b_rq + 3 * FAM[2]
    b_poly = b_dot + FAM[3]
    b_dist = b_poly + 4 * FAM[4]
    D = tl.zeros(r2.shape, r2.dtype)
    E = tl.zeros(r2.shape, r2.dtype)
    if FAM[0] > 0:
        D, acc_th = expo_grad(g, r2, 1.0, shift, D, acc_th, TH, 0, FAM[0], HAS_SHIFT, NEED_TH,
                              PB)
    if FAM[1] > 0:
        D, acc_th = expo_grad(g, tl.sqrt(r2), half_inv_sqrt(r2), shift, D, acc_th, TH, b_lap,
                              FAM[1], HAS_SHIFT, NEED_TH, PB)
    if FAM[2] > 0:
        D, acc_th = rq_grad(g, r2, shift, D, acc_th, TH, b_rq, FAM[2], HAS_SHIFT, NEED_TH, PB)
    if FAM[3] > 0:
        E, acc_th = dot_grad(g, dot, E, acc_th, TH, b_dot, FAM[3], NEED_TH, PB)
    if FAM[4] > 0:
        E, acc_th = poly_grad(g, dot, E, acc_th, TH, b_poly, FAM[4], NEED_TH, PB)
    if FAM[5] > 0:
        D, acc_th = distance_grad(g, r2, D, acc_th, TH, AUXR, AUXC, rows, cols, rmask, cmask,
                                  b_dist, FAM[5], NEED_TH, PB)
    return D, E, acc_th


@triton.jit
def kernel_logit_max(r2, FAM: tl.constexpr, TH):
    """max over components of log₂(w) + exponent (positive families only)."""
    mx = tl.full(r2.shape, float("-inf"), r2.dtype)
    if FAM[0] > 0:
        mx = expo_logit(mx, r2, TH, 0, FAM[0])
    if FAM[1] > 0:
        mx = expo_logit(mx, tl.sqrt(r2), TH, 2 * FAM[0], FAM[1])
    if FAM[2] > 0:
        mx = rq_logit(mx, r2, TH, 2 * FAM[0] + 2 * FAM[1], FAM[2])
    return mx
