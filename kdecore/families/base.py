"""The kernel base class, sums and scalings of kernels, and the family registry (SPEC §1).

A kernel is a sum of *terms*; each term is one registered family with its parameters and a
scale. Parameters are tensors (a float becomes a float64 CPU tensor; a tensor is kept as it is,
so it may live on a GPU and have ``requires_grad=True``). Backends see a kernel through three
methods:

- ``terms()`` — the families to fuse over one shared distance tile;
- ``tensors()`` / ``with_tensors(ts)`` — the differentiable parameters, flattened in a fixed
  order, and a copy of the kernel that uses other tensors in their place (how a backend's
  ``torch.autograd.Function`` passes them through ``apply`` and recomputes tiles with them);
- ``matrix(tile)`` / ``log_matrix(tile)`` — the kernel's values (or their logarithms) on a
  :class:`~kdecore.tile.Tile`, in plain differentiable PyTorch: the reference every backend
  is tested against.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import ClassVar

import torch
from torch import Tensor

from ..tile import Tile

ParamLike = float | int | Sequence[float] | Tensor

#: registered families: name -> class (one module per family registers itself).
FAMILIES: dict[str, type[Kernel]] = {}


def register_family(name: str) -> Callable[[type[Kernel]], type[Kernel]]:
    """Class decorator: register a kernel family under ``name`` (its ``family`` attribute)."""

    def wrap(cls: type[Kernel]) -> type[Kernel]:
        if name in FAMILIES:
            raise ValueError(f"kernel family {name!r} is already registered")
        cls.family = name
        FAMILIES[name] = cls
        return cls

    return wrap


def as_param(value: ParamLike, name: str, *, positive: bool, vector: bool = False) -> Tensor:
    """Turn a kernel parameter into a tensor, checking its shape and sign.

    Floats become float64 CPU tensors (moved to the data's device and dtype at evaluation);
    tensors are kept as they are so that they can be learned. ``vector=True`` accepts a scalar or
    a 1-D sequence (a mixture) and returns a 1-D tensor.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a tensor, got a bool")
    if isinstance(value, Tensor):
        t = value
        if not (t.is_floating_point()):
            t = t.to(torch.float64)
    elif isinstance(value, int | float):
        t = torch.tensor(float(value), dtype=torch.float64)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")
        try:
            t = torch.tensor([float(v) for v in value], dtype=torch.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers, got {value!r}") from None
    else:
        raise TypeError(f"{name} must be a number, a sequence of numbers or a tensor, "
                        f"got {type(value).__name__}")
    if vector:
        if t.dim() == 0:
            t = t.reshape(1)
        if t.dim() != 1 or t.numel() == 0:
            raise ValueError(f"{name} must be a scalar or a non-empty 1-D sequence, "
                             f"got shape {tuple(t.shape)}")
    elif t.dim() != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(t.shape)}")
    check_param_values(t, name, positive=positive)
    return t


def check_param_values(t: Tensor, name: str, *, positive: bool) -> None:
    """Raise ``ValueError`` if a parameter is NaN/Inf or, when ``positive``, not > 0."""
    with torch.no_grad():
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite, got {t.tolist()}")
        if positive and not bool((t > 0).all()):
            raise ValueError(f"{name} must be > 0, got {t.tolist()}")


def _fmt(t: Tensor) -> str:
    v = t.detach().cpu().tolist()
    if isinstance(v, list):
        return "(" + ", ".join(f"{u:g}" for u in v) + ")"
    return f"{v:g}"


class Kernel:
    """Base class of kernel families; also the type of sums of kernels.

    Subclasses set ``param_names`` (tensor attributes, in the order of ``tensors()``),
    ``positive_params`` (those that must stay > 0) and implement ``_matrix`` (and ``_log_matrix``
    when the kernel is positive, enabling log-domain reductions).
    """

    family: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    positive_params: ClassVar[tuple[str, ...]] = ()
    #: True when log k is defined (k > 0 everywhere), enabling log-sum-exp reductions.
    has_log: ClassVar[bool] = False

    scale: Tensor

    def __init__(self, scale: ParamLike = 1.0) -> None:
        self.scale = as_param(scale, "scale", positive=False)

    # -- structure -------------------------------------------------------------------------
    def terms(self) -> tuple[Kernel, ...]:
        """The single-family terms whose sum is this kernel."""
        return (self,)

    def tensors(self) -> list[Tensor]:
        """Differentiable parameters in a fixed order: ``scale`` then ``param_names``."""
        return [self.scale, *(getattr(self, n) for n in self.param_names)]

    def with_tensors(self, tensors: Sequence[Tensor]) -> Kernel:
        """A shallow copy of this kernel using ``tensors`` (same order as ``tensors()``)."""
        names = ("scale", *self.param_names)
        if len(tensors) != len(names):
            raise ValueError(f"{type(self).__name__} takes {len(names)} tensors, "
                             f"got {len(tensors)}")
        new = copy.copy(self)
        for n, t in zip(names, tensors, strict=True):
            setattr(new, n, t)
        return new

    def check(self) -> None:
        """Re-check parameters that may have changed since construction (learned ones)."""
        for term in self.terms():
            for n in term.param_names:
                t = getattr(term, n)
                if t.requires_grad:
                    check_param_values(t, f"{type(term).__name__}.{n}",
                                       positive=n in term.positive_params)

    # -- evaluation (the reference every backend is tested against) -------------------------
    def param(self, name: str, like: Tensor) -> Tensor:
        """Parameter ``name`` on ``like``'s device and dtype (differentiable)."""
        return getattr(self, name).to(device=like.device, dtype=like.dtype)

    def matrix(self, tile: Tile) -> Tensor:
        """k(x_i, y_j) on ``tile`` (bm, bn), scale included."""
        k = self._matrix(tile)
        scale = self.param("scale", tile.x)
        return k.mul_(scale) if tile.inplace and not tile.caches(k) else scale * k

    def log_matrix(self, tile: Tile) -> Tensor:
        """log k(x_i, y_j) on ``tile`` (needs ``has_log`` and a positive scale)."""
        if not self.has_log:
            raise TypeError(f"{self!r} can be negative: it has no log-domain form; "
                            "log-sum-exp reductions need a positive kernel (rbf, rq, laplacian)")
        log_scale = torch.log(self.param("scale", tile.x))
        lm = self._log_matrix(tile)
        if tile.inplace and not tile.caches(lm):
            return lm.add_(log_scale)
        return log_scale + lm

    def _matrix(self, tile: Tile) -> Tensor:
        raise NotImplementedError

    def _log_matrix(self, tile: Tile) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        """The dense kernel matrix k(x_i, y_j) (m, n). Meant for small inputs and tests;
        the reductions in :mod:`kdecore.reductions` never form it."""
        from ..validation import check_pair

        x, y = check_pair(x, y, "x", "y")
        return self.matrix(Tile(x, y, center=_pooled_mean(x, y)))

    def pointwise(self, x: Tensor, y: Tensor) -> Tensor:
        """k(x_i, y_i) for paired rows (n,) — the diagonal of the kernel matrix."""
        return self.matrix(PairTile(x, y))

    # -- composition -----------------------------------------------------------------------
    def __add__(self, other: Kernel) -> Kernel:
        if not isinstance(other, Kernel):
            return NotImplemented
        return SumKernel(self.terms() + other.terms())

    def __mul__(self, c: float | Tensor) -> Kernel:
        if isinstance(c, Kernel):
            raise TypeError("products of kernels are not supported; use sums and scalings")
        if not isinstance(c, int | float | Tensor) or isinstance(c, bool):
            return NotImplemented
        c_t = as_param(c, "scale factor", positive=False)
        scaled = []
        for t in self.terms():
            new = copy.copy(t)
            new.scale = t.scale * c_t.to(t.scale.device) if isinstance(c, Tensor) else (
                t.scale * float(c))
            scaled.append(new)
        return scaled[0] if len(scaled) == 1 else SumKernel(tuple(scaled))

    __rmul__ = __mul__

    def __repr__(self) -> str:
        parts = [f"{n}={_fmt(getattr(self, n))}" for n in self.param_names]
        if float(self.scale.detach()) != 1.0 or self.scale.requires_grad:
            parts.append(f"scale={_fmt(self.scale)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class SumKernel(Kernel):
    """k = Σ_t k_t: a sum of single-family kernels (SPEC §1, "kernels compose")."""

    def __init__(self, terms: Sequence[Kernel]) -> None:
        flat: list[Kernel] = []
        for t in terms:
            flat.extend(t.terms())
        if not flat:
            raise ValueError("a sum of kernels needs at least one term")
        self._terms = tuple(flat)

    @property
    def has_log(self) -> bool:  # type: ignore[override]
        return all(t.has_log for t in self._terms)

    def terms(self) -> tuple[Kernel, ...]:
        return self._terms

    def tensors(self) -> list[Tensor]:
        return [t for term in self._terms for t in term.tensors()]

    def with_tensors(self, tensors: Sequence[Tensor]) -> Kernel:
        out, i = [], 0
        for term in self._terms:
            k = len(term.tensors())
            out.append(term.with_tensors(tensors[i:i + k]))
            i += k
        if i != len(tensors):
            raise ValueError(f"expected {i} tensors, got {len(tensors)}")
        return SumKernel(out)

    def matrix(self, tile: Tile) -> Tensor:
        out = self._terms[0].matrix(tile)
        for t in self._terms[1:]:
            out = out.add_(t.matrix(tile)) if tile.inplace else out + t.matrix(tile)
        return out

    def log_matrix(self, tile: Tile) -> Tensor:
        if not self.has_log:
            raise TypeError(f"{self!r} has a term without a log-domain form")
        return torch.logsumexp(torch.stack([t.log_matrix(tile) for t in self._terms]), dim=0)

    def __repr__(self) -> str:
        return " + ".join(repr(t) for t in self._terms)


class PairTile(Tile):
    """A 'tile' of paired rows: statistics of (x_i, y_i) only, shape (n,)."""

    @property
    def dot(self) -> Tensor:  # type: ignore[override]
        return (self.x * self.y).sum(-1)

    @property
    def sqdist(self) -> Tensor:  # type: ignore[override]
        diff = self.x - self.y
        return (diff * diff).sum(-1)

    def neg_scaled_sqdist(self, c: float | Tensor, *, reuse: bool = False) -> Tensor:
        return self.sqdist * (-c)

    def col(self, v: Tensor) -> Tensor:
        return v

    def row(self, v: Tensor) -> Tensor:
        return v


def _pooled_mean(x: Tensor, y: Tensor) -> Tensor:
    with torch.no_grad():
        return (x.sum(0) + y.sum(0)) / (x.shape[0] + y.shape[0])
