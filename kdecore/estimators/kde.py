"""Gaussian kernel density estimates, in the log domain (SPEC §3; 000 §2.5)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..families import RBF
from ..reductions import pairwise_logsumexp, pairwise_sums
from ..validation import as_weights, check_pair, require_points
from .bandwidth import RULES
from .bandwidth import bandwidth as bandwidth_rule

BandwidthLike = float | Tensor | str


def resolve_bandwidth(bw: BandwidthLike, data: Tensor) -> Tensor:
    """σ as a tensor: a positive float, a 0-d tensor (possibly learned), or a rule name."""
    if isinstance(bw, str):
        if bw not in RULES:
            raise ValueError(f"unknown bandwidth rule {bw!r}; known: {', '.join(RULES)}")
        return bandwidth_rule(data, rule=bw)
    if isinstance(bw, bool) or not isinstance(bw, int | float | Tensor):
        raise TypeError(f"bandwidth must be a positive number, a 0-d tensor or a rule name, "
                        f"got {type(bw).__name__}")
    t = bw if isinstance(bw, Tensor) else torch.tensor(float(bw), dtype=torch.float64)
    if t.dim() != 0:
        raise ValueError(f"bandwidth must be a scalar, got shape {tuple(t.shape)}")
    with torch.no_grad():
        if not bool(torch.isfinite(t)) or not bool(t > 0):
            raise ValueError(f"bandwidth must be a finite number > 0, got {float(t)}")
    return t


def log_normalizer(sigma: Tensor, d: int, like: Tensor) -> Tensor:
    """log (2πσ²)^(−d/2), the log of the Gaussian density's constant (SPEC §1, K_σ)."""
    s = sigma.to(device=like.device, dtype=like.dtype)
    return -0.5 * d * (math.log(2.0 * math.pi) + 2.0 * torch.log(s))


def log_kde(query: Tensor, data: Tensor | None, sigma: Tensor, *,
            log_weights: Tensor | None = None, count: Tensor | float,
            backend: str) -> Tensor:
    """log p̂(q) = logsumexp_i(log w_i − ‖q − x_i‖²/(2σ²)) − log Σw − (d/2) log(2πσ²).

    ``data=None`` evaluates at the data points themselves, leaving each point out.
    ``count`` is Σw (n, or n − 1 when leaving one out, for unit weights)."""
    lse = pairwise_logsumexp(query, data, RBF(sigma), y_log_weights=log_weights,
                             backend=backend)
    total = count if isinstance(count, Tensor) else torch.tensor(float(count))
    return lse - torch.log(total.to(lse)) + log_normalizer(sigma, query.shape[1], lse)


def kde(query: Tensor, data: Tensor, bandwidth: BandwidthLike, *,
        weights: Tensor | None = None, log: bool = False, backend: str = "auto") -> Tensor:
    """Gaussian KDE p̂(q) = Σ_i w_i K_σ(q − x_i) / Σ_i w_i,
    K_σ(u) = (2πσ²)^(−d/2) exp(−‖u‖²/(2σ²))  (SPEC §3), at each query point; shape (len(query),).

    ``log=True`` returns log p̂ through a log-sum-exp (finite far from the data, where p̂
    underflows; scikit-learn's ``score_samples``). ``bandwidth``: σ > 0 as a float or 0-d
    tensor (differentiable), or a rule name ``"scott"``, ``"silverman"``, ``"median"``
    computed on ``data``. ``weights``: non-negative sample weights. A 1-D input is read as
    points with one feature.
    """
    query, data = check_pair(query, data, "query", "data", allow_1d=True)
    sigma = resolve_bandwidth(bandwidth, data)
    if weights is not None:
        weights = as_weights(weights, data.shape[0], "weights", data, nonnegative=True)
    if log:
        lw = None if weights is None else torch.log(weights)
        count = data.shape[0] if weights is None else weights.sum()
        return log_kde(query, data, sigma, log_weights=lw, count=count, backend=backend)
    sums = pairwise_sums(query, data, RBF(sigma), y_weights=weights, backend=backend).rows
    total = float(data.shape[0]) if weights is None else weights.sum()
    return sums / total * torch.exp(log_normalizer(sigma, data.shape[1], sums))


