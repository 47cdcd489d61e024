"""Memory is bounded by a tile, not by m×n (SPEC §2; issue "Engine").

Each run happens in a fresh subprocess that reports its peak resident set size (VmHWM).
A dense float32 200 000 × 200 000 matrix would need 160 GB: this machine has 24 GiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "peak_memory.py"
MiB = 2**20


def run(n: int, what: str, d: int = 8) -> dict:
    r = subprocess.run([sys.executable, str(SCRIPT), str(n), str(d), what],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_200k_points_run_in_bounded_memory():
    """m = n = 200 000, d = 8: the within-set RBF sums (2·10¹⁰ pairs, each unordered pair once)
    stay within a few tiles of memory above the interpreter's baseline."""
    out = run(200_000, "within")
    growth = out["peak_rss"] - out["baseline_rss"]
    print(f"\n200k within-set sums: peak RSS {out['peak_rss'] / MiB:.0f} MiB, "
          f"+{growth / MiB:.0f} MiB over baseline, {out['seconds']:.1f} s")
    assert out["value"] > 0
    assert growth < 512 * MiB


def test_backward_memory_does_not_grow_with_n():
    """Forward + backward of a kernel sum: doubling n (4× the pairs) adds no memory beyond
    the O(n) inputs and gradients."""
    small, large = run(10_000, "sum-backward"), run(20_000, "sum-backward")
    g_small = small["peak_rss"] - small["baseline_rss"]
    g_large = large["peak_rss"] - large["baseline_rss"]
    assert g_large < 256 * MiB
    assert g_large < g_small + 32 * MiB, (g_small / MiB, g_large / MiB)
