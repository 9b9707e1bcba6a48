"""Python vs Rust on the same data, side by side: detection on a 1M-point series passed as a
pyarrow and a polars column, and mining 1M log lines from a pyarrow string column.

    python bench/bench.py [--points N] [--lines N] [--pairs P] [--runs R] [--only NAME,...]

Starts the Rust side (`cargo run --release --example bench_native`, the same facade calls on
the same data, kept running) and alternates with the installed `faultline` package call by
call: each measurement is a pair (Rust, then Python; the next pair Python first), so a load
swing on a shared machine hits both sides of a pair. A run reports, per call, the median
Rust and Python times of its pairs and the median of the pairs' ratios python/rust; with
several runs the last lines give the median ratio over the runs. Install the package in
release first (`maturin develop --release`, or use bench/run.sh).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

import faultline

HERE = Path(__file__).resolve().parent
FLOORS = {"score": 1.2, "detect": 1.2, "mine": 1.3}


def make_values(n: int) -> np.ndarray:
    rng = np.random.default_rng(42)
    v = 100 + rng.normal(0, 2, n) + 10 * np.sin(np.arange(n) / 300)
    v[n // 2 :] += 25  # a level shift
    v[rng.integers(0, n, 20)] += 60  # spikes
    return v


def make_lines(n: int) -> list[str]:
    rng = random.Random(42)
    forms = [
        lambda: f"user u{rng.randrange(5000)} logged in from 10.{rng.randrange(255)}.{rng.randrange(255)}.{rng.randrange(255)}",
        lambda: f"GET /api/items/{rng.randrange(100000)} 200 {rng.randrange(5, 900)}ms",
        lambda: f"connection to db-{rng.randrange(8)} timed out after {rng.randrange(1, 30)}s",
        lambda: f"order {rng.randrange(10**6)} placed by customer {rng.randrange(10**5)} total {rng.randrange(1, 999)}.{rng.randrange(100):02d} EUR",
        lambda: f"worker {rng.randrange(64)} finished job {rng.randrange(10**7)} in {rng.random():.3f}s",
        lambda: f"cache miss for key session:{rng.getrandbits(48):012x}",
        lambda: "health check ok",
        lambda: f"retrying request {rng.getrandbits(32):08x} (attempt {rng.randrange(1, 5)} of 5)",
    ]
    return [forms[rng.randrange(len(forms))]() for _ in range(n)]


class RustSide:
    """The bench_native process: one measurement per request, elapsed ms back."""

    def __init__(self, data: Path) -> None:
        target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache" / "faultline-target"))
        cmd = ["cargo", "run", "--quiet", "--release", "-p", "faultline-python", "--example", "bench_native", "--", str(data)]
        env = {**os.environ, "CARGO_TARGET_DIR": target}
        self.proc = subprocess.Popen(cmd, cwd=HERE.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_native did not start")

    def ms(self, name: str) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def py_ms(f) -> float:
    t = time.perf_counter()
    f()
    return (time.perf_counter() - t) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=3, help="Rust/Python pairs per call and run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated calls (score, detect, mine)")
    args = ap.parse_args()

    values = make_values(args.points)
    lines = make_lines(args.lines)
    ts = pa.array(np.arange(args.points, dtype=np.int64) * 1_000_000_000, pa.timestamp("ns"))
    pa_values = pa.array(values)
    pl_values = pl.Series("value", values)
    pa_lines = pa.array(lines, pa.string())
    calls = {
        "score": lambda: faultline.score(pa_values),
        "score[polars]": lambda: faultline.score(pl_values),
        "detect": lambda: faultline.detect(pa_values, ts),
        "detect[polars]": lambda: faultline.detect(pl_values, ts),
        "mine": lambda: faultline.mine(pa_lines),
    }
    only = {n for n in args.only.split(",") if n}
    calls = {k: f for k, f in calls.items() if not only or k.split("[")[0] in only}

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        values.astype("<f8").tofile(d / "values.f64")
        (d / "lines.txt").write_text("\n".join(lines) + "\n")
        rust = RustSide(d)
        try:
            ratios: dict[str, list[float]] = {k: [] for k in calls}
            print(f"faultline {faultline.__version__}; {args.points} points, {args.lines} log lines; "
                  f"{args.runs} runs of {args.pairs} interleaved rust/python pairs per call")
            for run in range(1, args.runs + 1):
                print(f"run {run} (load {os.getloadavg()[0]:.1f})")
                for name, f in calls.items():
                    base = name.split("[")[0]
                    r_ms, p_ms, pair = [], [], []
                    for i in range(args.pairs):
                        if i % 2 == 0:
                            r, p = rust.ms(base), py_ms(f)
                        else:
                            p, r = py_ms(f), rust.ms(base)
                        r_ms.append(r)
                        p_ms.append(p)
                        pair.append(p / r)
                    ratio = statistics.median(pair)
                    ratios[name].append(ratio)
                    src = "polars" if "polars" in name else "pyarrow"
                    print(f"  {name:15s} rust {statistics.median(r_ms):9.2f} ms   python ({src} column) "
                          f"{statistics.median(p_ms):9.2f} ms   ratio {ratio:5.3f}  (floor {FLOORS[base]})")
        finally:
            rust.close()
    worst = 0.0
    print(f"median ratio over {args.runs} runs")
    for name, rs in ratios.items():
        base = name.split("[")[0]
        m = statistics.median(rs)
        worst = max(worst, m / FLOORS[base])
        print(f"  {name:15s} ratio {m:5.3f}  (floor {FLOORS[base]}; runs: {', '.join(f'{r:.3f}' for r in rs)})")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
