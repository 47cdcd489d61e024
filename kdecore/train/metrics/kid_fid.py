"""KID and FID on classifier features (SPEC §4.4, §7; 002 §4, Appendix D).

KID is the engine's :func:`kdecore.kid` (unbiased MMD² with the cubic polynomial kernel,
mean and std over subsets). FID is the Fréchet distance between Gaussians fitted to the two
feature sets, in float64, with the trace of the matrix square root taken from the eigenvalues
of the symmetric PSD matrix √Σ₁ Σ₂ √Σ₁ (same spectrum as Σ₁Σ₂), never from a general
(possibly complex) ``sqrtm``.
"""

from __future__ import annotations

import torch
from torch import Tensor

import kdecore as kd
from kdecore.validation import as_points, check_pair, require_points

from .stream import DEFAULT_CHUNK, FeatureFn, StreamMetric, check_int


def sqrtm_psd(s: Tensor) -> Tensor:
    """Symmetric square root of a symmetric PSD matrix via ``eigh`` (negative round-off
    eigenvalues clamped to 0): √S = V diag(√max(λ, 0)) Vᵀ."""
    s = 0.5 * (s + s.T)
    lam, v = torch.linalg.eigh(s)
    return (v * lam.clamp(min=0.0).sqrt()) @ v.T


def trace_sqrt_product(s1: Tensor, s2: Tensor) -> Tensor:
    """Tr((Σ₁Σ₂)^{1/2}) = Σ_i √λ_i(√Σ₁ Σ₂ √Σ₁) for PSD Σ₁, Σ₂ (Σ₁Σ₂ and √Σ₁Σ₂√Σ₁ are
    similar, and the latter is symmetric PSD, so its eigenvalues are real and ≥ 0)."""
    r = sqrtm_psd(s1)
    m = r @ s2 @ r
    lam = torch.linalg.eigvalsh(0.5 * (m + m.T))
    return lam.clamp(min=0.0).sqrt().sum()


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> Tensor:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2})  (SPEC §7; 002 Appendix D), in float64.

    The Fréchet (Wasserstein-2) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); clamped at 0
    against round-off."""
    for t, name, dim in ((mu1, "mu1", 1), (sigma1, "sigma1", 2), (mu2, "mu2", 1),
                         (sigma2, "sigma2", 2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != dim:
            raise ValueError(f"{name} must have {dim} dimension(s), got shape {tuple(t.shape)}")
    d = mu1.shape[0]
    for t, name in ((sigma1, "sigma1"), (sigma2, "sigma2")):
        if tuple(t.shape) != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}), got {tuple(t.shape)}")
    if mu2.shape[0] != d:
        raise ValueError(f"mu1 and mu2 must have the same length, got {d} and {mu2.shape[0]}")
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    diff = mu1 - mu2
    fd = diff.dot(diff) + sigma1.trace() + sigma2.trace() - 2.0 * trace_sqrt_product(sigma1,
                                                                                    sigma2)
    return fd.clamp(min=0.0)


def gaussian_moments(feats: Tensor, name: str = "feats") -> tuple[Tensor, Tensor]:
    """(mean, unbiased covariance) of (n, d) features in float64 (002 Appendix D's plug-in
    estimates μ̂ = (1/n) Σ x_i, Σ̂ = 1/(n−1) Σ (x_i − μ̂)(x_i − μ̂)ᵀ)."""
    x = as_points(feats, name).double()
    require_points(x, name, 2, "a covariance")
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (x.shape[0] - 1)


def fid(feats_x: Tensor, feats_y: Tensor) -> Tensor:
    """FID = ‖μ_x − μ_y‖² + Tr(Σ_x + Σ_y − 2(Σ_xΣ_y)^{1/2}) between two feature sets
    (SPEC §7; Heusel et al. 2017; 002 §4), a float64 0-d tensor. Biased upwards for finite n
    (002 Fig. 1b): compare FIDs only at equal n."""
    x, y = check_pair(feats_x, feats_y, "feats_x", "feats_y")
    return frechet_distance(*gaussian_moments(x, "feats_x"), *gaussian_moments(y, "feats_y"))


kid = kd.kid


class _Moments:
    """Running count, mean and scatter matrix in float64, merged batch by batch with Chan et
    al.'s pairwise update (no features kept: O(d²) memory)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: Tensor | None = None
        self.m2: Tensor | None = None

    def add(self, x: Tensor) -> None:
        x = x.double()
        nb = x.shape[0]
        mb = x.mean(0)
        xc = x - mb
        m2b = xc.T @ xc
        if self.mean is None:
            self.n, self.mean, self.m2 = nb, mb, m2b
            return
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"batch has {x.shape[1]} features, earlier batches had "
                             f"{self.mean.shape[0]}")
        n = self.n + nb
        delta = mb - self.mean
        self.m2 = self.m2 + m2b + torch.outer(delta, delta) * (self.n * nb / n)
        self.mean = self.mean + delta * (nb / n)
        self.n = n

    def moments(self, name: str) -> tuple[Tensor, Tensor]:
        if self.n < 2:
            raise ValueError(f"FID needs at least 2 {name} points, got {self.n}")
        return self.mean, self.m2 / (self.n - 1)


class FID(StreamMetric):
    """Streaming FID (SPEC §7): keeps only running float64 means and covariances per side
    (O(d²) memory, whatever the number of samples). ``compute()`` → ``{"fid": float}``."""

    def __init__(self, extractor: FeatureFn | None = None, *,
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        self.reset()

    def _add(self, side: str, feats: Tensor) -> None:
        self._moments[side].add(feats)

    def count(self, side: str) -> int:
        return self._moments[side].n

    def reset(self) -> None:
        super().reset()
        self._moments = {"real": _Moments(), "fake": _Moments()}

    def compute(self) -> dict[str, float]:
        mr, sr = self._moments["real"].moments("real")
        mf, sf = self._moments["fake"].moments("fake")
        if mr.shape != mf.shape:
            raise ValueError(f"real and fake features differ in size: {mr.shape[0]} and "
                             f"{mf.shape[0]}")
        return {"fid": float(frechet_distance(mr, sr, mf, sf))}


class KID(StreamMetric):
    """Streaming KID (SPEC §4.4): accumulates features, then :func:`kdecore.kid` with the same
    arguments (``subsets=None`` for the full estimator). A ``generator`` (or ``seed``) makes
    the subset draws reproducible. ``compute()`` → ``{"kid_mean", "kid_std"}``."""

    def __init__(self, extractor: FeatureFn | None = None, *, subsets: int | None = 100,
                 subset_size: int = 1000, degree: int = 3, gamma: float | None = None,
                 coef0: float = 1.0, seed: int | None = 0,
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        if subsets is not None:
            check_int(subsets, "subsets", 1)
        self.kid_args = {"subsets": subsets, "subset_size": check_int(subset_size,
                                                                      "subset_size", 2),
                         "degree": degree, "gamma": gamma, "coef0": coef0}
        self.seed = None if seed is None else check_int(seed, "seed", 0)

    def compute(self) -> dict[str, float]:
        gen = None if self.seed is None else torch.Generator().manual_seed(self.seed)
        mean, std = kd.kid(self.gathered("real"), self.gathered("fake"), generator=gen,
                           **self.kid_args)
        return {"kid_mean": float(mean), "kid_std": float(std)}


__all__ = ["FID", "KID", "fid", "frechet_distance", "gaussian_moments", "kid", "sqrtm_psd",
           "trace_sqrt_product"]
