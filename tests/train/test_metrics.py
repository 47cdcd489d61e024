"""Metrics of SPEC §7 against independent references written here (numpy/scipy, hand tables,
distributions with known divergences). The digits LeNet is tested in test_metrics_lenet.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import kdecore as kd
from kdecore.train import metrics as M


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The small problems here (critic MLPs, 200-point kernel sums) run 5-30x faster on one
    thread than on two contended ones (measured on the shared 2-core machine); results do not
    depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _ring(k: int = 8, radius: float = 2.0) -> torch.Tensor:
    a = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return radius * torch.stack([a.cos(), a.sin()], 1)


# ---------------------------------------------------------------- mixture (modes, hq fraction)

def test_mixture_quality_constructed():
    centers, std = _ring(), 0.02
    unit = torch.tensor([0.6, 0.8], dtype=torch.float64)  # a unit vector
    samples = torch.cat([
        centers[0] + 2.9 * std * unit * torch.ones(10, 1),   # 10 hq samples at mode 0
        centers[1] + 1.0 * std * unit * torch.ones(5, 1),    # 5 at mode 1
        centers[2:3] + 0.0,                                  # 1 exactly at mode 2
        centers[3] + 3.1 * std * unit * torch.ones(3, 1),    # 3 just outside mode 3
        torch.zeros(4, 2, dtype=torch.float64),              # 4 at the ring's centre
    ])
    out = M.mixture_quality(samples, centers, std)
    assert out == {"modes_covered": 3, "n_modes": 8, "hq_fraction": 16 / 23}
    assert isinstance(out["modes_covered"], int) and isinstance(out["hq_fraction"], float)
    assert M.mixture_quality(samples, centers, std, min_samples=5)["modes_covered"] == 2
    assert M.mixture_quality(samples, centers, std, n_sigma=3.2)["modes_covered"] == 4


def test_mixture_quality_gaussian_samples():
    centers, std = _ring(), 0.02
    g = _gen(1)
    samples = centers[torch.arange(4000) % 8] + std * torch.randn(4000, 2, generator=g,
                                                                 dtype=torch.float64)
    out = M.mixture_quality(samples, centers, std)
    # P(chi_2 <= 3) = 1 - exp(-9/2) = 0.98889 for 2-D isotropic Gaussians
    assert out["modes_covered"] == 8
    assert abs(out["hq_fraction"] - (1 - math.exp(-4.5))) < 0.01
    assert M.mixture_quality(samples[::8], centers, std)["modes_covered"] == 1  # all mode 0


def test_mixture_stream_matches_and_validates():
    centers, std = _ring().float(), 0.05
    x = centers[torch.arange(300) % 5] + 0.1 * torch.randn(300, 2, generator=_gen(2))
    metric = M.MixtureQuality(centers, std, min_samples=3)
    for part in x.split(70):
        metric.update(part)
    ref = M.mixture_quality(x, centers, std, min_samples=3)
    assert metric.compute() == {k: float(v) for k, v in ref.items()}
    with pytest.raises(ValueError, match="real=True"):
        metric.update(x, real=True)
    metric.reset()
    with pytest.raises(ValueError, match="update"):
        metric.compute()
    with pytest.raises(ValueError, match="std"):
        M.mixture_quality(x, centers, 0.0)
    with pytest.raises(ValueError, match="n_sigma"):
        M.mixture_quality(x, centers, 1.0, n_sigma=-1)
    with pytest.raises(ValueError, match="centers"):
        M.mixture_quality(x, torch.zeros(3, 3), 1.0)
    with pytest.raises(TypeError, match="samples"):
        M.mixture_quality(x.numpy(), centers, 1.0)
    with pytest.raises(ValueError, match="min_samples"):
        M.mixture_quality(x, centers, 1.0, min_samples=0)


# ---------------------------------------------------------------- FID

def _fid_scipy(x: np.ndarray, y: np.ndarray) -> float:
    """The usual reference implementation (pytorch-fid): scipy.linalg.sqrtm of Σ₁Σ₂."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_matches_scipy_sqrtm():
    g = _gen(3)
    x = torch.randn(300, 12, generator=g, dtype=torch.float64)
    a = torch.randn(12, 12, generator=g, dtype=torch.float64) * 0.4
    y = torch.randn(250, 12, generator=g, dtype=torch.float64) @ a + 0.3
    got = M.fid(x, y)
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(_fid_scipy(x.numpy(), y.numpy()), rel=1e-8)
    # float32 features are promoted: same value up to the features' rounding
    assert M.fid(x.float(), y.float()).item() == pytest.approx(got.item(), rel=1e-5)
    assert M.fid(x, x).item() == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_closed_form():
    # diagonal covariances: FD = ‖μ₁ − μ₂‖² + Σ_i (√a_i − √b_i)²
    a = torch.tensor([1.0, 4.0, 0.25], dtype=torch.float64)
    b = torch.tensor([9.0, 1.0, 0.0], dtype=torch.float64)
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    want = 5.0 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0.5**2
    got = M.frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b))
    assert got.item() == pytest.approx(want, rel=1e-12)
    # singular covariances (fewer points than features) stay finite and exact
    zero = torch.zeros(3, 3, dtype=torch.float64)
    assert M.frechet_distance(mu1, torch.diag(a), mu2, zero).item() == pytest.approx(
        5.0 + a.sum().item())
    with pytest.raises(ValueError, match="sigma2"):
        M.frechet_distance(mu1, torch.diag(a), mu2, torch.zeros(2, 2))


