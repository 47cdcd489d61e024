"""MMD² between two samples (SPEC §4.1) for the kernels of 002 — RBF (σ = √d), RBF mixture
σ ∈ {2, …, 80}, RQ mixture α ∈ {0.2, …, 5}, energy distance — on d = 16 (the critic's output
size in 002 §5): kdecore's backends against dense PyTorch, KeOps LazyTensor and GeomLoss
``SamplesLoss`` (gaussian and energy only; it returns the biased estimate, checked as such)."""

from __future__ import annotations

import harness
from impls import MMD, SCALE, mmd_reference

KERNELS = harness.sizes(("rbf", "energy"), ("rbf", "rbf-mix", "rq-mix", "energy"))
D = 16
SIZES = harness.sizes((2000,), (1000, 4000, 10000))


@harness.two_sample_cases(MMD, KERNELS, SIZES)
def test_mmd2(measure, device, kernel, n, impl):
    case = harness.two_samples(n, D, device, kernel=kernel)

    def check(im, out):
        ref = harness.reference(("mmd", device, kernel, n, im.estimate),
                                lambda: mmd_reference(case, im.estimate))
        err = abs(float(out) - ref)  # float32 sums of m² kernel values: 1e-5 of their size
        assert err <= 1e-3 * abs(ref) + 1e-5 * SCALE[kernel], \
            f"{impl}: MMD² {float(out):.6g} vs {ref:.6g}"

    info = {"table": f"mmd2-{kernel}", "device": device, "d": D, "m": n, "n": n,
            "kernel": kernel}
    harness.run(measure, MMD, impl, info, case, check)
