"""Gaussian log-density at query points (SPEC §3; scikit-learn's ``score_samples``): kdecore's
backends against scikit-learn ``KernelDensity`` (exact, tree-based), SciPy ``gaussian_kde``
(isotropic bandwidth through ``bw_method`` on whitened data), KeOps LazyTensor and dense
PyTorch; d = 8, as many queries as data points, Scott's bandwidth."""

from __future__ import annotations

import harness
import pytest
from impls import KDE, as_tensor, kde_reference

import kdecore as kd

D = 8
SIZES = harness.sizes((2000,), (2000, 5000, 20000))


@pytest.mark.parametrize("impl", list(KDE))
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("device", harness.DEVICES)
def test_log_kde(measure, device, n, impl):
    data = harness.points(n, D, device, 1, whiten=True)
    case = {"x": harness.points(n, D, device, 0), "y": data, "m": n, "n": n,
            "sigma": float(kd.bandwidth(data, rule="scott"))}

    def check(_, out):
        # the same estimator: the median error is float32 rounding; the largest error (far
        # queries, where tree-based codes bound rather than sum) is recorded for RESULTS.md
        ref = harness.reference(("kde", device, n), lambda: kde_reference(case))
        err = (as_tensor(out).reshape(ref.shape) - ref).abs()
        scale = float(ref.abs().max())
        assert float(err.median()) <= 1e-5 * scale, f"{impl}: median error {err.median():.3g}"
        return {"max_abs_error": float(err.max())}

    info = {"table": "log-kde", "device": device, "d": D, "m": n, "n": n}
    harness.run(measure, KDE, impl, info, case, check)
