"""Where the Triton backend runs, in which precision, and with which launch shapes (SPEC §2).

- Availability: ``import triton`` must work, and either a CUDA GPU is present or the Triton
  interpreter is on (``TRITON_INTERPRET=1``, set *before* the backend's kernels are first
  imported; the interpreter runs the same kernels on CPU tensors through NumPy — slow, meant for
  tests).
- Precision modes (PERFORMANCE.md, "Cancellation"): the cross term ⟨x̃_i, ỹ_j⟩ of the centred
  points is the only tensor-core product; its rounding error ≈ u·‖x̃‖‖ỹ‖ reaches a Gaussian
  kernel as a relative error ≈ u·‖x̃‖‖ỹ‖/σ². The default keeps float32 accuracy; the opt-in modes
  trade it for speed. Float64 inputs always use exact float64 products.
- Launch shapes: tiny tiles in the interpreter (tests span several tiles with 20–40 points),
  autotuned tiles keyed on (d, dtype) on a GPU, and column *splits* (extra programs per row
  block) when there are too few row blocks to fill the GPU.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from kdecore.options import get_options

#: values of TRITON_INTERPRET that switch the interpreter on (triton's own reading).
_TRUE = ("1", "true", "yes", "on")


def interpreting() -> bool:
    """True when Triton runs kernels through its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in _TRUE


@functools.cache
def triton_import_error() -> str | None:
    """Why ``import triton`` fails, or None."""
    try:
        import triton  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install raising something else
        return (f"triton is not importable ({type(exc).__name__}: {exc}); "
                "install it with pip install 'kdecore[triton]'")
    return None


def unavailable_reason() -> str | None:
    """Why the backend cannot run in this process, or None."""
    err = triton_import_error()
    if err is not None:
        return err
    if interpreting() or torch.cuda.is_available():
        return None
    return ("no CUDA GPU is visible (torch.cuda.is_available() is False) and the Triton "
            "interpreter is off; set TRITON_INTERPRET=1 before kdecore first uses the triton "
            "backend to run it on CPU tensors (slow; meant for tests)")


def device_reason(device: torch.device) -> str | None:
    """Why the backend cannot run on ``device``, or None."""
    if device.type == "cuda":
        return None
    if device.type == "cpu" and interpreting():
        return None
    if device.type == "cpu":
        return ("Triton kernels run on CUDA tensors; CPU tensors need the Triton interpreter "
                "(TRITON_INTERPRET=1, slow, for tests): move the inputs to a GPU or use "
                "backend='torch'")
    return f"Triton kernels run on CUDA tensors, got a {device.type} tensor"


# -- precision modes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Precision:
    """How the cross-term product of a tile is formed.

    ``dot`` is the ``tl.dot`` input precision ("ieee", "tf32x3", "tf32"), or "bf16" for
    bfloat16 operands; ``unit`` the unit roundoff of one product (the error model above).
    """

    name: str
    dot: str
    unit: float
    doc: str


#: the precision modes, by name (a registry: the API validates against its keys).
PRECISIONS: dict[str, Precision] = {
    "highest": Precision(
        "highest", "tf32x3", 2.0**-22,
        "default: float32 accuracy from three TF32 tensor-core products (split precision); "
        "sums match float64 within ~1e-6 relative after centring"),
    "ieee": Precision(
        "ieee", "ieee", 2.0**-24,
        "exact float32 products on the CUDA cores (reference quality, slowest)"),
    "tf32": Precision(
        "tf32", "tf32", 2.0**-11,
        "opt-in speed: one TF32 product; relative error of a Gaussian kernel value "
        "≈ 2^-11·‖x̃‖‖ỹ‖/σ² (percents once σ is small against the centred norms)"),
    "bf16": Precision(
        "bf16", "bf16", 2.0**-8,
        "opt-in speed: bfloat16 operands, float32 accumulation; ≈ 2^-8·‖x̃‖‖ỹ‖/σ² — for "
        "coarse estimates only"),
}

DEFAULT_PRECISION = "highest"

_override: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kdecore_triton_precision", default=None)


