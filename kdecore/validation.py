"""Input validation shared by every public function (DEVELOPERS.md, Standards).

Errors name the argument: wrong rank, mismatched feature dimensions, devices or dtypes,
NaN/Inf (with the first offending index), too few points, bad weights. Half-precision inputs
(float16, bfloat16) are accepted and promoted to float32, so that every reduction accumulates
in float32 or wider (SPEC, notation).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .options import get_options

_HALF = (torch.float16, torch.bfloat16)


def as_points(t: object, name: str, *, allow_1d: bool = False,
              finite: bool = True) -> Tensor:
    """Check that ``t`` is an (n, d) floating tensor of finite values; promote halves.

    With ``allow_1d`` a 1-D tensor is read as n points with one feature each. ``finite=False``
    leaves the NaN/Inf scan to the caller.
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    if t.dim() == 1 and allow_1d:
        t = t.unsqueeze(-1)
    if t.dim() != 2:
        want = "(n, d) or (n,)" if allow_1d else "(n, d)"
        raise ValueError(f"{name} must have shape {want}, got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name} has no points (shape {tuple(t.shape)})")
    if t.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {tuple(t.shape)})")
    if finite:
        check_finite(t, name)
    return t.float() if t.dtype in _HALF else t


def check_finite(t: Tensor, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN/Inf entry of ``t`` (if checks are on)."""
    if not get_options().check_finite:
        return
    with torch.no_grad():
        # fast path: NaN and ±Inf propagate through a sum (+Inf − Inf is NaN), so a finite
        # total means every entry is finite; a non-finite one (or an overflowing sum) is then
        # located entry by entry. One reduction instead of isfinite's four passes.
        acc = torch.float32 if t.dtype in (torch.float16, torch.bfloat16) else None
        if t.is_floating_point() and bool(torch.isfinite(t.sum(dtype=acc))):
            return
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            first = bad.nonzero()[0].tolist()
            value = t[tuple(first)].item()
            where = ", ".join(str(i) for i in first)
            raise ValueError(f"{name} contains {'NaN' if value != value else 'Inf'} at index "
                             f"({where}) ({int(bad.sum())} non-finite entries)")


def check_pair(x: Tensor, y: Tensor, xname: str, yname: str, *,
               allow_1d: bool = False) -> tuple[Tensor, Tensor]:
    """Validate two point sets that meet in one kernel: same features, device and dtype."""
    xd = x.dtype if isinstance(x, Tensor) else None
    yd = y.dtype if isinstance(y, Tensor) else None
    x = as_points(x, xname, allow_1d=allow_1d, finite=False)
    y = as_points(y, yname, allow_1d=allow_1d, finite=False)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{xname} and {yname} must have the same number of features: "
                         f"{xname} has {x.shape[1]}, {yname} has {y.shape[1]}")
    if x.device != y.device:
        raise ValueError(f"{xname} and {yname} must be on the same device: "
                         f"{xname} is on {x.device}, {yname} on {y.device}")
    if xd != yd:
        raise TypeError(f"{xname} and {yname} must have the same dtype: "
                        f"{xname} is {xd}, {yname} is {yd}")
    check_finite(x, xname)
    check_finite(y, yname)
    return x, y


def as_weights(w: object, n: int, name: str, like: Tensor, *,
               nonnegative: bool = False) -> Tensor:
    """Check per-point weights: a 1-D floating tensor of length n on ``like``'s device."""
    if not isinstance(w, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(w).__name__}")
    if not w.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {w.dtype}")
    if w.dim() != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) (one weight per point), "
                         f"got shape {tuple(w.shape)}")
    if w.device != like.device:
        raise ValueError(f"{name} must be on {like.device}, got {w.device}")
    check_finite(w, name)
    if nonnegative and get_options().check_finite:
        with torch.no_grad():
            if bool((w < 0).any()):
                raise ValueError(f"{name} must be >= 0")
            if not bool((w > 0).any()):
                raise ValueError(f"{name} must have a positive entry (their sum is the "
                                 "normalizer)")
    return w.to(like.dtype)


def require_points(x: Tensor, name: str, k: int, why: str) -> None:
    """Raise ``ValueError`` unless ``x`` has at least ``k`` points."""
    if x.shape[0] < k:
        raise ValueError(f"{name} needs at least {k} points for {why}, got {x.shape[0]}")


def as_positive(value: object, name: str, like: Tensor) -> Tensor:
    """A positive scalar (float or 0-d tensor) on ``like``'s device and dtype."""
    if isinstance(value, bool) or not isinstance(value, int | float | Tensor):
        raise TypeError(f"{name} must be a positive number or a 0-d tensor, "
                        f"got {type(value).__name__}")
    t = value if isinstance(value, Tensor) else torch.tensor(float(value), dtype=torch.float64)
    if t.dim() != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(t.shape)}")
    with torch.no_grad():
        if not bool(torch.isfinite(t)) or not bool(t > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {float(t)}")
    return t.to(device=like.device, dtype=like.dtype)
