"""Backend registry and dispatch: the only place that imports ``kdecore._kernels``.

``backend="auto"`` picks, for CUDA tensors, the first usable of triton, keops, torch (and says
once, with a warning, why a faster one was passed over); for CPU tensors the tiled PyTorch
backend. Naming a backend that cannot run raises :class:`BackendUnavailableError` with the
reason: a missing backend is reported, never silently replaced.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

import torch

#: backend name -> module path (a registry, not an if-chain).
BACKENDS: dict[str, str] = {
    "torch": "kdecore._kernels.torch",
    "triton": "kdecore._kernels.triton",
    "keops": "kdecore._kernels.keops",
}

#: the order ``backend="auto"`` tries, by device type.
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "cuda": ("triton", "keops", "torch"),
    "cpu": ("torch",),
}


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here; the message says why."""


_loaded: dict[str, ModuleType | str] = {}
_warned: set[tuple[str, str]] = set()


def _kernels_package() -> ModuleType:
    """``kdecore._kernels``, installed (wheel or editable) or, in a source checkout that was
    not installed, loaded from the sibling ``kernels/`` folder."""
    try:
        return importlib.import_module("kdecore._kernels")
    except ModuleNotFoundError:
        src = Path(__file__).resolve().parent.parent / "kernels"
        init = src / "__init__.py"
        if not init.is_file():
            raise
        spec = importlib.util.spec_from_file_location(
            "kdecore._kernels", init, submodule_search_locations=[str(src)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["kdecore._kernels"] = module
        spec.loader.exec_module(module)
        return module


def _load(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known: auto, {', '.join(BACKENDS)}")
    if name not in _loaded:
        _kernels_package()
        try:
            module = importlib.import_module(BACKENDS[name])
            reason = module.unavailable_reason()
        except Exception as exc:  # an optional backend whose import fails is reported
            reason = f"importing {BACKENDS[name]} failed: {type(exc).__name__}: {exc}"
        _loaded[name] = module if reason is None else reason
    entry = _loaded[name]
    if isinstance(entry, str):
        raise BackendUnavailableError(f"backend {name!r} is unavailable: {entry}")
    return entry


def backend_status() -> dict[str, str | None]:
    """Every registered backend with None (usable) or the reason it is not."""
    out: dict[str, str | None] = {}
    for name in BACKENDS:
        try:
            _load(name)
            out[name] = None
        except BackendUnavailableError as exc:
            out[name] = str(exc)
    return out


def available_backends() -> list[str]:
    """Names of the backends usable in this process, e.g. ``["torch", "keops"]``."""
    return [n for n, reason in backend_status().items() if reason is None]


def resolve(backend: str, device: torch.device) -> ModuleType:
    """The backend module to run on ``device``."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, got {type(backend).__name__}")
    if backend != "auto":
        module = _load(backend)
        reason = module.device_reason(device)
        if reason is not None:
            raise BackendUnavailableError(f"backend {backend!r} cannot run on {device}: {reason}")
        return module
    order = AUTO_ORDER.get(device.type, ("torch",))
    skipped = []
    for name in order:
        try:
            module = _load(name)
        except BackendUnavailableError as exc:
            skipped.append(str(exc))
            continue
        reason = module.device_reason(device)
        if reason is None:
            if skipped and (device.type, name) not in _warned:
                _warned.add((device.type, name))
                warnings.warn(f"backend='auto' on {device.type} uses {name!r}: "
                              + "; ".join(skipped), RuntimeWarning, stacklevel=3)
            return module
        skipped.append(f"{name!r}: {reason}")
    raise BackendUnavailableError(f"no backend can run on {device}: " + "; ".join(skipped))