def kde_ratio(query: Tensor, data_p: Tensor, data_q: Tensor, bandwidth: BandwidthLike, *,
              phi: float = 0.0, backend: str = "auto") -> Tensor:
    """The kernel discriminator d*(q) = (p̂(q) + φ) / (p̂(q) + q̂(q) + 2φ)  (SPEC §3;
    000 eq. 9, 12), with p̂, q̂ Gaussian KDEs of ``data_p`` and ``data_q``; in (0, 1).

    Computed in the log domain (for φ = 0 it is sigmoid(log p̂ − log q̂)), so it stays exact
    where both densities underflow. A rule-name bandwidth is computed on the pooled data.
    """
    query, data_p = check_pair(query, data_p, "query", "data_p", allow_1d=True)
    query, data_q = check_pair(query, data_q, "query", "data_q", allow_1d=True)
    phi = _check_phi(phi)
    sigma = resolve_bandwidth(bandwidth, torch.cat([data_p, data_q]) if isinstance(
        bandwidth, str) else data_p)
    lp = log_kde(query, data_p, sigma, count=data_p.shape[0], backend=backend)
    lq = log_kde(query, data_q, sigma, count=data_q.shape[0], backend=backend)
    return torch.exp(log_discriminator(lp, lq, phi))


def log_discriminator(lp: Tensor, lq: Tensor, phi: float) -> Tensor:
    """log[(p + φ)/(p + q + 2φ)] from log p and log q, without leaving the log domain."""
    if phi == 0.0:
        return -torch.nn.functional.softplus(lq - lp)
    lphi = math.log(phi)
    num = torch.logaddexp(lp, torch.full_like(lp, lphi))
    den = torch.logaddexp(torch.logaddexp(lp, lq), torch.full_like(lp, lphi + math.log(2.0)))
    return num - den


def _check_phi(phi: float) -> float:
    if isinstance(phi, bool) or not isinstance(phi, int | float) or not math.isfinite(phi) \
            or phi < 0:
        raise ValueError(f"phi must be a finite number >= 0, got {phi!r}")
    return float(phi)


def kernel_gan_objective(data: Tensor, fake: Tensor, bandwidth: BandwidthLike, *,
                         phi: float = 0.0, exclude_self: bool = False,
                         backend: str = "auto") -> tuple[Tensor, Tensor, Tensor]:
    """The Kernel GAN objective K_n = JSD-F + JSD-S (SPEC §5; 000 eq. 12), as (K_n, jsd_f, jsd_s).

    JSD-F = (1/n) Σ_i log[(p̂(X_i) + φ) / (p̂(X_i) + p̂_θ(X_i) + 2φ)],
    JSD-S = (1/n) Σ_i log[(p̂_θ(G_i) + φ) / (p̂(G_i) + p̂_θ(G_i) + 2φ)],
    with p̂ the Gaussian KDE of ``data`` and p̂_θ that of ``fake`` = G(Z). Each term tends to
    −log 2 and K_n to −log 4 ≈ −1.386 when the two distributions agree (000 Table 1). All in
    log space, so small bandwidths do not underflow. ``exclude_self=True`` leaves each point out
    of its own set's KDE (leave-one-out; needs 2 points per set). The generator minimizes K_n
    (gradients flow to ``fake``).

    Finite samples bias K_n: with each point in its own KDE it sits above −log 4 (by ≈ 0.04 for
    1000 points of a 2-D Gaussian at σ = 0.3), and leave-one-out moves it below, strongly when
    σ is small for the sample size (400 points, σ = 0.1: K_n ≈ −2.0). Use a bandwidth that
    suits n when K_n is read as a divergence (metrics), not only as a training signal.
    """
    data, fake = check_pair(data, fake, "data", "fake", allow_1d=True)
    phi = _check_phi(phi)
    if exclude_self:
        require_points(data, "data", 2, "a leave-one-out KDE (exclude_self=True)")
        require_points(fake, "fake", 2, "a leave-one-out KDE (exclude_self=True)")
    sigma = resolve_bandwidth(bandwidth, data)
    n_d, n_f = data.shape[0], fake.shape[0]
    own_d = (None, n_d - 1) if exclude_self else (data, n_d)
    own_f = (None, n_f - 1) if exclude_self else (fake, n_f)
    lp_x = log_kde(data, own_d[0], sigma, count=own_d[1], backend=backend)
    lq_x = log_kde(data, fake, sigma, count=n_f, backend=backend)
    lp_g = log_kde(fake, data, sigma, count=n_d, backend=backend)
    lq_g = log_kde(fake, own_f[0], sigma, count=own_f[1], backend=backend)
    jsd_f = log_discriminator(lp_x, lq_x, phi).mean()
    jsd_s = log_discriminator(lq_g, lp_g, phi).mean()
    return jsd_f + jsd_s, jsd_f, jsd_s
