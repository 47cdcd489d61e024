"""Run the benchmark suite and write bench/RESULTS.md.

    python bench/make_results.py --mode full          # every size (the recorded results)
    python bench/make_results.py                      # quick mode, CI-sized

It runs ``python -m pytest bench --benchmark-json=...`` (all implementations measured in the
same run), then writes one table per task: each implementation's median steady-state time and
its ratio to the fastest kdecore backend of that row; KeOps first calls (compile) apart; the
targets of the KeOps/benchmark issue; a GPU section with the fraction of the hardware limit when
the run (or a JSON given with ``--json``, e.g. from bench/bench_triton_gpu.py) has CUDA results.
``--json FILE`` alone (with ``--no-run``) rebuilds RESULTS.md from saved results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

#: table id prefix -> title and what the rows mean.
TITLES = {
    "rbf-sums": "RBF kernel sums R_i = Σ_j exp(−‖x_i − y_j‖²/(2σ²)), σ = √d",
    "mmd2-rbf": "MMD² (unbiased), RBF σ = √d = 4",
    "mmd2-rbf-mix": "MMD² (unbiased), RBF mixture σ ∈ {2, 5, 10, 20, 40, 80}",
    "mmd2-rq-mix": "MMD² (unbiased), RQ mixture α ∈ {0.2, 0.5, 1, 2, 5}",
    "mmd2-energy": "Energy distance (unbiased MMD², distance kernel β = 1)",
    "log-kde": "Gaussian log-KDE at m query points (d = 8, Scott's bandwidth)",
    "kid-subsets": "KID, 2048-d features, subsets",
    "kid-full": "KID, 2048-d features, full unbiased estimator",
    "mmd2-backward-rbf": "MMD² forward + backward w.r.t. both sets, RBF σ = √d = 4",
    "mmd2-backward-rbf-mix": "MMD² forward + backward w.r.t. both sets, RBF mixture",
}
#: H100 limits (PERFORMANCE.md): exponentials/s of the special-function units; FP32 FLOP/s.
EXP_PER_S = 3.9e12
FP32_FLOPS = 67e12


def suite_files(only: list[str]) -> list[Path]:
    files = sorted(HERE.glob("test_bench_*.py"))
    return [f for f in files if not only or any(o in f.stem for o in only)]


def run_suite(mode: str, threads: int | None, only: list[str], extra: list[str]) -> dict:
    """Run each benchmark file in its own pytest process (a failure or an interruption loses
    one file's results, not the run's); results go to bench/results/<mode>-<file>.json."""
    RESULTS.mkdir(exist_ok=True)
    env = {**os.environ, "KDECORE_BENCH": mode}
    if threads:
        env.update(KDECORE_BENCH_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    run_file = RESULTS / f"{mode}-run.json"
    runs = json.loads(run_file.read_text()) if only and run_file.exists() else {}
    for path in suite_files(only):
        name = path.stem.removeprefix("test_bench_")
        out = RESULTS / f"{mode}-{name}.json"
        env["KDECORE_BENCH_SKIPS"] = str(RESULTS / f"{mode}-{name}-skips.json")
        cmd = [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider",
               f"--benchmark-json={out}", *extra]
        start, load = time.time(), os.getloadavg()[0]
        res = subprocess.run(cmd, env=env, cwd=HERE.parent, check=False)
        runs[name] = {"start": start, "wall_s": time.time() - start, "load_start": load,
                      "load_end": os.getloadavg()[0], "returncode": res.returncode,
                      "command": " ".join(sys.argv[1:])}
        if res.returncode not in (0, 5):
            print(f"warning: {path.name}: pytest exited with {res.returncode}",
                  file=sys.stderr)
    run_file.write_text(json.dumps(runs, indent=1))
    return runs


def fmt_time(s: float) -> str:
    if s >= 100:
        return f"{s:.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def row_key(info: dict) -> tuple:
    return (info.get("d"), info.get("m"), info.get("n"), info.get("subsets") or 0,
            info.get("subset_size") or 0)


def row_label(key: tuple, table: str) -> list[str]:
    d, m, n, subsets, size = key
    if table.startswith("kid-subsets"):
        return [f"{m:,}", f"{subsets} × {size:,}"]
    if table.startswith("kid"):
        return [f"{m:,}", "all"]
    return [str(d), f"{m:,}" if m == n else f"{m:,} × {n:,}"]


def row_header(table: str) -> list[str]:
    return ["samples", "subsets"] if table.startswith("kid") else ["d", "m = n"]


def limit_fraction(table: str, key: tuple, seconds: float) -> str | None:
    """Fraction of the H100 limit reached (GPU section): exponentials for the Gaussian
    tasks, FP32 FLOP for KID (PERFORMANCE.md)."""
    d, m, n, subsets, size = key
    if table in ("rbf-sums", "log-kde"):
        return f"{m * n / seconds / EXP_PER_S:.1%} of exp limit"
    if table == "mmd2-rbf":
        pairs = m * (m - 1) / 2 + n * (n - 1) / 2 + m * n
        return f"{pairs / seconds / EXP_PER_S:.1%} of exp limit"
    if table.startswith("kid"):
        s = size if subsets else m
        flops = (subsets or 1) * 2 * d * (s * (s - 1) + s * s)
        return f"{flops / seconds / FP32_FLOPS:.1%} of FP32 limit"
    return None


def collect(paths: list[Path]) -> tuple[list[dict], dict]:
    benches, machine = [], {}
    for p in paths:
        try:
            data = json.loads(p.read_text())
        except ValueError:
            print(f"warning: {p} is not a complete results file; skipped", file=sys.stderr)
            continue
        machine = machine or data.get("machine_info", {})
        for b in data.get("benchmarks", []):
            info = b.get("extra_info", {})
            if "table" not in info:
                continue
            benches.append({**info, "median": b["stats"]["median"], "rounds":
                            b["stats"]["rounds"], "datetime": data.get("datetime")})
    return benches, machine


def tables(benches: list[dict], skips: list[dict], device: str) -> list[str]:
    out: list[str] = []
    by_table: dict[str, list[dict]] = defaultdict(list)
    for b in benches:
        if b["device"] == device:
            by_table[b["table"]].append(b)
    skipped: dict[tuple, str] = {}
    for s in skips:
        if s.get("device") == device:
            skipped[(s["table"], row_key(s), s["impl"])] = s["reason"]
            by_table.setdefault(s["table"], [])
    for table in sorted(by_table, key=lambda t: list(TITLES).index(t) if t in TITLES else 99):
        rows = by_table[table]
        order = {b["impl"]: b.get("order", 99) for b in rows}
        order.update({s["impl"]: s.get("order", 99) for s in skips if s.get("table") == table})
        impls = sorted({b["impl"] for b in rows} | {i for (t, _, i) in skipped if t == table},
                       key=lambda i: (order.get(i, 99), i))
        keys = sorted({row_key(b) for b in rows} | {k for (t, k, _) in skipped if t == table})
        out += [f"### {TITLES.get(table, table)}", "",
                "| " + " | ".join([*row_header(table), *impls, "best kdecore"]) + " |",
                "|" + "---|" * (len(row_header(table)) + len(impls) + 1)]
        notes: dict[str, int] = {}
        for key in keys:
            cells = {b["impl"]: b for b in rows if row_key(b) == key}
            kd = [b for i, b in cells.items() if i.startswith("kdecore")]
            best = min(kd, key=lambda b: b["median"]) if kd else None
            line = row_label(key, table)
            for impl in impls:
                b = cells.get(impl)
                if b is not None:
                    ratio = f" ({b['median'] / best['median']:.2f}×)" if best else ""
                    line.append(f"{fmt_time(b['median'])}{ratio}")
                elif (table, key, impl) in skipped:
                    reason = skipped[(table, key, impl)]
                    k = notes.setdefault(reason, len(notes) + 1)
                    line.append("OOM" + f" [{k}]" if reason.startswith("out of memory")
                                else f"— [{k}]")
                else:
                    line.append("—")
            if best is not None:
                frac = limit_fraction(table, key, best["median"]) if device == "cuda" else None
                line.append(best["impl"].split(":")[1] + (f", {frac}" if frac else ""))
            else:
                line.append("—")
            out.append("| " + " | ".join(line) + " |")
        out.append("")
        errs = [b for b in rows if "max_abs_error" in b]
        if errs:
            top = max(row_key(b) for b in errs)
            out += ["Largest error against the float64 reference at m = n = "
                    f"{top[1]:,}: " + ", ".join(
                        f"{b['impl']} {b['max_abs_error']:.2g}" for b in sorted(
                            errs, key=lambda b: b.get("order", 99)) if row_key(b) == top)
                    + ".", ""]
        out += [f"[{k}] {reason}" + "  " for reason, k in notes.items()]
        if notes:
            out.append("")
    return out


def first_calls(benches: list[dict], device: str, cold: bool) -> list[str]:
    seen, lines = set(), []
    for b in benches:
        if b["device"] != device or not b.get("keops"):
            continue
        key = (b["table"], b["impl"], b.get("d"))
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"| {b['table']} | {b['impl']} | {b.get('d')} | {b['m']:,} | "
                     f"{fmt_time(b['first_call_s'])} | {fmt_time(b['median'])} |")
    if not lines:
        return []
    what = ("compile into an empty cache + one run" if cold else
            "the KeOps cache was not emptied for this run: loading + one run")
    return [f"### KeOps first call ({what}) vs steady state", "",
            "The first call of each KeOps-based implementation at the smallest size of each "
            "table; later sizes reuse the compiled formulas.", "",
            "| table | implementation | d | m = n | first call | steady state |",
            "|---|---|---|---|---|---|", *lines, ""]


def _median(benches, table, impl, **where):
    for b in benches:
        if (b["device"] == "cpu" and b["table"] == table and b["impl"] == impl
                and all(b.get(k) == v for k, v in where.items())):
            return b["median"]
    return None


def _best_kdecore(benches, table, **where):
    ts = [b["median"] for b in benches if b["device"] == "cpu" and b["table"] == table
          and b["impl"].startswith("kdecore") and all(b.get(k) == v for k, v in where.items())]
    return min(ts) if ts else None


def targets(benches: list[dict]) -> list[str]:
    """The CPU targets of the issue, evaluated on the measured rows."""
    lines = ["### Targets on this CPU", ""]
    dense_rows = [(b["table"], row_key(b), b["median"]) for b in benches
                  if b["device"] == "cpu" and b["impl"] == "dense-torch"]
    faster = []
    for table, key, t_dense in dense_rows:
        best = _best_kdecore(benches, table, d=key[0], m=key[1], n=key[2])
        if best is not None:
            faster.append((t_dense / best, table, key))
    if faster:
        met = sum(r >= 1 for r, _, _ in faster)
        worst = min(faster)
        lines.append(f"- Best CPU backend at least as fast as dense PyTorch where dense fits: "
                     f"**{'met' if met == len(faster) else 'missed'}**: as fast or faster in "
                     f"{met} of {len(faster)} rows (worst: dense/kdecore = {worst[0]:.2f} on "
                     f"{worst[1]}, d = {worst[2][0]}, n = {worst[2][1]:,}).")
    ratios = []
    for b in benches:
        if b["device"] == "cpu" and b["table"] == "rbf-sums" and b["impl"] == \
                "keops-lazytensor" and b["d"] >= 16:
            best = _best_kdecore(benches, "rbf-sums", d=b["d"], m=b["m"])
            if best is not None:
                ratios.append((b["median"] / best, b["d"], b["m"]))
    if ratios:
        worst = min(ratios)
        met = all(r >= 2 for r, _, _ in ratios)
        lines.append(f"- ≥ 2× faster than KeOps-CPU for RBF kernel sums with d ≥ 16: "
                     f"**{'met' if met else 'missed'}** (KeOps/kdecore from {worst[0]:.2f} "
                     f"(d = {worst[1]}, n = {worst[2]:,}) to {max(ratios)[0]:.2f}).")
    sk = _median(benches, "log-kde", "sklearn-KernelDensity", m=20000, d=8)
    best = _best_kdecore(benches, "log-kde", m=20000, d=8)
    if sk is not None and best is not None:
        lines.append(f"- ≥ 10× faster than scikit-learn's KernelDensity for 20 000 × 20 000 "
                     f"log-densities in d = 8: **{'met' if sk / best >= 10 else 'missed'}** "
                     f"({fmt_time(sk)} vs {fmt_time(best)}: {sk / best:.1f}×).")
    else:
        lines.append("- 20 000 × 20 000 log-KDE target: not measured in this mode (full mode).")
    return [*lines, ""]


def header(machine: dict, state: dict, command: str, mode: str) -> list[str]:
    info = machine.get("kdecore_bench", {})
    cpu = machine.get("cpu", {})
    versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items() if v)
    lines = ["# kdecore benchmark results", "",
             f"Written by `{command}` ({mode} mode) from these measurements:", ""]
    for name, r in sorted(state.items(), key=lambda kv: kv[1]["start"]):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["start"]))
        failed = "" if r["returncode"] in (0, 5) else " — **some benchmarks failed**"
        lines.append(f"- `{name}`: measured {when} by `python bench/make_results.py "
                     f"{r['command']}`, "
                     f"{r['wall_s'] / 60:.0f} min, load average {r['load_start']:.1f} → "
                     f"{r['load_end']:.1f}{failed}" + (f" ({r['note']})" if r.get("note") else "")
                     + ".")
    lines += [
        "",
        f"- Machine: {cpu.get('brand_raw', platform.processor() or 'unknown CPU')}, "
        f"{cpu.get('count', os.cpu_count())} logical CPUs; {platform.platform()}; "
        f"GPU: {info.get('gpu') or 'none'}.",
        f"- Threads: PyTorch {info.get('torch_threads')}, KeOps OpenMP "
        f"{info.get('omp_threads') or 'default'}. Versions: {versions}.",
    ]
    lines.append("- A load average above the core count means other processes competed for "
                 "the CPU and the timings are noisy: re-run on a quiet machine.")
    lines += [
        "", "Each cell: median of the steady-state rounds (after a first call that is not "
        "counted) and, in parentheses, its ratio to the fastest kdecore backend of the row "
        "(> 1: slower than kdecore). Inputs are float32; every implementation's first result "
        "was checked against kdecore's float64 torch backend (GeomLoss against the biased "
        "estimate it computes). OOM: a dense implementation whose m×n matrices would exceed "
        "40 % of free memory is not run. On the CPU, kdecore's triton backend runs only in "
        "Triton's interpreter and is not timed.", ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("quick", "full"), default="quick")
    ap.add_argument("--threads", type=int, default=None,
                    help="PyTorch and OpenMP threads (default: the libraries' defaults)")
    ap.add_argument("--json", type=Path, nargs="*", default=[],
                    help="more pytest-benchmark JSON files to include (e.g. GPU runs)")
    ap.add_argument("--no-run", action="store_true", help="only rebuild RESULTS.md")
    ap.add_argument("--only", nargs="*", default=[],
                    help="run only these files (sums, mmd, kde, kid, backward); the others' "
                         "saved results are kept")
    ap.add_argument("--output", type=Path, default=None,
                    help="default: bench/RESULTS.md (full) or bench/results/RESULTS-quick.md")
    ap.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = ap.parse_args()
    command = "python bench/make_results.py " + " ".join(sys.argv[1:])
    if args.no_run:
        run_file = RESULTS / f"{args.mode}-run.json"
        state = json.loads(run_file.read_text()) if run_file.exists() else {}
    else:
        state = run_suite(args.mode, args.threads, args.only, args.pytest_args)
    paths = [*args.json, *(RESULTS / f"{args.mode}-{f.stem.removeprefix('test_bench_')}.json"
                           for f in suite_files([]))]
    paths += [p for p in RESULTS.glob("gpu*.json") if p not in paths and "skips" not in p.name]
    paths = [p for p in paths if p.exists()]
    benches, machine = collect(paths)
    skips = []  # each results file NAME.json may come with NAME-skips.json
    for p in paths:
        s = p.with_name(p.stem + "-skips.json")
        if s.exists():
            skips += json.loads(s.read_text())
    cold = bool(machine.get("kdecore_bench", {}).get("keops_cache_cold"))
    lines = header(machine, state, command, args.mode)
    lines += ["## CPU", "", *targets(benches), *tables(benches, skips, "cpu"),
              *first_calls(benches, "cpu", cold), "## GPU", ""]
    if any(b["device"] == "cuda" for b in benches):
        lines += ["Fraction of the H100 limit (PERFORMANCE.md): exponentials/s for the Gaussian "
                  "tasks (3.9·10¹² exp/s), FP32 FLOP/s for KID (67 TFLOP/s), for the best "
                  "kdecore backend of each row.", "", *tables(benches, skips, "cuda"),
                  *first_calls(benches, "cuda", cold)]
    else:
        lines += ["No CUDA GPU in this run: run `python bench/make_results.py --mode full` on a "
                  "GPU machine (the same suite adds a GPU section, with kdecore's triton "
                  "backend and the fraction of the hardware limit).", ""]
    output = args.output or (HERE / "RESULTS.md" if args.mode == "full"
                             else RESULTS / "RESULTS-quick.md")
    output.write_text("\n".join(lines))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
