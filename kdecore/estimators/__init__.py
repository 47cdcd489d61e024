"""Estimators built on the pairwise reductions (SPEC §3–4)."""

from .bandwidth import bandwidth
from .kde import kde, kde_ratio, kernel_gan_objective
from .kid import kid
from .mmd import ESTIMATORS, energy_distance, mmd2, witness
from .relative import relative_mmd_test
from .variance import mmd2_ratio, mmd2_variance

__all__ = [
    "ESTIMATORS", "bandwidth", "energy_distance", "kde", "kde_ratio", "kernel_gan_objective",
    "kid", "mmd2", "mmd2_ratio", "mmd2_variance", "relative_mmd_test", "witness",
]
