"""Gaussian kernel sums R_i = Σ_j exp(−‖x_i − y_j‖²/(2σ²)), σ = √d (SPEC §2): kdecore's
backends against dense PyTorch (cdist + exp) and a KeOps LazyTensor, up to where dense runs out
of memory and beyond for the memory-safe implementations."""

from __future__ import annotations

import harness
import pytest
from impls import SUMS

import kdecore as kd

DIMS = harness.sizes((16,), (3, 16, 64))
SIZES = harness.sizes((1000, 4000), (1000, 4000, 16000, 32000, 65536))
#: d = 64 stops at 16 000 (KeOps' CPU time grows with d); 65 536 points, where dense PyTorch's
#: n×n float32 matrices (17 GB each) exceed the memory budget, are measured at d = 16 only
MAX_N = {3: 32000, 64: 16000}


@pytest.mark.parametrize("impl", list(SUMS))
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("device", harness.DEVICES)
def test_rbf_sums(measure, device, d, n, impl):
    if n > MAX_N.get(d, n):
        pytest.skip(f"d = {d} is measured up to n = {MAX_N[d]}")
    case = harness.two_samples(n, d, device)

    def check(_, out):
        ref = harness.reference(("sums", device, d, n), lambda: kd.kernel_sum(
            case["x"].double().cpu(), case["y"].double().cpu(), kd.RBF(case["sigma"]),
            backend="torch"))
        harness.assert_close(out, ref, 1e-3, f"{impl} row sums")

    info = {"table": "rbf-sums", "device": device, "d": d, "m": n, "n": n}
    harness.run(measure, SUMS, impl, info, case, check)
