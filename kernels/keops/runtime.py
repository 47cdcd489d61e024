"""Running KeOps reductions: one cached :class:`pykeops.torch.Genred` per formula, the CPU
binder around CPU calls, first-call (compile) times, and the availability check.

KeOps compiles each distinct (formula, variable dimensions, dtype, reduction axis) once and
caches the library on disk (``~/.cache/keops<version>``, or ``$KEOPS_CACHE_FOLDER``); later
processes only load it. Kernel parameters are KeOps ``Pm`` variables, never constants baked into
a formula, so a new bandwidth or weight never triggers a compile — only a new kernel *structure*
(families, mixture sizes, polynomial degree), feature dimension or dtype does.

On the CPU every formula runs in float64 and its results are cast back to the inputs' dtype:
KeOps' CPU code is scalar C++ (one pair at a time), where double costs about what float costs,
so float32 inputs get float64 accuracy and the same compiled formula serves both dtypes. On a
GPU formulas run in the inputs' dtype.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from functools import cache, lru_cache

import torch
from torch import Tensor

with contextlib.redirect_stdout(io.StringIO()):  # pykeops prints a CUDA notice on CPU machines
    import pykeops
    from pykeops.torch import Genred

from . import binder

#: seconds taken by the first call of each compiled reduction in this process (compile, or
#: load from the disk cache, plus one run), keyed by (reduction, axis, formula, dtype, device).
FIRST_CALLS: dict[tuple[str, int, str, str, str], float] = {}


@cache
def _genred(formula: str, aliases: tuple[str, ...], op: str, axis: int) -> Genred:
    return Genred(formula, list(aliases), reduction_op=op, axis=axis)


def work_dtype(t: Tensor) -> torch.dtype:
    """The dtype formulas run in for inputs like ``t`` (float64 on the CPU)."""
    return torch.float64 if t.device.type == "cpu" else t.dtype


def reduce(formula: str, aliases: Sequence[str], op: str, axis: int, *args: Tensor):
    """Run the KeOps reduction ``op`` ("Sum", "LogSumExp", "Min_ArgMin") of ``formula`` over
    ``axis`` (1: over j, one output row per i; 0: over i) on ``args`` (one per alias).

    Returns the result in the dtype of ``args[0]``; for Min_ArgMin a pair (values, indices)
    whose indices stay in the working dtype (exact integers)."""
    g = _genred(formula, tuple(aliases), op, axis)
    dtype, device = args[0].dtype, args[0].device
    work = work_dtype(args[0])
    key = (op, axis, formula, str(work), device.type)
    args = tuple(a.to(work).contiguous() for a in args)
    start = time.perf_counter() if key not in FIRST_CALLS else None
    with torch.no_grad():
        if device.type == "cuda":
            out = g(*args, backend="GPU", device_id=device.index or 0)
        else:
            with binder.cpu_binder():
                out = g(*args, backend="CPU")
    if start is not None:
        FIRST_CALLS[key] = time.perf_counter() - start
    if isinstance(out, tuple):
        return (out[0].to(dtype), *out[1:])
    return out.to(dtype)


def _try_formula() -> None:
    x = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [2.0], [3.0]], dtype=torch.float64)
    out = reduce("SqDist(x,y)", ("x=Vi(1)", "y=Vj(1)"), "Sum", 1, x, y).reshape(-1)
    expected = torch.tensor([13.0, 6.0], dtype=torch.float64)
    if not torch.allclose(out, expected):
        raise RuntimeError(f"the test formula returned {out.tolist()}, expected "
                           f"{expected.tolist()}")


@lru_cache(maxsize=1)
def self_check() -> str | None:
    """None if a tiny formula compiles and runs on the CPU, else why not (cached).

    Tries the ctypes binder first; if only pykeops' own binder works, uses that from then on.
    """
    try:
        _try_formula()
        return None
    except Exception as exc:  # any failure of the compiler toolchain is reported, not raised
        first = f"{type(exc).__name__}: {exc}"
    if binder.disabled_reason is None:
        binder.disable(f"the ctypes binder failed ({first}); using pykeops' binder")
        _genred.cache_clear()
        try:
            _try_formula()
            return None
        except Exception as exc:
            first = f"{type(exc).__name__}: {exc}"
    return (f"pykeops {pykeops.__version__} could not compile and run a test formula "
            f"(compiler check failed): {first}")
