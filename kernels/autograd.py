"""Helpers shared by the backends' ``torch.autograd.Function`` ops: the first-order guard of
the Triton and KeOps backwards, and optional (not requested) outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def first_order_message(backend: str) -> str:
    return (f"the {backend} backend differentiates once: second derivatives "
            "(create_graph=True, e.g. a gradient penalty through a kernel sum) need "
            "backend='torch'")


def first_order(backend: str) -> Callable[[Callable], Callable]:
    """Decorate an ``autograd.Function.backward`` that is differentiable once.

    ``once_differentiable`` alone returns a gradient detached from the graph when the
    incoming gradient is a constant (``autograd.grad(f(x).sum(), x, create_graph=True)``),
    which silently drops the second derivative; this raises instead, naming the backend."""
    message = first_order_message(backend)

    def decorate(backward: Callable) -> Callable:
        inner = once_differentiable(backward)

        @functools.wraps(backward)
        def wrapper(ctx, *grads):
            if torch.is_grad_enabled():
                raise RuntimeError(message)
            return inner(ctx, *grads)

        return wrapper

    return decorate


def optional_outputs(ctx, out: tuple[Tensor | None, ...], like: Tensor) -> tuple[Tensor, ...]:
    """The forward's results with each one not asked for (None) replaced by an empty,
    non-differentiable tensor; gradients of those arrive as None (not materialized)."""
    ctx.set_materialize_grads(False)
    empty = like.new_zeros(0)
    res = tuple(o if o is not None else empty for o in out)
    ctx.mark_non_differentiable(*[r for r, o in zip(res, out, strict=True) if o is None])
    return res


def requested_cotangents(flags: tuple[bool, ...], *grads: Tensor | None
                         ) -> tuple[Tensor | None, ...] | None:
    """The incoming gradients of the outputs that were asked for (the others None), or None
    when no requested output has a gradient (the backward then returns only Nones)."""
    out = tuple(g if f else None for g, f in zip(grads, flags, strict=True))
    return None if all(g is None for g in out) else out
