"""``kdecore train``: the command line of the trainer.

    kdecore train --objective kernel-gan --data ring8 --steps 20000 --seed 0 --out runs/x
    kdecore train --config run.toml --lr-g 1e-4      # flags override the file
    kdecore train --list                             # objectives, datasets, schedules

Every :class:`~kdecore.train.config.TrainConfig` field is a flag (``_`` becomes ``-``;
booleans have ``--no-...``; lists are comma-separated: ``--g-hidden 128,128``).
"""

from __future__ import annotations

import argparse
import sys

from .config import FIELDS, TrainConfig, convert, field_type, from_mapping, load_toml


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kdecore train", description="Train a GAN with any objective of SPEC §5–6.",
        epilog="Fields left unset take the objective's paper default; see --list.")
    p.add_argument("--config", metavar="FILE", help="TOML file of config fields (flags win)")
    p.add_argument("--list", action="store_true", help="list objectives, datasets, schedules")
    for name, f in FIELDS.items():
        base, is_tuple, _ = field_type(name)
        flag = "--" + name.replace("_", "-")
        default = f.default
        shown = "objective default" if default is None else default
        help_text = f"{f.metadata.get('help', '')} [{shown}]".replace("%", "%%")
        if base is bool and not is_tuple:
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                           default=argparse.SUPPRESS, help=help_text)
        else:
            p.add_argument(flag, dest=name, default=argparse.SUPPRESS, metavar=name.upper(),
                           help=help_text)
    return p


def listing() -> str:
    """The text of ``kdecore train --list``."""
    from . import DATASETS, OBJECTIVES, SCHEDULES

    lines = ["objectives (name — source — what):"]
    width = max(len(n) for n in OBJECTIVES)
    for name, obj in OBJECTIVES.items():
        lines.append(f"  {name:<{width}}  {obj.source} — {obj.summary}")
    lines.append("  options for the critic-based objectives: --pack M (PacGAN, 001), "
                 "--unroll K (unrolled GAN, 001), --kid-lr (002 §4.1)")
    lines.append("\ndatasets:")
    width = max(len(n) for n in DATASETS)
    for name, (_, source) in DATASETS.items():
        lines.append(f"  {name:<{width}}  {source}")
    lines.append("\nbandwidth schedules (Kernel GAN, --schedule):")
    width = max(len(n) for n in SCHEDULES)
    for name, (_, text, sigmas) in SCHEDULES.items():
        lines.append(f"  {name:<{width}}  {text}; default --sigmas {','.join(map(str, sigmas))}")
    return "\n".join(lines)


def parse(argv: list[str]) -> tuple[TrainConfig | None, argparse.Namespace]:
    """The config of a command line (None with --list)."""
    args = _parser().parse_args(argv)
    if args.list:
        return None, args
    cfg = TrainConfig()
    if args.config:
        cfg = from_mapping(load_toml(args.config), cfg)
    flags = {k: v for k, v in vars(args).items() if k in FIELDS}
    for name, value in flags.items():
        flags[name] = convert(name, value)
    return from_mapping(flags, cfg), args


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kdecore train`` / ``python -m kdecore train``; returns the exit code
    (0 done, 1 training diverged, 2 bad arguments)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        cfg, _ = parse(argv)
    except (ValueError, TypeError) as exc:
        print(f"kdecore train: {exc}", file=sys.stderr)
        return 2
    if cfg is None:
        print(listing())
        return 0
    from .loop import NonFiniteLossError, Trainer, cpu_threads, default_threads

    with cpu_threads(default_threads(cfg)):
        try:
            trainer = Trainer(cfg)
        except (ValueError, TypeError) as exc:  # bad settings, data or resume state
            print(f"kdecore train: {exc}", file=sys.stderr)
            return 2
        try:
            result = trainer.run()
        except NonFiniteLossError as exc:
            print(f"kdecore train: {exc}", file=sys.stderr)
            return 1
        finally:
            trainer.close()
    m = result.metrics
    if result.rank != 0:
        return 0
    if m.get("status") == "finished":
        keys = [k for k in ("modes_covered", "n_modes", "hq_fraction", "kid_pixels",
                            "wall_time_s") if k in m]
        summary = ", ".join(f"{k}={m[k]:.4g}" if isinstance(m[k], float) else f"{k}={m[k]}"
                            for k in keys)
        print(f"kdecore train: done, {summary}; outputs in {result.out}")
    elif m.get("status") == "stopped":
        print(f"kdecore train: stopped at step {m['step']} (--stop-at); continue with --resume")
    return 0


__all__ = ["listing", "main", "parse"]
