"""Helpers shared by the reproduction scripts in ``python/`` (command line, results.json,
figures, tables, the digits LeNet features).

Every script is run as ``python python/<name>.py --out runs/<name> [--quick]`` and writes
``results.json`` and PNGs into ``--out``; its ``main(argv)`` returns the results dict, so the
tests call it in-process.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

#: ln 4: K_n of two samples of one distribution tends to −ln 4 (000 Table 1)
LOG4 = math.log(4.0)


def parse_args(name: str, doc: str | None, argv: Sequence[str] | None,
               options: dict[str, tuple[type, Any, str]] | None = None) -> argparse.Namespace:
    """``--out`` (default runs/<name>), ``--quick`` (the small run of the tests), ``--seed``,
    ``--threads`` (torch CPU threads; small problems run fastest on 1), plus ``options``:
    ``{"eval-every": (int, None, "help")}`` adds ``--eval-every`` (``args.eval_every``)."""
    p = argparse.ArgumentParser(prog=f"python/{name}.py", description=(doc or "").split("\n")[0])
    p.add_argument("--out", default=f"runs/{name}", help="output folder (results.json, PNGs)")
    p.add_argument("--quick", action="store_true", help="a small run (seconds), as the tests do")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    for flag, (kind, default, text) in (options or {}).items():
        p.add_argument(f"--{flag}", type=kind, default=default, help=text)
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    args.started = time.perf_counter()
    return args


def finish(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    """Add the run's settings and wall time to ``results`` and write ``out/results.json``."""
    results["settings"] = {"quick": args.quick, "seed": args.seed, "threads": args.threads,
                           **results.get("settings", {})}
    results["wall_time_s"] = round(time.perf_counter() - args.started, 1)
    path = args.out / "results.json"
    path.write_text(json.dumps(results, indent=2, default=_jsonable) + "\n")
    print(f"wrote {path} ({results['wall_time_s']} s)")
    return results


def _jsonable(v: Any) -> Any:
    if isinstance(v, Tensor):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serializable: {type(v).__name__}")


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> str:
    """A GitHub markdown table; floats printed with ``digits`` significant-ish decimals."""
    def cell(v: Any) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if t.numel() > 1 else 0.0


# -- training in stages ----------------------------------------------------------------------
def train_in_stages(cfg, ends: Sequence[int]) -> Iterator[tuple[int, Any, float]]:
    """Train ``cfg`` (a :class:`kdecore.train.TrainConfig`) up to each step of ``ends`` in turn,
    each stage resuming from the previous one's checkpoint (``stop_at`` / ``resume``: an exact
    continuation, schedules follow ``cfg.steps``); yields (step, TrainResult, seconds)."""
    from kdecore.train import train

    for k, end in enumerate(ends):
        t0 = time.perf_counter()
        result = train(cfg.replace(stop_at=end, resume=k > 0))
        yield end, result, time.perf_counter() - t0


# -- digits ------------------------------------------------------------------------------------
def digits_lenet(input_range: tuple[float, float] = (-1.0, 1.0)):
    """The trainer's digits LeNet (trained at first use, cached; ``$KDECORE_CACHE_DIR``),
    reading pixels in ``input_range`` ((−1, 1): the trainer's digits data and tanh generators)."""
    from kdecore.train.metrics import load_digits_lenet

    return load_digits_lenet(input_range=input_range)


def digits_images() -> Tensor:
    """All 1797 scikit-learn digits as (n, 1, 8, 8) in [−1, 1] (the trainer's scaling)."""
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images).float() / 8.0 - 1.0
    return x[:, None]


def digits_split() -> tuple[Tensor, Tensor]:
    """(train, held-out) images of the trainer's ``digits`` dataset: its permutation (seed 0)
    with the last 297 held out, rebuilt here because the Dataset exposes only ``heldout``
    (checked against it)."""
    from kdecore.train import TrainConfig, load_dataset

    x = digits_images()
    x = x[torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))]
    held = load_dataset(TrainConfig(data="digits")).heldout
    train, rebuilt = x[:-held.shape[0]], x[-held.shape[0]:]
    if not torch.equal(rebuilt, held):
        raise RuntimeError("the trainer's digits split changed; update digits_split()")
    return train, held


def lenet_features(model, x: Tensor, chunk: int = 4096) -> Tensor:
    """The LeNet's 64 penultimate features of images ``x``, float64, without gradients."""
    with torch.no_grad():
        return torch.cat([model.features(c) for c in x.split(chunk)]).double()
