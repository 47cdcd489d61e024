"""Run-time options: input checks and tile sizes.

>>> import kdecore as kd
>>> with kd.options(check_finite=False):       # skip the NaN/Inf scan on hot paths
...     ...
>>> kd.set_options(tile=(512, 2048))            # rows × columns of a PyTorch-backend tile
>>> with kd.options(precision="tf32"):          # opt-in GPU speed mode, documented error
...     ...
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

#: precision modes of the cross-term products on GPU backends (Triton), see README.md:
#: "highest" (3×TF32 split precision, float32 accuracy; the default), "ieee" (exact float32 on
#: CUDA cores), "tf32" and "bf16" (opt-in speed, error ≈ u·‖x̃‖‖ỹ‖/σ² with u = 2⁻¹¹, 2⁻⁸).
PRECISIONS = ("highest", "ieee", "tf32", "bf16")


@dataclasses.dataclass
class Options:
    #: scan every input for NaN/Inf and say where (one pass over the input; a device sync).
    check_finite: bool = True
    #: tile of the PyTorch backend on the CPU, (rows, columns); None = backend default.
    tile: tuple[int, int] | None = None
    #: cross-term precision on GPU backends (one of PRECISIONS); float64 is always exact.
    precision: str = "highest"


_current = Options()


def get_options() -> Options:
    """The options in force."""
    return _current


def set_options(**changes: object) -> None:
    """Change options for the rest of the process (see :class:`Options`)."""
    global _current
    _current = _validated(dataclasses.replace(_current, **changes))


@contextlib.contextmanager
def options(**changes: object) -> Iterator[Options]:
    """Change options inside a ``with`` block."""
    global _current
    saved = _current
    _current = _validated(dataclasses.replace(_current, **changes))
    try:
        yield _current
    finally:
        _current = saved


def _validated(o: Options) -> Options:
    if o.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, "
                         f"got {o.precision!r}")
    if o.tile is not None:
        if (not isinstance(o.tile, tuple) or len(o.tile) != 2
                or not all(isinstance(v, int) and v >= 1 for v in o.tile)):
            raise ValueError(f"tile must be a pair of positive ints (rows, cols), got {o.tile!r}")
    return o
