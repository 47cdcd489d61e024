"""kdecore.train builds on the public kdecore API only (no kdecore._kernels, no private
modules), and exposes its registries."""

from __future__ import annotations

import ast
from pathlib import Path

import kdecore as kd
import kdecore.train as kt

ROOT = Path(kt.__file__).parent
#: another package of the trainer layer, checked by its own tests
NOT_OURS = ("metrics",)


def _imports(path: Path) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    package = ["kdecore", "train", *path.relative_to(ROOT).parts[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out += [f"{mod}.{a.name}" if node.level else mod for a in node.names]
    return out


def test_trainer_uses_only_the_public_kdecore_api():
    files = [p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] not in NOT_OURS]
    assert len(files) > 15
    for path in files:
        for mod in _imports(path):
            if mod.startswith("kdecore") and not mod.startswith("kdecore.train"):
                assert mod == "kdecore", f"{path.name} imports {mod}: use `import kdecore as kd`"


def test_registries():
    assert len(kt.OBJECTIVES) >= 25
    for name, obj in kt.OBJECTIVES.items():
        assert obj.name == name and obj.source and obj.summary
    assert set(kt.SCHEDULES) >= {"anneal", "median"}
    assert {"ring8", "grid25", "digits"} <= set(kt.DATASETS)
    assert callable(kt.train) and kd.__version__
