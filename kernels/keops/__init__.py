"""The KeOps backend: every kernel family and reduction of SPEC §1–2 as pykeops ``Genred``
formulas, with gradients from KeOps' symbolic differentiation; CPU and CUDA.

- formulas are built from ``kernel.terms()`` by a family registry (:mod:`.formulas`); kernel
  parameters are KeOps ``Pm`` variables, so a formula is compiled once per kernel *structure*,
  feature dimension and dtype, and cached on disk by KeOps;
- on the CPU, formulas are built into plain shared libraries called through ctypes
  (:mod:`.binder`): ≈ 1 s per first compile instead of pykeops' ≈ 10 s pybind11 module;
- gradients: one ``torch.autograd.Function`` per op (:mod:`.pair_sums`,
  :mod:`.pair_logsumexp`), whose backward reduces KeOps ``Grad`` formulas for every input at
  once (first order only).

This module imports nothing from pykeops until it is used, so a missing or broken pykeops makes
:func:`unavailable_reason` say why instead of failing the import. See ``kdecore._kernels``
for the contract.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

NAME = "keops"


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when pykeops imports and a test formula compiles and runs, else why not."""
    try:
        from . import runtime
    except ImportError as exc:
        return f"pykeops is not installed or cannot be imported ({exc}); pip install pykeops"
    except Exception as exc:  # a broken installation is reported, not raised
        return f"importing pykeops failed: {type(exc).__name__}: {exc}"
    return runtime.self_check()


def device_reason(device: torch.device) -> str | None:
    """Why KeOps cannot run on ``device`` (None if it can): CPU always, CUDA when pykeops found
    the CUDA toolkit."""
    if device.type == "cpu":
        return None
    if device.type == "cuda":
        import pykeops.config

        if pykeops.config.gpu_available:
            return None
        return "pykeops found no usable CUDA toolkit (it runs on the CPU only here)"
    return f"KeOps runs on CPU and CUDA devices, not {device.type}"


def sums(x: Tensor, y: Tensor | None, kernel, x_weights: Tensor | None,
         y_weights: Tensor | None, *, rows: bool, cols: bool, squares: bool):
    """Row, column and squared sums (SPEC §2); see :mod:`.pair_sums`."""
    from .pair_sums import sums as impl

    return impl(x, y, kernel, x_weights, y_weights, rows=rows, cols=cols, squares=squares)


def logsumexp(x: Tensor, y: Tensor | None, kernel, y_log_weights: Tensor | None) -> Tensor:
    """Log-sum-exp of a positive kernel (SPEC §2); see :mod:`.pair_logsumexp`."""
    from .pair_logsumexp import logsumexp as impl

    return impl(x, y, kernel, y_log_weights)


def nearest(x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
    """Nearest neighbours (SPEC §2); see :mod:`.pair_nearest`."""
    from .pair_nearest import nearest as impl

    return impl(x, y)


__all__ = ["NAME", "device_reason", "logsumexp", "nearest", "sums", "unavailable_reason"]
