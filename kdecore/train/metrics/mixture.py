"""Mode coverage and sample quality on mixture-of-Gaussians data (SPEC §7, §8).

The protocol of VEEGAN (Srivastava et al., NeurIPS 2017, §5 "Synthetic dataset"; the wording
below is from the authors' project page), which later 2-D ring/grid studies reuse (PacGAN, Lin
et al. 2018; GDPP's reference code counts modes the same way): a generated sample is *high
quality* when it lies within ``n_sigma`` (3) standard deviations of its nearest mode centre,
and a mode is *covered* ("captured") when it is the nearest centre of at least one
high-quality sample. ``min_samples`` raises that minimum to ignore stray samples; the default
1 is VEEGAN's rule.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

import kdecore as kd
from kdecore.validation import as_points

from .stream import StreamMetric, check_int

#: a mode is covered when at least this many high-quality samples fall nearest to it (VEEGAN)
MODE_MIN_SAMPLES = 1


def _check_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def mixture_quality(samples: Tensor, centers: Tensor, std: float, *, n_sigma: float = 3.0,
                    min_samples: int = MODE_MIN_SAMPLES) -> dict:
    """Modes covered and high-quality fraction of ``samples`` for a Gaussian mixture with
    mode centres ``centers`` (k, d) and per-coordinate standard deviation ``std`` (SPEC §7).

    With c(x) = argmin_j ‖x − μ_j‖ (``kd.pairwise_nearest``, never an n×k matrix):

    - x is high quality  ⇔  ‖x − μ_c(x)‖ ≤ n_sigma · std;
    - hq_fraction = #{high-quality x} / n;
    - mode j is covered  ⇔  #{high-quality x : c(x) = j} ≥ ``min_samples`` (default 1,
      VEEGAN: "the number of mixture components whose mean is nearest to at least one high
      quality sample").

    Returns ``{"modes_covered": int, "n_modes": int, "hq_fraction": float}``.
    """
    samples = as_points(samples, "samples", allow_1d=True)
    if not isinstance(centers, Tensor):
        raise TypeError(f"centers must be a torch.Tensor, got {type(centers).__name__}")
    centers = as_points(centers.to(device=samples.device, dtype=samples.dtype), "centers",
                        allow_1d=True)
    if centers.shape[1] != samples.shape[1]:
        raise ValueError(f"samples and centers must have the same number of features: samples "
                         f"has {samples.shape[1]}, centers has {centers.shape[1]}")
    std = _check_positive(std, "std")
    n_sigma = _check_positive(n_sigma, "n_sigma")
    check_int(min_samples, "min_samples", 1)
    counts, n_hq = _hq_counts(samples, centers, n_sigma * std)
    return _summary(counts, n_hq, samples.shape[0], min_samples)


def _hq_counts(samples: Tensor, centers: Tensor, radius: float) -> tuple[Tensor, int]:
    """High-quality samples per mode (k,) and their total."""
    with torch.no_grad():
        dist, idx = kd.pairwise_nearest(samples.detach(), centers)
        hq = dist <= radius
        return torch.bincount(idx[hq], minlength=centers.shape[0]), int(hq.sum())


def _summary(counts: Tensor, n_hq: int, n: int, min_samples: int) -> dict:
    return {"modes_covered": int((counts >= min_samples).sum()), "n_modes": int(counts.numel()),
            "hq_fraction": n_hq / n}


class MixtureQuality(StreamMetric):
    """:func:`mixture_quality` over a stream of generated batches (``real=False``), keeping only
    per-mode counts → ``{"modes_covered", "n_modes", "hq_fraction"}`` (as floats)."""

    sides = ("fake",)

    def __init__(self, centers: Tensor, std: float, *, n_sigma: float = 3.0,
                 min_samples: int = MODE_MIN_SAMPLES) -> None:
        super().__init__()
        if not isinstance(centers, Tensor):
            raise TypeError(f"centers must be a torch.Tensor, got {type(centers).__name__}")
        self.centers = as_points(centers, "centers", allow_1d=True).detach()
        self.radius = _check_positive(n_sigma, "n_sigma") * _check_positive(std, "std")
        self.min_samples = check_int(min_samples, "min_samples", 1)
        self.reset()

    def _add(self, side: str, feats: Tensor) -> None:
        if feats.shape[1] != self.centers.shape[1]:
            raise ValueError(f"samples have {feats.shape[1]} features, centers have "
                             f"{self.centers.shape[1]}")
        counts, n_hq = _hq_counts(feats, self.centers.to(feats), self.radius)
        self._counts = self._counts + counts.cpu()
        self._n_hq += n_hq
        self._n += feats.shape[0]

    def count(self, side: str) -> int:
        return self._n if side == "fake" else 0

    def reset(self) -> None:
        super().reset()
        self._counts = torch.zeros(self.centers.shape[0], dtype=torch.long)
        self._n_hq = 0
        self._n = 0

    def compute(self) -> dict[str, float]:
        if self._n == 0:
            raise ValueError("MixtureQuality.compute() needs samples: call update(batch) first")
        return {k: float(v) for k, v in _summary(self._counts, self._n_hq, self._n,
                                                 self.min_samples).items()}


__all__ = ["MODE_MIN_SAMPLES", "MixtureQuality", "mixture_quality"]
