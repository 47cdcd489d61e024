"""kdecore: fused, memory-safe kernel sums, KDE, MMD² and its variance for PyTorch.

Formulas and their sources: SPEC.md (§1 kernels, §2 reductions, §3 KDE, §4 MMD). The trainer
layer lives in :mod:`kdecore.train`, which ``import kdecore`` does not import.
"""

from . import nn
from .dispatch import BackendUnavailableError, available_backends, backend_status
from .estimators import (
    bandwidth,
    energy_distance,
    kde,
    kde_ratio,
    kernel_gan_objective,
    kid,
    mmd2,
    mmd2_ratio,
    mmd2_variance,
    relative_mmd_test,
    witness,
)
from .families import (
    PRESETS,
    RBF,
    RQ,
    Distance,
    Dot,
    Kernel,
    Laplacian,
    Polynomial,
    SumKernel,
    kernel,
)
from .options import get_options, options, set_options
from .reductions import (
    MMDStats,
    Sums,
    kernel_sum,
    mmd_stats,
    pairwise_logsumexp,
    pairwise_nearest,
    pairwise_sums,
)

__version__ = "0.1.0"

__all__ = [
    "PRESETS", "RBF", "RQ", "BackendUnavailableError", "Distance", "Dot", "Kernel",
    "Laplacian", "MMDStats", "Polynomial", "SumKernel", "Sums", "available_backends",
    "backend_status", "bandwidth", "energy_distance", "get_options", "kde", "kde_ratio",
    "kernel", "kernel_gan_objective", "kernel_sum", "kid", "mmd2", "mmd2_ratio",
    "mmd2_variance", "mmd_stats", "nn", "options", "pairwise_logsumexp", "pairwise_nearest",
    "pairwise_sums", "relative_mmd_test", "set_options", "witness",
]