def check_precision(name: object) -> str:
    """``name`` if it is a known precision mode, else a ValueError naming the argument."""
    if not isinstance(name, str) or name not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, "
                         f"got {name!r}")
    return name


@contextlib.contextmanager
def precision(name: str) -> Iterator[str]:
    """Run the Triton backend in precision mode ``name`` inside a ``with`` block.

    >>> from kdecore._kernels import triton as tk
    >>> with tk.precision("tf32"):          # opt-in speed, documented error
    ...     kd.kernel_sum(x, y, kd.RBF(1.0), backend="triton")
    """
    token = _override.set(check_precision(name))
    try:
        yield name
    finally:
        _override.reset(token)


def current_precision() -> str:
    """The mode in force: this module's ``precision(...)`` block, else
    ``kd.options(precision=...)`` when the options carry one, else "highest"."""
    name = _override.get()
    if name is None:
        name = getattr(get_options(), "precision", None) or DEFAULT_PRECISION
    return check_precision(name)


def dot_mode(name: str, dtype: torch.dtype) -> str:
    """The kernels' ``PREC`` constexpr for precision ``name`` on ``dtype`` inputs.

    Float64 always takes exact products; the interpreter ignores input precisions (NumPy
    computes exact float32 products), so there the modes differ only for bf16, whose operands
    are rounded to bfloat16 and multiplied in float32 (the interpreter's own bfloat16
    ``tl.dot`` returns wrong values in triton 3.9).
    """
    if dtype == torch.float64:
        return "ieee"
    mode = PRECISIONS[name].dot
    if mode == "bf16" and interpreting():
        return "bf16-rounded"
    return mode


# -- launch shapes --------------------------------------------------------------------------

#: feature dimension up to which squared distances are formed from differences directly
#: (exact and as cheap as a product on the FMA pipe; PERFORMANCE.md, "Cancellation").
DIRECT_MAX_D = 4

#: tiles of the interpreter: the smallest a ``tl.dot`` takes, so small tests span many tiles.
INTERPRETER_BLOCK = 16


def next_pow2(v: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(v, 1))))


def k_block(d: int) -> dict[str, object]:
    """The K-tiling constexprs: ONE_K when one K-tile holds all of d (the row tile is then
    loaded once per program and kept, like Q in attention) with its BK; for larger d a K-loop
    whose BK the autotuner picks (the interpreter always loops over 16 features)."""
    if interpreting():
        return {"BK": INTERPRETER_BLOCK, "ONE_K": d <= INTERPRETER_BLOCK}
    one = max(16, next_pow2(d))
    if one <= 64:
        return {"BK": one, "ONE_K": True}
    return {"ONE_K": False}


def d_block(d: int, dtype: torch.dtype) -> int:
    """BD: features of the gradient accumulator per program (d > BD splits the gradient over a
    grid axis; each program then recomputes its tiles)."""
    if interpreting():
        return INTERPRETER_BLOCK
    return min(max(16, next_pow2(d)), 64 if dtype == torch.float32 else 32)


def size_class(m: int, n: int) -> int:
    """Autotuning bucket of an m×n problem (a factor 16 in pairs per bucket): configurations
    tuned on 1e4 points are not reused for 1e6."""
    return (max(m * n, 1).bit_length() + 3) // 4


def direct_d(d: int) -> int:
    """DIRECT_D constexpr: d when squared distances come from differences, else 0."""
    return d if d <= DIRECT_MAX_D else 0


@functools.cache
def _sm_count(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


def target_programs(device: torch.device) -> int:
    """How many programs fill the device (a few waves); small in the interpreter so that the
    split path runs in tests."""
    if device.type != "cuda" or interpreting():
        return 6
    return 4 * _sm_count(device.index if device.index is not None else torch.cuda.current_device())


def splits(row_blocks: int, col_blocks: int, device: torch.device) -> int:
    """Column splits per row block: enough programs to fill the device, at most one per
    column block."""
    want = math.ceil(target_programs(device) / max(row_blocks, 1))
    return max(1, min(want, col_blocks))
