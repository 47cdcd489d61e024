"""Command line: ``python -m kdecore`` (or ``kdecore``).

- ``kdecore train ...``  — the GAN trainer (:mod:`kdecore.train.cli`; ``kdecore train --list``).
- ``kdecore demo``       — a table of MMD²/KDE results on built-in data, timed per backend.
"""

from __future__ import annotations

import sys


def _train(argv: list[str]) -> int:
    from kdecore.train.cli import main as train_main

    return train_main(argv)


def _demo(argv: list[str]) -> int:
    from kdecore.demo import main as demo_main

    return demo_main(argv)


#: subcommands (a registry, not an if-chain): name -> (handler, one-line help).
COMMANDS = {
    "train": (_train, "train a GAN with any objective of SPEC §5 (kdecore train --help)"),
    "demo": (_demo, "MMD²/KDE on built-in data, timed on every available backend"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: kdecore {" + ",".join(COMMANDS) + "} ...\n")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<8} {text}")
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"kdecore: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    return COMMANDS[argv[0]][0](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
