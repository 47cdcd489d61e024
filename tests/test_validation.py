"""Bad input gets a clear error naming the argument (DEVELOPERS.md, Standards)."""

from __future__ import annotations

import pytest
import torch

import kdecore as kd


def pts(n=10, d=3, dtype=torch.float32, device="cpu"):
    return torch.randn(n, d, dtype=dtype, device=device)


@pytest.mark.parametrize("call, err, match", [
    (lambda: kd.mmd2(pts(), pts(d=4), "rbf"), ValueError, "same number of features"),
    (lambda: kd.mmd2(pts().unsqueeze(0), pts(), "rbf"), ValueError, r"x must have shape"),
    (lambda: kd.kernel_sum(pts()[:, 0], pts(), "rbf"), ValueError, r"x must have shape \(n, d\)"),
    (lambda: kd.mmd2(pts(), pts(dtype=torch.float64), "rbf"), TypeError, "same dtype"),
    (lambda: kd.mmd2(pts(), pts(device="meta"), "rbf"), ValueError, "same device"),
    (lambda: kd.mmd2(pts().int(), pts().int(), "rbf"), TypeError, "floating-point"),
    (lambda: kd.mmd2([[1.0]], pts(), "rbf"), TypeError, "torch.Tensor"),
    (lambda: kd.mmd2(pts(n=0), pts(), "rbf"), ValueError, "no points"),
    (lambda: kd.mmd2(pts(n=1), pts(), "rbf"), ValueError, "at least 2 points"),
    (lambda: kd.mmd2(pts(), pts(n=1), "rbf"), ValueError, "y needs at least 2 points"),
    (lambda: kd.mmd2_variance(pts(n=10), pts(n=12), "rbf"), ValueError, "m = n"),
    (lambda: kd.mmd2(pts(n=10), pts(n=12), "rbf", estimator="linear"), ValueError, "as many"),
    (lambda: kd.mmd2(pts(n=9), pts(n=9), "rbf", estimator="linear"), ValueError, "even"),
    (lambda: kd.mmd2(pts(), pts(), "rbf", estimator="fast"), ValueError, "unknown estimator"),
    (lambda: kd.mmd2(pts(), pts(), "rbf", backend="cuda"), ValueError, "unknown backend"),
    (lambda: kd.kde(pts(), pts(), 0.0), ValueError, "bandwidth"),
    (lambda: kd.kde(pts(), pts(), -1.0), ValueError, "bandwidth"),
    (lambda: kd.kde(pts(), pts(), "wide"), ValueError, "unknown bandwidth rule"),
    (lambda: kd.kde(pts(), pts(), torch.ones(2)), ValueError, "scalar"),
    (lambda: kd.kde(pts(), pts(), 1.0, weights=torch.ones(3)), ValueError, r"weights must have"),
    (lambda: kd.kde(pts(), pts(), 1.0, weights=-torch.ones(10)), ValueError, ">= 0"),
    (lambda: kd.kde_ratio(pts(), pts(), pts(), 1.0, phi=-1.0), ValueError, "phi"),
    (lambda: kd.kid(pts(50, 8), pts(50, 8), subset_size=100), ValueError,
     "subset_size=100 is larger than feats_x"),
    (lambda: kd.kid(pts(500, 8), pts(50, 8), subset_size=100), ValueError,
     "larger than feats_y"),
    (lambda: kd.kid(pts(50, 8), pts(50, 8), subsets=0), ValueError, "subsets"),
    (lambda: kd.pairwise_sums(pts(), None, "rbf", cols=True), ValueError, "cols"),
    (lambda: kd.pairwise_sums(pts(), pts(), "rbf", rows=False), ValueError, "at least one"),
    (lambda: kd.pairwise_logsumexp(pts(), pts(), "dot"), TypeError, "positive kernel"),
    (lambda: kd.pairwise_nearest(pts(n=1)), ValueError, "at least 2"),
    (lambda: kd.bandwidth(pts(), rule="rot"), ValueError, "unknown bandwidth rule"),
    (lambda: kd.bandwidth(torch.ones(5, 2)), ValueError, "coincide"),
    (lambda: kd.kernel_gan_objective(pts(n=1), pts(), 1.0, exclude_self=True), ValueError,
     "data needs at least 2"),
    (lambda: kd.relative_mmd_test(pts(), pts(), pts(d=2), "rbf"), ValueError, "z"),
])
def test_errors_name_the_argument(call, err, match):
    with pytest.raises(err, match=match):
        call()


@pytest.mark.parametrize("bad, what", [(float("nan"), "NaN"), (float("inf"), "Inf")])
def test_non_finite_input_says_where(bad, what):
    x, y = pts(), pts()
    y[4, 2] = bad
    with pytest.raises(ValueError, match=rf"y contains {what} at index \(4, 2\)"):
        kd.mmd2(x, y, "rbf")
    with pytest.raises(ValueError, match=rf"query contains {what}"):
        kd.kde(y, x, 1.0)


def test_finite_check_edge_cases():
    """The check's fast path (a finite sum) must neither miss +Inf and −Inf together (their
    sum is NaN) nor reject finite values whose sum overflows."""
    x = pts()
    y = pts()
    y[1, 0], y[3, 1] = float("-inf"), float("inf")
    with pytest.raises(ValueError, match=r"y contains Inf at index \(1, 0\) \(2 non-finite"):
        kd.mmd2(x, y, "rbf")
    big = torch.full((4, 3), 3e38, dtype=torch.float32)  # finite; its float32 sum is Inf
    kd.validation.check_finite(big, "big")
    half = torch.full((8, 2), 6e4, dtype=torch.float16)  # finite; a float16 sum would overflow
    kd.validation.check_finite(half, "half")


def test_finite_check_can_be_switched_off():
    x, y = pts(), pts()
    y[0, 0] = float("nan")
    with kd.options(check_finite=False):
        assert torch.isnan(kd.mmd2(x, y, "rbf"))


def test_half_inputs_are_promoted_to_float32():
    x, y = pts(dtype=torch.float16), pts(dtype=torch.float16)
    for f in (lambda: kd.mmd2(x, y, "rbf"), lambda: kd.kernel_sum(x, y, "rbf"),
              lambda: kd.kde(x, y, 1.0, log=True)):
        assert f().dtype == torch.float32
    xb, yb = x.bfloat16(), y.bfloat16()
    ref = kd.mmd2(xb.float(), yb.float(), "rbf")
    torch.testing.assert_close(kd.mmd2(xb, yb, "rbf"), ref)


def test_one_dimensional_inputs_where_documented():
    x, y = torch.randn(20), torch.randn(30) + 1
    torch.testing.assert_close(kd.mmd2(x, y, "rbf"), kd.mmd2(x[:, None], y[:, None], "rbf"))
    torch.testing.assert_close(kd.kde(x, y, 0.5), kd.kde(x[:, None], y[:, None], 0.5))


def test_bad_options():
    with pytest.raises(ValueError, match="tile"):
        kd.set_options(tile=(0, 4))
    with pytest.raises(TypeError):
        kd.set_options(unknown=True)
