"""Datasets: mixtures with their modes, digits, and user data from .npy/.pt files and image
folders written here (nothing downloaded)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tiny_runs import tiny_config

from kdecore.train import DATASETS, TrainConfig, load_dataset, train


def test_mixtures_expose_modes_and_std():
    ring = load_dataset(TrainConfig(data="ring8"))
    assert ring.shape == (2,) and ring.std == 0.02 and ring.centers.shape == (8, 2)
    torch.testing.assert_close(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    torch.manual_seed(0)
    x = ring.sample(4000, torch.device("cpu"))
    d = torch.cdist(x, ring.centers).min(1).values
    assert float((d < 3 * 0.02).double().mean()) > 0.98
    grid = load_dataset(TrainConfig(data="grid25"))
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    one = load_dataset(TrainConfig(data="mix1d"))
    assert one.shape == (1,) and one.centers.shape == (2, 1)
    assert float((one.heldout < 0).double().mean()) == pytest.approx(0.7, abs=0.05)
    assert load_dataset(TrainConfig(data="mix1d-5")).centers.shape == (5, 1)


def test_digits_are_8x8_images_in_range():
    d = load_dataset(TrainConfig(data="digits"))
    assert d.shape == (1, 8, 8) and d.is_image and d.centers is None
    x = d.sample(10, torch.device("cpu"))
    assert x.shape == (10, 1, 8, 8) and float(x.min()) >= -1 and float(x.max()) <= 1
    assert d.heldout.shape[0] == 297
    assert load_dataset(TrainConfig(data="digits", image_size=16)).shape == (1, 16, 16)


def test_npy_and_pt_files(tmp_path):
    pts = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    np.save(tmp_path / "pts.npy", pts)
    d = load_dataset(TrainConfig(data="file", data_path=str(tmp_path / "pts.npy")))
    assert d.shape == (3,)
    assert torch.equal(d.heldout, torch.from_numpy(pts[-10:]))  # the last fifth is held out
    imgs = torch.randint(0, 256, (20, 8, 8), dtype=torch.uint8)
    torch.save(imgs, tmp_path / "imgs.pt")
    d = load_dataset(TrainConfig(data="file", data_path=str(tmp_path / "imgs.pt")))
    assert d.shape == (1, 8, 8)
    torch.testing.assert_close(d.heldout[0, 0], imgs[-4].float() / 127.5 - 1)
    torch.save({"x": imgs}, tmp_path / "dict.pt")
    for path, match in ((tmp_path / "dict.pt", "one tensor"), (tmp_path / "none.npy", "exist"),
                        (tmp_path / "pts.txt", "exist")):
        with pytest.raises(ValueError, match=match):
            load_dataset(TrainConfig(data="file", data_path=str(path)))
    (tmp_path / "pts.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match=r"\.npy or \.pt"):
        load_dataset(TrainConfig(data="file", data_path=str(tmp_path / "pts.csv")))
    with pytest.raises(ValueError, match="data_path"):
        load_dataset(TrainConfig(data="file"))
    bad = pts.copy()
    bad[3, 1] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="NaN"):
        load_dataset(TrainConfig(data="file", data_path=str(tmp_path / "bad.npy")))


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    for i in range(6):
        arr = rng.integers(0, 256, (20, 24), dtype=np.uint8)
        Image.fromarray(arr, "L").save(tmp_path / ("sub" if i % 2 else ".") / f"g{i}.png")
    d = load_dataset(TrainConfig(data="folder", data_path=str(tmp_path), image_size=16))
    assert d.shape == (1, 16, 16) and d.heldout.shape[1:] == (1, 16, 16)
    Image.fromarray(rng.integers(0, 256, (9, 9, 3), dtype=np.uint8), "RGB").save(
        tmp_path / "c.jpg")
    d = load_dataset(TrainConfig(data="folder", data_path=str(tmp_path)))
    assert d.shape == (3, 32, 32)
    assert float(d.heldout.min()) >= -1 and float(d.heldout.max()) <= 1


@pytest.mark.parametrize("objective", ["wgan-gp", "kernel-gan"])
def test_training_on_user_files(objective, tmp_path):
    np.save(tmp_path / "pts.npy", np.random.default_rng(1).normal(size=(64, 2)))
    r = train(tiny_config(tmp_path, objective=objective, data="file", steps=2,
                          data_path=str(tmp_path / "pts.npy")))
    assert r.metrics["status"] == "finished" and "modes_covered" not in r.metrics


@pytest.mark.parametrize("objective", ["mmd-rq*", "gmmn-ae", "kernel-gan-fs"])
def test_dcgan_on_digits(objective, tmp_path):
    """DCGAN generator/critic and the convolutional autoencoder on 8×8 and 16×16 images."""
    for size in (8, 16):
        r = train(tiny_config(tmp_path, objective=objective, data="digits", image_size=size,
                              steps=2, batch_size=8, critic_width=8, g_width=8))
        assert r.sample(4).shape == (4, 1, size, size)
        assert math.isfinite(r.metrics["kid_pixels"])


def test_dataset_registry_lists_sources():
    assert {"ring8", "grid25", "mix1d", "digits", "file", "folder"} <= set(DATASETS)
    assert all(src for _, src in DATASETS.values())
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset(TrainConfig(data="mnist"))
