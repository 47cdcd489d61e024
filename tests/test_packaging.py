"""Packaging: the wheel holds only ``kdecore/`` (with the backends as ``kdecore._kernels``)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_holds_only_kdecore(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                        "--no-build-isolation", "-w", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (wheel,) = tmp_path.glob("kdecore-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"kdecore", next(t for t in tops if t.endswith(".dist-info"))}, tops
    for required in ("kdecore/_kernels/__init__.py", "kdecore/_kernels/torch/sums.py",
                     "kdecore/_kernels/triton/__init__.py", "kdecore/_kernels/keops/__init__.py",
                     "kdecore/train/__init__.py", "kdecore/families/bandwidths.py"):
        assert required in names, required
    assert not any(n.startswith(("tests/", "bench/", "python/", "kernels/")) for n in names)

    # the installed wheel works from a directory that has no source tree
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target",
                        str(target), str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    code = (f"import kdecore as kd, torch; assert kd.__file__.startswith({str(target)!r}); "
            "x = torch.randn(9, 2); print(float(kd.mmd2(x, x + 1, 'rbf', backend='torch')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert float(r.stdout.strip()) > 0


def test_source_tree_runs_without_install(tmp_path):
    """A checkout that was never installed finds ``kdecore._kernels`` in ``kernels/``.

    ``-S`` skips site-packages' ``.pth`` files, hence any editable-install finder; the
    site-packages folder itself is added back by hand so that torch imports."""
    code = "\n".join([
        "import sys, sysconfig",
        "sys.path.append(sysconfig.get_paths()['purelib'])",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "import kdecore as kd, torch",
        "names = [getattr(f, '__name__', type(f).__name__).lower() for f in sys.meta_path]",
        "assert not any('editable' in n for n in names), names",
        f"assert kd.__file__.startswith({str(ROOT)!r})",
        "print(kd.kernel_sum(torch.zeros(1, 1), torch.zeros(2, 1), 'rbf').item())",
    ])
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "2.0"