def test_fid_stream_equals_one_shot():
    g = _gen(4)
    x = torch.randn(230, 6, generator=g) * 3 + 100.0  # large mean: tests the stable update
    y = torch.randn(170, 6, generator=g) + 99.0
    metric = M.FID(device="cpu")
    for part in x.split(64):
        metric.update(part, real=True)
    for part in y.split(50):
        metric.update(part, real=False)
    assert metric.count("real") == 230
    assert metric.compute()["fid"] == pytest.approx(M.fid(x.double(), y.double()).item(),
                                                    rel=1e-9)
    with pytest.raises(ValueError, match="features"):
        metric.update(torch.randn(5, 7), real=True)


# ---------------------------------------------------------------- KID

def _kid_dense(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def test_kid_full_matches_dense_numpy():
    g = _gen(5)
    x = torch.randn(120, 10, generator=g, dtype=torch.float64)
    y = torch.randn(90, 10, generator=g, dtype=torch.float64) * 1.3
    mean, _ = M.kid(x, y, subsets=None)
    assert mean.item() == pytest.approx(_kid_dense(x.numpy(), y.numpy()), rel=1e-9)


def test_kid_stream_equals_one_shot():
    g = _gen(6)
    x = torch.randn(150, 8, generator=g)
    y = torch.randn(140, 8, generator=g) + 0.5
    metric = M.KID(subsets=20, subset_size=50, seed=3, device="cpu")
    for part in x.split(40):
        metric.update(part, real=True)
    for part in y.split(33):
        metric.update(part)
    got = metric.compute()
    mean, std = kd.kid(x, y, subsets=20, subset_size=50, generator=_gen(3))
    assert got == pytest.approx({"kid_mean": mean.item(), "kid_std": std.item()})
    assert got["kid_mean"] > 0.05  # a shifted distribution is detected
    with pytest.raises(ValueError, match="subset_size"):
        M.KID(subset_size=1)


def test_stream_extractor_and_errors():
    proj = torch.nn.Linear(5, 3)
    metric = M.KID(proj, subsets=None, chunk=7)  # several extractor calls per batch
    x = torch.randn(40, 5, generator=_gen(7))
    metric.update(x, real=True)
    metric.update(x[:20], real=False)
    metric.update(x[20:], real=False)
    with torch.no_grad():
        fx = proj(x)
    assert metric.compute()["kid_mean"] == pytest.approx(
        M.kid(fx, fx, subsets=None)[0].item(), abs=1e-6)
    assert not metric.gathered("real").requires_grad
    with pytest.raises(TypeError, match="real"):
        metric.update(x, real=1)
    with pytest.raises(TypeError, match="batch"):
        metric.update([1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        metric.update(torch.full((3, 5), float("nan")))
    with pytest.raises(TypeError, match="extractor"):
        M.KID("not callable")
    metric.reset()
    with pytest.raises(ValueError, match="real batches"):
        metric.compute()


# ---------------------------------------------------------------- classifier scores

def _onehot(labels, c):
    return torch.nn.functional.one_hot(torch.as_tensor(labels), c).double()


def test_inception_score_hand_tables():
    c = 4
    balanced = _onehot(list(range(c)) * 5, c)
    assert M.inception_score(balanced)[0].item() == pytest.approx(c)
    same = torch.tensor([[0.7, 0.2, 0.1, 0.0]]).repeat(10, 1)
    assert M.inception_score(same)[0].item() == pytest.approx(1.0)
    # two rows: [1, 0] and [.5, .5]; marginal [.75, .25]
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    kl1 = math.log(1 / 0.75)
    kl2 = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert M.inception_score(p)[0].item() == pytest.approx(math.exp((kl1 + kl2) / 2))
    # splits: one balanced chunk (IS = 4), one collapsed chunk (IS = 1)
    mean, std = M.inception_score(torch.cat([balanced[:4], _onehot([2] * 4, c)]), splits=2)
    assert (mean.item(), std.item()) == pytest.approx((2.5, 1.5))


def test_entropy_mode_and_classifier_scores():
    c = 5
    balanced = _onehot(list(range(c)) * 4, c)
    uniform = torch.full((7, c), 1.0 / c)
    assert M.expected_entropy(balanced).item() == pytest.approx(0.0)
    assert M.expected_entropy(uniform).item() == pytest.approx(math.log(c))
    assert M.classifier_score(balanced, torch.ones(c)).item() == pytest.approx(c)
    counts = torch.tensor([10.0, 20, 30, 20, 20])
    # one-hot rows of class y: KL(δ_y ‖ π) = −log π_y, averaged over the balanced classes
    want = math.exp(-sum(math.log(k / 100) for k in counts.tolist()) / c)
    got = M.classifier_score(balanced, counts).item()
    assert got == pytest.approx(want)
    assert got == pytest.approx(M.classifier_score(balanced, counts / counts.sum()).item())
    # mode score: same marginal as the data -> IS; collapsed to one class -> exp(0 - log C)
    assert M.mode_score(balanced, balanced[:5]).item() == pytest.approx(c)
    assert M.mode_score(_onehot([0] * 6, c), balanced).item() == pytest.approx(1.0 / c)
    with pytest.raises(ValueError, match="probs"):
        M.inception_score(-balanced)
    with pytest.raises(ValueError, match="sum to 1"):
        M.expected_entropy(balanced * 2)
    with pytest.raises(ValueError, match="class_freq"):
        M.classifier_score(balanced, torch.ones(c + 1))
    with pytest.raises(ValueError, match="splits"):
        M.inception_score(balanced, splits=0)


def test_classifier_scores_stream():
    g = _gen(8)
    logits_fake = torch.randn(90, 6, generator=g) * 3
    logits_real = torch.randn(60, 6, generator=g) * 3
    freq = torch.arange(1.0, 7.0)
    metric = M.ClassifierScores(class_freq=freq, splits=3)  # batches are logits
    for part in logits_fake.split(25):
        metric.update(part)
    metric.update(logits_real, real=True)
    p, r = torch.softmax(logits_fake.double(), 1), torch.softmax(logits_real.double(), 1)
    is_mean, is_std = M.inception_score(p, splits=3)
    assert metric.compute() == pytest.approx({
        "inception_score": is_mean.item(), "inception_score_std": is_std.item(),
        "expected_entropy": M.expected_entropy(p).item(),
        "classifier_score": M.classifier_score(p, freq).item(),
        "mode_score": M.mode_score(p, r).item()})
    single = M.InceptionScore(torch.nn.Softmax(dim=1), outputs="probs")
    single.update(logits_fake)
    assert single.compute()["inception_score"] == pytest.approx(
        M.inception_score(p)[0].item())
    with pytest.raises(ValueError, match="real=True"):
        single.update(logits_real, real=True)
    ms = M.ModeScore()
    ms.update(logits_fake)
    ms.update(logits_real, real=True)
    assert ms.compute()["mode_score"] == pytest.approx(M.mode_score(p, r).item())
    ee, ls = M.ExpectedEntropy(), M.ClassifierScore(class_freq=freq)
    for m in (ee, ls):
        m.update(logits_fake)
    assert ee.compute()["expected_entropy"] == pytest.approx(M.expected_entropy(p).item())
    assert ls.compute()["classifier_score"] == pytest.approx(
        M.classifier_score(p, freq).item())
    with pytest.raises(ValueError, match="outputs"):
        M.ClassifierScores(outputs="scores")


# ---------------------------------------------------------------- MMD, JSD, ENN

def test_mmd_default_kernel_and_stream():
    g = _gen(9)
    x = torch.randn(100, 3, generator=g, dtype=torch.float64)
    y = torch.randn(80, 3, generator=g, dtype=torch.float64) + 0.7
    sigma = float(kd.bandwidth(x, y))
    kxx, kyy, kxy = (torch.exp(-torch.cdist(a, b) ** 2 / (2 * sigma**2))
                     for a, b in ((x, x), (y, y), (x, y)))
    dense = ((kxx.sum() - kxx.trace()) / (100 * 99) + (kyy.sum() - kyy.trace()) / (80 * 79)
             - 2 * kxy.mean())
    assert M.mmd2(x, y).item() == pytest.approx(dense.item(), rel=1e-8)
    assert M.mmd2(x, y, "dot", estimator="biased").item() == pytest.approx(
        ((x.mean(0) - y.mean(0)) ** 2).sum().item(), rel=1e-8)
    metric = M.MMD(kernel="rbf")
    metric.update(x, real=True)
    for part in y.split(30):
        metric.update(part)
    assert metric.compute()["mmd2"] == pytest.approx(kd.mmd2(x, y, "rbf").item())
    with pytest.raises(ValueError, match="estimator"):
        M.MMD(estimator="quadratic")


def test_jsd_same_and_separated():
    g = _gen(10)
    data = torch.randn(400, 2, generator=g, dtype=torch.float64)
    same = torch.randn(400, 2, generator=g, dtype=torch.float64)
    k_n, f, s = M.jsd(data, same, 0.5)
    assert k_n.item() == pytest.approx(-math.log(4), abs=0.03)
    assert f.item() == pytest.approx(-math.log(2), abs=0.03)
    assert s.item() == pytest.approx(-math.log(2), abs=0.03)
    k_far, _, _ = M.jsd(data, same + 20.0, 0.5)
    assert k_far.item() > -1e-6  # disjoint supports: each log-ratio → log 1 = 0
    metric = M.JSD(0.5)
    metric.update(data, real=True)
    metric.update(same)
    assert metric.compute() == pytest.approx(
        {"jsd": k_n.item(), "jsd_f": f.item(), "jsd_s": s.item()})


def test_enn_matches_dense_and_stream():
    g = _gen(11)
    train = torch.randn(300, 5, generator=g)
    samples = torch.randn(120, 5, generator=g) * 1.5
    want = torch.cdist(samples.double(), train.double()).min(1).values.mean().item()
    assert M.enn(samples, train).item() == pytest.approx(want, rel=1e-5)
    assert M.enn(train[:50], train).item() == pytest.approx(0.0, abs=1e-5)  # memorized
    metric = M.ENN()
    for part in train.split(100):
        metric.update(part, real=True)
    metric.update(samples)
    assert metric.compute()["enn"] == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="samples and train"):
        M.enn(samples, train[:, :4])


# ---------------------------------------------------------------- 1-NN two-sample test

def _one_nn_dense(real: torch.Tensor, fake: torch.Tensor) -> float:
    z = torch.cat([real, fake]).double()
    d = torch.cdist(z, z)
    d.fill_diagonal_(float("inf"))
    lab = torch.arange(len(z)) < len(real)
    return (lab[d.argmin(1)] == lab).double().mean().item()


def test_one_nn_accuracy():
    g = _gen(12)
    real = torch.randn(300, 3, generator=g)
    fake = torch.randn(300, 3, generator=g)
    r = M.one_nn_accuracy(real, fake)
    assert r.accuracy == pytest.approx(_one_nn_dense(real, fake))
    assert abs(r.accuracy - 0.5) < 0.08  # same distribution
    far = M.one_nn_accuracy(real, fake + 10.0)
    assert (far.accuracy, far.real_accuracy, far.fake_accuracy) == (1.0, 1.0, 1.0)
    copied = M.one_nn_accuracy(real, real + 1e-4 * torch.randn(300, 3, generator=g))
    assert copied.accuracy == 0.0  # memorization: each point's neighbour is its copy
    metric = M.OneNNAccuracy()
    metric.update(real, real=True)
    for part in fake.split(128):
        metric.update(part)
    out = metric.compute()
    assert out["one_nn_accuracy"] == pytest.approx(r.accuracy)
    assert out["one_nn_accuracy"] == pytest.approx(
        (out["one_nn_real_accuracy"] + out["one_nn_fake_accuracy"]) / 2)
    with pytest.raises(ValueError, match="real and fake"):
        M.one_nn_accuracy(real, fake[:, :2])


# ---------------------------------------------------------------- birthday paradox

def test_closest_pairs_finds_planted_duplicates():
    g = _gen(13)
    x = torch.randn(200, 10, generator=g, dtype=torch.float64)
    planted = [(5, 150), (17, 42), (99, 180)]
    for i, (a, b) in enumerate(planted):
        x[b] = x[a] + 10.0 ** -(6 + i) * torch.randn(10, generator=g, dtype=torch.float64)
    dist, pairs = M.closest_pairs(x, k=5)
    assert [tuple(p) for p in pairs[:3].tolist()] == planted[::-1]
    assert torch.all(dist[1:] >= dist[:-1])
    # brute force: all five pairs agree with the dense matrix
    d = (x[:, None] - x[None]).norm(dim=-1)  # exact differences (cdist rounds tiny distances)
    iu = torch.triu_indices(200, 200, 1)
    dense = d[iu[0], iu[1]]
    order = dense.argsort()[:5]
    assert [tuple(p) for p in iu[:, order].T.tolist()] == [tuple(p) for p in pairs.tolist()]
    assert torch.allclose(dist, dense[order])
    with pytest.raises(ValueError, match="k=101"):
        M.closest_pairs(x, k=101)
    with pytest.raises(ValueError, match="at least 2"):
        M.closest_pairs(x[:1], k=1)


def test_birthday_test_stream():
    g = _gen(14)
    test = M.BirthdayTest(k=3, threshold=1e-3)
    for i in range(4):
        batch = torch.randn(50, 8, generator=g)
        if i % 2 == 0:
            batch[7] = batch[30]  # a duplicate in half of the batches
        test.update(batch)
    out = test.compute()
    assert out["duplicate_rate"] == 0.5
    assert out["batch_size"] == 50.0 and out["support_estimate"] == 2500.0
    assert [tuple(f.pairs[0].tolist()) for f in test.flagged[::2]] == [(7, 30), (7, 30)]
    with pytest.raises(ValueError, match="same size"):
        test.update(torch.randn(40, 8))
    with pytest.raises(ValueError, match="threshold"):
        M.BirthdayTest(threshold=-1.0)


# ---------------------------------------------------------------- independent critic (003 §5)

def _samples(n: int, shift: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, 2, generator=g)
    fake = torch.randn(n, 2, generator=g) + torch.tensor([shift, 0.0])
    return real, fake


def test_js_critic_same_vs_separated():
    real, fake = _samples(512, 0.0, 0)
    same = M.independent_critic(real, fake, steps=100)
    assert abs(same.divergence) < 0.1  # 2·JSD(P, P) = 0; a held-out bound can dip below
    _, far = _samples(512, 8.0, 1)
    sep = M.independent_critic(real, far, steps=100)
    assert sep.divergence == pytest.approx(2 * math.log(2), abs=0.06)  # disjoint: JSD = log 2
    assert sep.train_divergence <= 2 * math.log(2) + 1e-9
    assert sep.steps == 100
    # the GAN critic value is the same bound shifted by log 4 (same gradients, same critic)
    gan = M.independent_critic(real, far, divergence="gan", steps=100)
    assert gan.divergence == pytest.approx(sep.divergence - math.log(4), abs=1e-3)


def test_wasserstein_critic_recovers_shift():
    real, fake = _samples(512, 2.0, 2)
    r = M.independent_critic(real, fake, divergence="wasserstein", steps=200)
    assert r.divergence == pytest.approx(2.0, abs=0.35)  # W1 of a shift = its length


def test_deterministic_untouched_and_module_form():
    real, fake = _samples(256, 1.0, 3)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    before = [p.clone() for p in critic.parameters()]
    a = M.independent_critic(real, fake, critic=critic, steps=30, eval_fraction=0.25)
    b = M.independent_critic(real, fake, critic=critic, steps=30, eval_fraction=0.25)
    assert a == b
    assert all(torch.equal(p, q) for p, q in zip(before, critic.parameters(), strict=True))
    metric = M.IndependentCritic(critic=critic, steps=30, eval_fraction=0.25)
    for part in real.split(100):
        metric.update(part, real=True)
    metric.update(fake)
    assert metric.compute() == {"critic_divergence": a.divergence,
                                "critic_train_divergence": a.train_divergence}


def test_critic_validation():
    real, fake = _samples(64, 0.0, 4)
    with pytest.raises(ValueError, match="divergence"):
        M.independent_critic(real, fake, divergence="tv")
    with pytest.raises(ValueError, match="eval_fraction"):
        M.independent_critic(real, fake, eval_fraction=1.0)
    with pytest.raises(ValueError, match="steps"):
        M.independent_critic(real, fake, steps=0)
    with pytest.raises(ValueError, match="fake"):
        M.independent_critic(real, fake[:, :1])
    with pytest.raises(TypeError, match="critic"):
        M.independent_critic(real, fake, critic=3)
    with pytest.raises(ValueError, match="one value per sample"):
        M.independent_critic(real, fake, critic=torch.nn.Linear(2, 3), steps=1)
    assert set(M.DIVERGENCES) == {"js", "gan", "kl", "rkl", "pearson", "hellinger",
                                  "wasserstein"}
