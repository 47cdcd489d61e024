"""Birthday-paradox duplicate search (SPEC §7; 001, after Arora & Zhang 2017).

If a distribution has support of size N, a sample of size s ≈ √N likely holds a duplicate.
The test: draw a batch of s generated samples, flag the k (20 in the paper) most similar pairs,
inspect them for near-duplicates, repeat; if batches of size s contain a duplicate with
probability ≥ ½, the support size is about s².

The flagged pairs come from the engine's min-reduction (:func:`kdecore.pairwise_nearest`,
memory O(s)): each point's nearest other point gives an edge of the nearest-neighbour graph, the
edges are deduplicated ({i, j} = {j, i}) and the k shortest returned. Every near-duplicate pair
is such an edge (two points much closer to each other than to anything else are mutual nearest
neighbours) and the closest pair overall always is; in a cluster of ≥ 3 near-identical points
each point is reported with its closest partner only.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

import kdecore as kd
from kdecore.validation import as_points

from .stream import DEFAULT_CHUNK, FeatureFn, StreamMetric, check_int


class ClosestPairs(NamedTuple):
    """The k flagged pairs, closest first: distances (k,) and indices (k, 2) with i < j."""

    distances: Tensor
    pairs: Tensor


def closest_pairs(x: Tensor, k: int = 20, *, backend: str = "auto") -> ClosestPairs:
    """The k shortest edges {i, j} (i < j) of the nearest-neighbour graph of the batch ``x``
    (n, d), sorted by distance ‖x_i − x_j‖ (see the module docstring). k ≤ n // 2, the number
    of distinct edges such a graph always has."""
    x = as_points(x, "x", allow_1d=True)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"x needs at least 2 points to have pairs, got {n}")
    k = check_int(k, "k", 1)
    if k > n // 2:
        raise ValueError(f"k={k} is larger than n // 2 = {n // 2}, the number of pairs the "
                         f"nearest-neighbour graph of {n} points is sure to have")
    with torch.no_grad():
        dist, idx = kd.pairwise_nearest(x.detach(), backend=backend)
        i = torch.arange(n, device=x.device)
        lo, hi = torch.minimum(i, idx), torch.maximum(i, idx)
        keys, first = torch.unique(lo * n + hi, return_inverse=True)
        best = torch.full((keys.shape[0],), float("inf"), dtype=dist.dtype, device=x.device)
        best = best.scatter_reduce(0, first, dist, reduce="amin")
        order = torch.argsort(best)[:k]
    pairs = torch.stack([keys[order] // n, keys[order] % n], dim=1)
    return ClosestPairs(best[order], pairs)


def support_estimate(batch_size: int) -> int:
    """s²: the support size suggested when batches of s samples hold a duplicate with
    probability ≥ ½ (a lower bound on it when they do so less often)."""
    return check_int(batch_size, "batch_size", 2) ** 2


class BirthdayTest(StreamMetric):
    """The birthday-paradox test over a stream: each ``update(batch)`` is one batch of s
    generated samples (all of the same size); only its k closest pairs are kept (``flagged``,
    indices into that batch, for visual inspection).

    ``compute()`` → ``{"batch_size": s, "min_pair_distance": mean over batches of the closest
    pair's distance, "support_estimate": s²}`` plus, with a ``threshold``, ``"duplicate_rate"``:
    the fraction of batches whose closest pair is within ``threshold`` (a duplicate).
    """

    sides = ("fake",)

    def __init__(self, extractor: FeatureFn | None = None, *, k: int = 20,
                 threshold: float | None = None, backend: str = "auto",
                 device: torch.device | str | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        super().__init__(extractor, device=device, chunk=chunk)
        self.k = check_int(k, "k", 1)
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, int | float) or not math.isfinite(threshold) or threshold < 0):
            raise ValueError(f"threshold must be a finite number >= 0 or None, got "
                             f"{threshold!r}")
        self.threshold = threshold
        self.backend = backend
        self.reset()

    def _add(self, side: str, feats: Tensor) -> None:
        if self.flagged and feats.shape[0] != self.batch_size:
            raise ValueError(f"every batch of the birthday test must have the same size s; got "
                             f"{feats.shape[0]} after {self.batch_size}")
        self.batch_size = feats.shape[0]
        self.flagged.append(closest_pairs(feats, self.k, backend=self.backend))

    def count(self, side: str) -> int:
        return len(self.flagged) * self.batch_size if side == "fake" else 0

    def reset(self) -> None:
        super().reset()
        self.flagged: list[ClosestPairs] = []
        self.batch_size = 0

    def compute(self) -> dict[str, float]:
        if not self.flagged:
            raise ValueError("BirthdayTest.compute() needs batches: call update(batch) first")
        closest = torch.stack([f.distances[0].double() for f in self.flagged])
        out = {"batch_size": float(self.batch_size),
               "min_pair_distance": float(closest.mean()),
               "support_estimate": float(support_estimate(self.batch_size))}
        if self.threshold is not None:
            out["duplicate_rate"] = float((closest <= self.threshold).double().mean())
        return out


__all__ = ["BirthdayTest", "ClosestPairs", "closest_pairs", "support_estimate"]
