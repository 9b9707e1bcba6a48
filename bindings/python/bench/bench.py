"""Python vs Rust on the same data, in one run: detection on a 1M-point series passed as a
pyarrow and a polars column, and mining 1M log lines from a pyarrow string column.

    python bench/bench.py [--points N] [--lines N] [--repeats R]

Builds and runs the Rust side (`cargo run --release --example bench_native`) on the files this
script writes, then times the same calls through the installed `faultline` package (install it
in release first: `maturin develop --release`, or use bench/run.sh). Prints one line per call
with both times and the ratio python/rust.
"""

from __future__ import annotations

import argparse
import os
import random
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


def best_ms(repeats: int, f) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        best = min(best, (time.perf_counter() - t) * 1e3)
    return best


def rust_side(data: Path, repeats: int) -> dict[str, float]:
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache" / "faultline-target"))
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "faultline-python", "--example", "bench_native", "--", str(data), str(repeats)]
    out = subprocess.run(cmd, cwd=HERE.parent, check=True, capture_output=True, text=True, env={**os.environ, "CARGO_TARGET_DIR": target})
    times = {}
    for line in out.stdout.splitlines():
        _, name, ms = line.split()
        times[name] = float(ms)
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    values = make_values(args.points)
    lines = make_lines(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        values.astype("<f8").tofile(d / "values.f64")
        (d / "lines.txt").write_text("\n".join(lines) + "\n")
        rust = rust_side(d, args.repeats)

    ts = pa.array(np.arange(args.points, dtype=np.int64) * 1_000_000_000, pa.timestamp("ns"))
    pa_values = pa.array(values)
    pl_values = pl.Series("value", values)
    pa_lines = pa.array(lines, pa.string())

    py = {
        "score": best_ms(args.repeats, lambda: faultline.score(pa_values)),
        "score[polars]": best_ms(args.repeats, lambda: faultline.score(pl_values)),
        "detect": best_ms(args.repeats, lambda: faultline.detect(pa_values, ts)),
        "detect[polars]": best_ms(args.repeats, lambda: faultline.detect(pl_values, ts)),
        "mine": best_ms(args.repeats, lambda: faultline.mine(pa_lines)),
    }
    print(f"faultline {faultline.__version__}; {args.points} points, {args.lines} log lines, best of {args.repeats}")
    worst = 0.0
    for name, ms in py.items():
        base = name.split("[")[0]
        ratio = ms / rust[base]
        floor = FLOORS[base]
        worst = max(worst, ratio / floor)
        src = "polars" if "polars" in name else "pyarrow"
        print(f"{name:15s} rust {rust[base]:9.2f} ms   python ({src} column) {ms:9.2f} ms   ratio {ratio:5.3f}  (floor {floor})")
    return 0 if worst <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
