"""Kernel and nearest-neighbour metrics on the engine's reductions (SPEC §7; 000 §3.3).

- MMD² between data and samples (SPEC §4.1; Gretton et al. 2012; 000 Table 1 "MMD"), by
  default with a Gaussian kernel whose σ is the median heuristic on the pooled sample.
- JSD-F / JSD-S: the two terms of the Kernel GAN objective K_n (SPEC §5; 000 eq. 12) computed
  on held-out data and generated samples, K_n → −log 4 ≈ −1.386, JSD-F, JSD-S → −log 2 when
  the two agree (000 Table 1, "MNIST Test"). Leave-one-out KDEs by default (``exclude_self``),
  so that a point never counts towards its own density.
- ENN: the expected Euclidean distance from a generated sample to its nearest neighbour in the
  training set, E_x̃ min_i ‖x̃ − x_i‖ (000 §3.3), via :func:`kdecore.pairwise_nearest`
  (the engine's min-reduction; memory O(m + n)).
"""

from __future__ import annotations

import torch
from torch import Tensor

import kdecore as kd
from kdecore.validation import check_pair

from .stream import DEFAULT_CHUNK, FeatureFn, StreamMetric

BandwidthLike = float | Tensor | str


def default_kernel(x: Tensor, y: Tensor) -> kd.Kernel:
    """Gaussian kernel with σ = median heuristic on the pooled sample (SPEC §3)."""
    return kd.RBF(float(kd.bandwidth(x, y, "median")))


def mmd2(x: Tensor, y: Tensor, kernel: kd.Kernel | str | None = None, *,
         estimator: str = "unbiased", backend: str = "auto") -> Tensor:
    """MMD²(x, y) with ``kernel`` (SPEC §4.1) as an evaluation metric: :func:`kdecore.mmd2`,
    with ``kernel=None`` a Gaussian kernel at the median-heuristic bandwidth of x ∪ y."""
    x, y = check_pair(x, y, "x", "y", allow_1d=True)
    k = default_kernel(x, y) if kernel is None else kernel
    return kd.mmd2(x, y, k, estimator=estimator, backend=backend)


def jsd(data: Tensor, fake: Tensor, bandwidth: BandwidthLike, *, phi: float = 0.0,
        exclude_self: bool = True, backend: str = "auto") -> tuple[Tensor, Tensor, Tensor]:
    """(K_n, JSD-F, JSD-S) of 000 eq. 12 (SPEC §5) between held-out ``data`` and generated
    ``fake``: :func:`kdecore.kernel_gan_objective` with leave-one-out KDEs by default.

    JSD-F = (1/n) Σ_i log[(p̂(X_i)+φ)/(p̂(X_i)+p̂_θ(X_i)+2φ)] (data side),
    JSD-S = (1/n) Σ_i log[(p̂_θ(G_i)+φ)/(p̂(G_i)+p̂_θ(G_i)+2φ)] (sample side), K_n their sum;
    (K_n + log 4)/2 estimates the Jensen–Shannon divergence.
    """
    return kd.kernel_gan_objective(data, fake, bandwidth, phi=phi, exclude_self=exclude_self,
                                   backend=backend)


def enn(samples: Tensor, train: Tensor, *, backend: str = "auto") -> Tensor:
    """ENN = (1/n) Σ_j min_i ‖x̃_j − x_i‖  (000 §3.3): mean distance from each generated
    sample to its nearest training point, float64 0-d tensor."""
    samples, train = check_pair(samples, train, "samples", "train", allow_1d=True)
    with torch.no_grad():
        dist, _ = kd.pairwise_nearest(samples.detach(), train.detach(), backend=backend)
    return dist.double().mean()


class MMD(StreamMetric):
    """Streaming MMD² between real (``real=True``) and generated batches →
    ``{"mmd2": float}``; ``kernel=None``: median-heuristic Gaussian at compute time."""

    def __init__(self, extractor: FeatureFn | None = None, *,
                 kernel: kd.Kernel | str | None = None, estimator: str = "unbiased",
                 backend: str = "auto", device: torch.device | str | None = None,
                 chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        self.kernel = None if kernel is None else kd.kernel(kernel)
        if estimator not in kd.estimators.ESTIMATORS:
            raise ValueError(f"unknown estimator {estimator!r}; known: "
                             f"{', '.join(kd.estimators.ESTIMATORS)}")
        self.estimator = estimator
        self.backend = backend

    def compute(self) -> dict[str, float]:
        value = mmd2(self.gathered("real"), self.gathered("fake"), self.kernel,
                     estimator=self.estimator, backend=self.backend)
        return {"mmd2": float(value)}


class JSD(StreamMetric):
    """Streaming JSD-F/JSD-S (000 §3.3) between held-out data (``real=True``) and generated
    batches → ``{"jsd", "jsd_f", "jsd_s"}`` with ``jsd`` = K_n as in 000 Table 1."""

    def __init__(self, bandwidth: BandwidthLike, extractor: FeatureFn | None = None, *,
                 phi: float = 0.0, exclude_self: bool = True, backend: str = "auto",
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        self.bandwidth = bandwidth
        self.phi = phi
        self.exclude_self = exclude_self
        self.backend = backend

    def compute(self) -> dict[str, float]:
        k_n, f, s = jsd(self.gathered("real"), self.gathered("fake"), self.bandwidth,
                        phi=self.phi, exclude_self=self.exclude_self, backend=self.backend)
        return {"jsd": float(k_n), "jsd_f": float(f), "jsd_s": float(s)}


class ENN(StreamMetric):
    """Streaming ENN (000 §3.3): training data as ``real=True`` batches, generated samples as
    ``real=False`` → ``{"enn": float}``."""

    def __init__(self, extractor: FeatureFn | None = None, *, backend: str = "auto",
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        self.backend = backend

    def compute(self) -> dict[str, float]:
        return {"enn": float(enn(self.gathered("fake"), self.gathered("real"),
                                 backend=self.backend))}


__all__ = ["ENN", "JSD", "MMD", "default_kernel", "enn", "jsd", "mmd2"]
