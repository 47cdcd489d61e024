"""The Triton backend's GPU code path, compiled for sm_90 (H100) on this GPU-less machine.

The interpreter (``test_triton.py``, ``test_backends.py``) runs the kernels' semantics in
NumPy; it does not see what only the compiler checks — loop-carried types, layouts, shared
memory. ``kdecore._kernels.triton.aot`` compiles one specialization of every kernel with
Triton's own compiler and bundled ptxas, in a fresh process without the interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import require_backend
from kdecore._kernels.triton.aot import REPRESENTATIVE

pytestmark = pytest.mark.slow


def test_every_kernel_compiles_for_sm90():
    require_backend("triton")
    import triton.backends

    if "nvidia" not in triton.backends.backends:
        pytest.skip("this triton build has no NVIDIA backend to compile with")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-m", "kdecore._kernels.triton.aot", "90"], env=env,
                         capture_output=True, text=True, timeout=900)
    report = out.stdout + out.stderr[-4000:]
    assert out.returncode == 0, report
    assert out.stdout.count("OK ") == len(REPRESENTATIVE), report
