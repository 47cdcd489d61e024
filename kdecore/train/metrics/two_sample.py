"""1-nearest-neighbour two-sample test: leave-one-out accuracy (SPEC §7; 001, "1-NN
classifier", after Lopez-Paz & Oquab 2017 and Xu et al. 2018).

Pool S_r (real, label 1) and S_g (generated, label 0); classify every point by the label of its
nearest *other* point in the pool (leave-one-out), found with the engine's min-reduction
:func:`kdecore.pairwise_nearest` (memory O(m + n)). With |S_r| = |S_g| the accuracy is ≈ 0.5
when the two distributions agree and → 1 when they are separated; well below 0.5 signals
memorization (generated points sit next to training points). The per-side accuracies tell
which side is recognized: real_accuracy ≈ 1, fake_accuracy ≈ 0 is mode dropping, the reverse
a generator that covers the data with poor samples.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

import kdecore as kd
from kdecore.validation import check_pair

from .stream import DEFAULT_CHUNK, FeatureFn, StreamMetric


class OneNNResult(NamedTuple):
    """Leave-one-out 1-NN accuracy over the pool, on the real points, on the generated ones."""

    accuracy: float
    real_accuracy: float
    fake_accuracy: float


def one_nn_accuracy(real: Tensor, fake: Tensor, *, backend: str = "auto") -> OneNNResult:
    """Leave-one-out accuracy of the 1-NN classifier real-vs-generated on the pooled sample
    (SPEC §7): acc = (1/(m+n)) Σ_z 1[label(NN(z)) = label(z)], NN(z) the nearest other point.

    Ties between equidistant neighbours are broken by the backend's argmin.
    """
    real, fake = check_pair(real, fake, "real", "fake", allow_1d=True)
    m, n = real.shape[0], fake.shape[0]
    if m + n < 2:
        raise ValueError("one_nn_accuracy needs at least 2 points in all")
    with torch.no_grad():
        pool = torch.cat([real.detach(), fake.detach()])
        _, idx = kd.pairwise_nearest(pool, backend=backend)
        is_real = torch.arange(m + n, device=pool.device) < m
        correct = (is_real[idx] == is_real).double()
    return OneNNResult(float(correct.mean()), float(correct[:m].mean()),
                       float(correct[m:].mean()))


class OneNNAccuracy(StreamMetric):
    """Streaming 1-NN two-sample accuracy: real (``real=True``) and generated batches →
    ``{"one_nn_accuracy", "one_nn_real_accuracy", "one_nn_fake_accuracy"}``."""

    def __init__(self, extractor: FeatureFn | None = None, *, backend: str = "auto",
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        self.backend = backend

    def compute(self) -> dict[str, float]:
        r = one_nn_accuracy(self.gathered("real"), self.gathered("fake"), backend=self.backend)
        return {"one_nn_accuracy": r.accuracy, "one_nn_real_accuracy": r.real_accuracy,
                "one_nn_fake_accuracy": r.fake_accuracy}


__all__ = ["OneNNAccuracy", "OneNNResult", "one_nn_accuracy"]
