"""The digits LeNet: accuracy, cache and checksum round-trip, and its use as the feature
extractor / classifier of the digits metrics (000 Table 1, "MNIST Test" column analogue)."""

from __future__ import annotations

import json

import pytest
import torch
from test_metrics import one_thread  # noqa: F401  (autouse: one thread for small problems)

from kdecore.train import metrics as M
from kdecore.train.metrics import lenet

#: stated held-out accuracy of the recipe (measured 0.978 with torch 2.13 on CPU)
MIN_TEST_ACCURACY = 0.95


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private cache directory holding one freshly trained LeNet (trained once per module)."""
    path = tmp_path_factory.mktemp("kdecore_cache")
    lenet.load_digits_lenet(path)
    return path


@pytest.fixture(scope="module")
def digits():
    return lenet.digits_split()


def test_held_out_accuracy(cache, digits):
    model = lenet.load_digits_lenet(cache)
    _, _, xte, yte = digits
    acc = lenet.accuracy(model, xte, yte)  # measured here, not read from the sidecar
    assert acc >= MIN_TEST_ACCURACY
    assert model.info["test_accuracy"] == pytest.approx(acc)
    assert model.info["n_test"] == len(yte) == 450
    assert model(xte[:7]).shape == (7, 10)
    assert model.features(xte[:7].reshape(7, 8, 8)).shape == (7, 64)
    assert torch.allclose(model.probs(xte[:3]).sum(1), torch.ones(3))
    assert not any(p.requires_grad for p in model.parameters())


def test_cache_checksum_round_trip(cache, monkeypatch, digits):
    weights, meta = cache / f"{lenet.NAME}.pt", cache / f"{lenet.NAME}.json"
    assert json.loads(meta.read_text())["sha256"] == lenet.sha256(weights)
    x = digits[2][:20]
    first = lenet.load_digits_lenet(cache)

    def no_training():
        raise AssertionError("a verified cache must not retrain")

    monkeypatch.setattr(lenet, "train_digits_lenet", no_training)
    again = lenet.load_digits_lenet(cache)
    assert torch.equal(first(x), again(x))
    # the environment variable points the default cache there too
    monkeypatch.setenv("KDECORE_CACHE_DIR", str(cache))
    assert lenet.default_cache_dir() == cache
    assert torch.equal(lenet.load_digits_lenet()(x), first(x))


def test_corrupt_cache_is_retrained(cache, tmp_path, monkeypatch):
    for f in cache.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    weights = tmp_path / f"{lenet.NAME}.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    calls = []

    def counting():  # stands in for the (tested above) training, to save its seconds
        calls.append(1)
        return lenet.DigitsLeNet()

    monkeypatch.setattr(lenet, "train_digits_lenet", counting)
    with pytest.warns(UserWarning, match="checksum"):
        lenet.load_digits_lenet(tmp_path)
    assert calls == [1]
    meta = json.loads((tmp_path / f"{lenet.NAME}.json").read_text())
    assert meta["sha256"] == lenet.sha256(weights)  # rewritten, verified next time


def test_input_range(cache, digits):
    x = digits[2][:10]
    unit = lenet.load_digits_lenet(cache)
    signed = lenet.load_digits_lenet(cache, input_range=(-1.0, 1.0))
    assert torch.allclose(unit(x), signed(2 * x - 1), atol=1e-5)
    with pytest.raises(ValueError, match="input_range"):
        lenet.load_digits_lenet(cache, input_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="x must have shape"):
        unit(torch.zeros(2, 63))


def test_digits_metrics_with_lenet(cache, digits):
    """Held-out digits vs the training digits score like 000 Table 1's "MNIST Test" column:
    low EE, LS near the number of classes, KID ≈ 0; noise images score far worse."""
    model = lenet.load_digits_lenet(cache)
    xtr, _, xte, _ = digits
    scores = M.ClassifierScores(model, class_freq=lenet.digits_class_frequencies())
    scores.update(xte)
    out = scores.compute()
    assert out["expected_entropy"] < 0.2
    assert out["classifier_score"] > 8.5 and out["inception_score"] > 8.5
    noise = torch.rand(450, 64, generator=torch.Generator().manual_seed(0))
    kid = M.KID(model.features, subsets=10, subset_size=200, device="cpu")
    kid.update(xtr, real=True)
    kid.update(xte)
    held_out = kid.compute()
    kid.reset()
    kid.update(xtr, real=True)
    kid.update(noise)
    assert abs(held_out["kid_mean"]) < 3 * held_out["kid_std"]  # consistent with 0
    assert kid.compute()["kid_mean"] > 20 * held_out["kid_std"]
    fid = M.FID(model.features)
    fid.update(xtr, real=True)
    fid.update(xte)
    fid_held_out = fid.compute()["fid"]
    fid.reset()
    fid.update(xtr, real=True)
    fid.update(noise)
    assert fid.compute()["fid"] > 50 * fid_held_out
