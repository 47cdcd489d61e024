"""Forward + backward of MMD² with respect to both samples (what a generator step costs; SPEC
§4.1), for the differentiable implementations: kdecore's backends, dense PyTorch autograd,
KeOps LazyTensor autograd and GeomLoss (gaussian; biased estimate)."""

from __future__ import annotations

import harness
from impls import BACKWARD, mmd_grad_reference

KERNELS = harness.sizes(("rbf",), ("rbf", "rbf-mix"))
D = 16
SIZES = harness.sizes((2000,), (1000, 4000, 10000))


@harness.two_sample_cases(BACKWARD, KERNELS, SIZES)
def test_mmd2_backward(measure, device, kernel, n, impl):
    case = harness.two_samples(n, D, device, kernel=kernel)

    def check(im, out):
        ref = harness.reference(("grad", device, kernel, n, im.estimate),
                                lambda: mmd_grad_reference(case, im.estimate))
        for name, g, r in zip("xy", out, ref, strict=True):
            harness.assert_close(g, r, 2e-3, f"{impl} d/d{name}")

    info = {"table": f"mmd2-backward-{kernel}", "device": device, "d": D, "m": n, "n": n,
            "kernel": kernel}
    harness.run(measure, BACKWARD, impl, info, case, check)
