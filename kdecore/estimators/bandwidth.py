"""Bandwidth rules (SPEC §3): Scott, Silverman and the median heuristic."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..validation import as_points, check_pair

#: pooled samples larger than this are subsampled (uniformly, seeded) for the median heuristic
MEDIAN_MAX_POINTS = 4096


def _isotropic_std(z: Tensor) -> Tensor:
    """sqrt of the mean per-feature variance: the scale of an isotropic Gaussian fit."""
    return torch.sqrt(z.double().var(dim=0, unbiased=True).mean())


def _scott(z: Tensor, generator: torch.Generator | None) -> Tensor:
    n, d = z.shape
    return n ** (-1.0 / (d + 4)) * _isotropic_std(z)


def _silverman(z: Tensor, generator: torch.Generator | None) -> Tensor:
    n, d = z.shape
    return (4.0 / (d + 2)) ** (1.0 / (d + 4)) * n ** (-1.0 / (d + 4)) * _isotropic_std(z)


def _median(z: Tensor, generator: torch.Generator | None) -> Tensor:
    if z.shape[0] > MEDIAN_MAX_POINTS:
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        z = z[torch.randperm(z.shape[0], generator=g)[:MEDIAN_MAX_POINTS].to(z.device)]
    d2 = torch.pdist(z.double()) ** 2
    return torch.sqrt(torch.quantile(d2, 0.5) / 2.0) if d2.numel() < 2**24 else torch.sqrt(
        d2.median() / 2.0)


#: bandwidth rules by name: (function, formula).
RULES: dict[str, tuple[Callable[[Tensor, torch.Generator | None], Tensor], str]] = {
    "scott": (_scott, "σ = n^(−1/(d+4)) · std"),
    "silverman": (_silverman, "σ = (4/(d+2))^(1/(d+4)) · n^(−1/(d+4)) · std"),
    "median": (_median, "σ = sqrt(median_{i<j} ‖z_i − z_j‖² / 2)"),
}


def bandwidth(x: Tensor, y: Tensor | None = None, rule: str = "median", *,
              generator: torch.Generator | None = None) -> Tensor:
    """A bandwidth σ for a Gaussian kernel from the data (SPEC §3), as a 0-d float64 tensor.

    - ``"median"`` (Gretton et al. 2012): σ = sqrt(median_{i<j} ‖z_i − z_j‖² / 2) over the
      pooled sample z = x ∪ y; above 4096 points a uniform subsample of 4096 is used
      (``generator``, default seed 0).
    - ``"scott"``: σ = n^(−1/(d+4)) · std;  ``"silverman"``: σ = (4/(d+2))^(1/(d+4)) ·
      n^(−1/(d+4)) · std, with std the root mean per-feature variance of the pooled sample
      (an isotropic version of SciPy's rules).

    A 1-D input is read as n points with one feature. Not differentiable.
    """
    if y is None:
        z = as_points(x, "x", allow_1d=True)
    else:
        x, y = check_pair(x, y, "x", "y", allow_1d=True)
        z = torch.cat([x, y])
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"unknown bandwidth rule {rule!r}; known: {', '.join(RULES)}")
    if z.shape[0] < 2:
        raise ValueError(f"a bandwidth rule needs at least 2 points, got {z.shape[0]}")
    with torch.no_grad():
        sigma = RULES[rule][0](z.detach(), generator)
    if not bool(sigma > 0):
        raise ValueError(f"the {rule} rule gave σ = {float(sigma)}: the points coincide")
    return sigma
