"""``kdecore train``: --list, --config with flag overrides, a real run, exit codes."""

from __future__ import annotations

import json

import pytest

from kdecore.__main__ import main as kdecore_main
from kdecore.train import DATASETS, OBJECTIVES
from kdecore.train.cli import main, parse


def test_list_prints_every_objective_and_dataset(capsys):
    assert kdecore_main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    for name, obj in OBJECTIVES.items():
        assert f"  {name} " in out and obj.source in out
    for name in DATASETS:
        assert f"  {name} " in out
    assert "anneal" in out and "--pack" in out and "--unroll" in out


def test_config_file_and_flag_overrides(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('objective = "wgan-gp"\nsteps = 50\nlr-g = 0.001\ng_hidden = [32, 32]\n'
                    'progress = false\n[train]\nseed = 3\n')
    cfg, _ = parse(["--config", str(toml), "--steps", "7", "--no-tensorboard",
                    "--betas", "0.5,0.9"])
    assert (cfg.objective, cfg.steps, cfg.lr_g, cfg.g_hidden, cfg.seed) == (
        "wgan-gp", 7, 0.001, (32, 32), 3)
    assert cfg.progress is False and cfg.tensorboard is False and cfg.betas == (0.5, 0.9)


def test_cli_trains_and_writes_outputs(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["--objective", "lsgan", "--data", "ring8", "--steps", "4", "--out", str(out),
                 "--batch-size", "16", "--g-hidden", "16", "--d-hidden", "16", "--z-dim", "4",
                 "--no-progress", "--no-tensorboard", "--eval-samples", "200"])
    assert code == 0
    assert "modes_covered=" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["steps"] == 4
    assert (out / "samples.png").exists() and (out / "metrics.csv").exists()


@pytest.mark.parametrize("argv, message", [
    (["--objective", "nope"], "unknown objective"),
    (["--steps", "x"], "steps must be int"),
    (["--config", "missing.toml"], "does not exist"),
    (["--data", "file"], "data_path"),
])
def test_bad_arguments_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_bad_toml_key(tmp_path, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text("stepz = 3\n")
    assert main(["--config", str(toml)]) == 2
    assert "unknown config key 'stepz'" in capsys.readouterr().err
