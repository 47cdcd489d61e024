"""The Triton backend: fused kernels for every reduction of SPEC §2 (see ``kdecore._kernels``
for the contract).

Runs on CUDA tensors, or on CPU tensors through the Triton interpreter when
``TRITON_INTERPRET=1`` is set before the backend is first used (tests). Importing this package
never fails for want of triton: :func:`unavailable_reason` then says why, and the kernels are
not imported. Precision modes: :data:`PRECISIONS` and the :func:`precision` context manager
(default "highest", float32 accuracy; "tf32" and "bf16" are opt-in speed modes).

Modules: ``runtime`` (availability, precision, launch shapes), ``packing`` and ``prepare``
(kernel → θ, centring), the device code (``tile_ops``, ``epilogue``), one kernel module per
launch (``sums_kernel``, ``row_pass``, ``lse_kernel``, ``nearest_kernel``, ``mmd_kernel``),
``ops`` (the torch.library operators) and one autograd Function per fused reduction
(``sums``, ``logsumexp``, ``mmd``; ``nearest`` is not differentiable).
"""

from __future__ import annotations

from .runtime import (
    PRECISIONS,
    current_precision,
    device_reason,
    precision,
    triton_import_error,
    unavailable_reason,
)

NAME = "triton"

if triton_import_error() is None:
    from .logsumexp import logsumexp
    from .mmd import mmd_stats
    from .nearest import nearest
    from .sums import sums

__all__ = ["NAME", "PRECISIONS", "current_precision", "device_reason", "logsumexp",
           "mmd_stats", "nearest", "precision", "sums", "unavailable_reason"]
