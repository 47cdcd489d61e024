"""Dense float64 reference formulas, written out here independently of kdecore (SPEC §1–4).

Used only on small inputs: each builds the full kernel matrix.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def sqdist(x: Tensor, y: Tensor) -> Tensor:
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def dist(x: Tensor, y: Tensor) -> Tensor:
    return sqdist(x, y).sqrt()


def rbf(x, y, sigmas, weights=None):
    sigmas = [float(s) for s in torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)]
    weights = [1.0] * len(sigmas) if weights is None else [float(w) for w in weights]
    r2 = sqdist(x, y)
    return sum(w * torch.exp(-r2 / (2 * s * s)) for s, w in zip(sigmas, weights, strict=True))


def laplacian(x, y, sigma):
    return torch.exp(-dist(x, y) / sigma)


def rq(x, y, alphas, lengthscale=1.0):
    alphas = [float(a) for a in torch.as_tensor(alphas, dtype=torch.float64).reshape(-1)]
    r2 = sqdist(x, y)
    return sum((1 + r2 / (2 * a * lengthscale**2)) ** (-a) for a in alphas)


def dot(x, y):
    return x @ y.T


def distance(x, y, beta=1.0, anchored=True):
    cross = dist(x, y) ** beta
    if not anchored:
        return -0.5 * cross
    nx = x.norm(dim=1) ** beta
    ny = y.norm(dim=1) ** beta
    return 0.5 * (nx[:, None] + ny[None, :] - cross)


def poly(x, y, degree=3, gamma=None, coef0=1.0):
    g = 1.0 / x.shape[1] if gamma is None else gamma
    return (g * (x @ y.T) + coef0) ** degree


def offdiag(k: Tensor) -> Tensor:
    return k - torch.diag(torch.diagonal(k))


def mmd2_unbiased(kxx, kyy, kxy):
    m, n = kxx.shape[0], kyy.shape[0]
    return (offdiag(kxx).sum() / (m * (m - 1)) + offdiag(kyy).sum() / (n * (n - 1))
            - 2 * kxy.sum() / (m * n))


def mmd2_biased(kxx, kyy, kxy):
    m, n = kxx.shape[0], kyy.shape[0]
    return kxx.sum() / m**2 + kyy.sum() / n**2 - 2 * kxy.sum() / (m * n)


def mmd2_variance(kxx, kyy, kxy):
    """Sutherland et al. (2017) as in the MMD-GAN reference code, from dense matrices."""
    m = kxx.shape[0]
    kt_xx, kt_yy = offdiag(kxx), offdiag(kyy)
    a, b = kt_xx.sum(1), kt_yy.sum(1)
    c, cp = kxy.sum(1), kxy.sum(0)
    big_a, big_b, big_c = a.sum(), b.sum(), c.sum()
    a2, b2, c2 = (kt_xx**2).sum(), (kt_yy**2).sum(), (kxy**2).sum()
    return (2 / (m**2 * (m - 1) ** 2) * (2 * a @ a - a2 + 2 * b @ b - b2)
            - (4 * m - 6) / (m**3 * (m - 1) ** 3) * (big_a**2 + big_b**2)
            + 4 * (m - 2) / (m**3 * (m - 1) ** 2) * (c @ c + cp @ cp)
            - 4 * (m - 3) / (m**3 * (m - 1) ** 2) * c2
            - (8 * m - 12) / (m**5 * (m - 1)) * big_c**2
            + 8 / (m**3 * (m - 1)) * ((big_a + big_b) * big_c / m - a @ c - b @ cp))


def relative_test(kxx, kyy, kzz, kxy, kxz):
    """Bounliphone et al.'s MMD_Diff_Var and 3-sample statistic, from dense matrices."""
    m, n, r = kxy.shape[0], kyy.shape[0], kzz.shape[0]
    kyynd, kzznd = offdiag(kyy), offdiag(kzz)
    u_yy = kyynd.sum() / (n * (n - 1))
    u_zz = kzznd.sum() / (r * (r - 1))
    u_xy = kxy.sum() / (m * n)
    u_xz = kxz.sum() / (m * r)
    t1 = (kyynd.T @ kyynd).sum() / n**3 - u_yy**2
    t2 = (kxy.T @ kxy).sum() / (n**2 * m) - u_xy**2
    t3 = (kxy @ kxy.T).sum() / (n * m**2) - u_xy**2
    t4 = (kzznd.T @ kzznd).sum() / r**3 - u_zz**2
    t5 = (kxz @ kxz.T).sum() / (r * m**2) - u_xz**2
    t6 = (kxz.T @ kxz).sum() / (r**2 * m) - u_xz**2
    t7 = (kyynd @ kxy.T).sum() / (n**2 * m) - u_yy * u_xy
    t8 = (kxy.T @ kxz).sum() / (n * m * r) - u_xz * u_xy
    t9 = (kzznd @ kxz.T).sum() / (r**2 * m) - u_zz * u_xz
    zeta1 = t1 + t2 + t3 + t4 + t5 + t6 - 2 * (t7 + t8 + t9)
    var = 4 * (m - 2) / (m * (m - 1)) * zeta1
    t = u_yy - 2 * u_xy - (u_zz - 2 * u_xz)
    p = 0.5 * math.erfc(float(t / var.sqrt()) / math.sqrt(2))
    return p, t


def gaussian_log_kde(q, data, sigma, weights=None):
    d = q.shape[1]
    logk = -sqdist(q, data) / (2 * sigma**2)
    if weights is not None:
        logk = logk + torch.log(weights)[None, :]
        total = weights.sum()
    else:
        total = torch.tensor(float(data.shape[0]), dtype=q.dtype)
    return torch.logsumexp(logk, 1) - torch.log(total) - 0.5 * d * math.log(2 * math.pi * sigma**2)
