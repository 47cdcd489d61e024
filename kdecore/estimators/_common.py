"""Helpers shared by the estimators: float64 finishing of O(n) reductions."""

from __future__ import annotations

from torch import Tensor


def f64(t: Tensor) -> Tensor:
    """Promote a finished O(n) reduction to float64 (differentiable) for the last steps."""
    return t.double()


def out_dtype(t: Tensor, like: Tensor) -> Tensor:
    """Return a float64 result in the working dtype of the inputs (float32 or float64)."""
    return t.to(like.dtype)
