"""Backend registry and dispatch: missing backends are reported, never silently replaced."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import kdecore as kd
from kdecore import dispatch


def test_torch_backend_always_available():
    assert "torch" in kd.available_backends()
    assert kd.backend_status()["torch"] is None


def test_status_names_every_registered_backend():
    status = kd.backend_status()
    assert set(status) == set(dispatch.BACKENDS) == {"torch", "triton", "keops"}
    for name, reason in status.items():
        assert reason is None or name in reason


def test_auto_on_cpu_is_the_tiled_torch_backend():
    assert dispatch.resolve("auto", torch.device("cpu")).NAME == "torch"


def test_unavailable_backend_raises_with_reason(monkeypatch):
    monkeypatch.setitem(dispatch._loaded, "keops", "pykeops is not installed")
    with pytest.raises(kd.BackendUnavailableError, match="pykeops is not installed"):
        kd.mmd2(torch.randn(5, 2), torch.randn(5, 2), "rbf", backend="keops")
    assert "keops" not in kd.available_backends()


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        kd.kernel_sum(torch.randn(3, 2), torch.randn(3, 2), "rbf", backend="gpu")
    with pytest.raises(TypeError):
        kd.kernel_sum(torch.randn(3, 2), torch.randn(3, 2), "rbf", backend=None)


def test_import_kdecore_does_not_import_the_trainer_or_backends():
    code = ("import sys, kdecore; "
            "bad = [m for m in sys.modules if m.startswith(('kdecore.train', 'kdecore._kernels',"
            " 'triton', 'pykeops'))]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
