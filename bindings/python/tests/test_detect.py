"""Detection from every kind of input: equal results, no copy of float64 columns, clear errors."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import faultline
from faultline import _native
from conftest import spike_series, step_series


def test_score_is_the_same_from_every_input_kind():
    values = spike_series()
    expected = faultline.score(values).to_pylist()
    assert len(expected) == len(values)
    assert all(0.0 <= s <= 1.0 for s in expected)
    for x in (
        pa.array(values),
        pa.chunked_array([values[:300], values[300:]]),
        pl.Series("v", values),
        np.asarray(values),
        pd.Series(values),
        tuple(values),
    ):
        assert faultline.score(x).to_pylist() == expected, type(x)


def test_integer_columns_are_read_as_numbers():
    ints = [10, 11, 10, 12] * 50 + [90]
    assert faultline.score(pa.array(ints, pa.int32())).to_pylist() == faultline.score([float(v) for v in ints]).to_pylist()


def test_scores_are_causal_and_the_spike_scores_highest():
    values = spike_series()
    full = faultline.score(values).to_pylist()
    prefix = faultline.score(values[:850]).to_pylist()
    assert full[:850] == prefix
    assert max(range(len(full)), key=full.__getitem__) == 800


def test_float64_columns_are_read_in_place():
    arr = pa.array(np.random.default_rng(1).normal(size=100_000))
    address, borrowed = _native._values_address(arr)
    assert borrowed
    assert address == arr.buffers()[1].address
    # numpy goes through pyarrow without a copy
    a = np.random.default_rng(2).normal(size=50_000)
    address, borrowed = _native._values_address(faultline._column(a, "values"))
    assert borrowed and address == a.ctypes.data
    # polars hands over its own buffer
    s = pl.Series("v", a)
    address, borrowed = _native._values_address(s)
    assert borrowed
    assert address == s.to_arrow().buffers()[1].address


def test_detect_reads_float64_values_and_ns_timestamps_in_place():
    n = 200_000
    values = np.random.default_rng(3).normal(size=n)
    values[150_000:] += 8.0
    stamps = np.arange(n, dtype=np.int64) * 15_000_000_000 + 1_715_000_000_000_000_000
    v, t = pa.array(values), pa.array(stamps, pa.timestamp("ns", "UTC"))
    (va, vb), (ta, tb) = _native._detect_addresses(v, t)
    assert vb and va == v.buffers()[1].address
    assert tb and ta == t.buffers()[1].address
    # slices keep pointing into the same buffers (offset applied, nothing copied)
    (va, vb), (ta, tb) = _native._detect_addresses(v.slice(10), t.slice(10))
    assert vb and va == v.buffers()[1].address + 10 * 8
    assert tb and ta == t.buffers()[1].address + 10 * 8
    # numpy (float64 and datetime64[ns]) through pyarrow, zero-copy
    dts = stamps.view("datetime64[ns]")
    (va, vb), (ta, tb) = _native._detect_addresses(faultline._column(values, "values"), faultline._column(dts, "timestamps"))
    assert (vb, va) == (True, values.ctypes.data)
    assert (tb, ta) == (True, dts.ctypes.data)
    # polars hands over its own buffers
    df = pl.DataFrame({"v": values, "t": pl.Series(stamps).cast(pl.Datetime("ns"))})
    (va, vb), (ta, tb) = _native._detect_addresses(df["v"], df["t"])
    assert vb and va == df["v"].to_arrow().buffers()[1].address
    assert tb and ta == df["t"].to_arrow().buffers()[1].address
    # other units and several chunks are converted once (and detect the same)
    ms = pa.array(stamps // 1_000_000, pa.timestamp("ms", "UTC"))
    (_, vb), (_, tb) = _native._detect_addresses(v, ms)
    assert vb and not tb
    (_, vb), _ = _native._detect_addresses(pa.chunked_array([values[:1000], values[1000:]]), t)
    assert not vb
    found = faultline.detect(v, t)
    assert any(a["kind"]["kind"] == "level_shift" for a in found)
    assert faultline.detect(v, ms) == found
    assert faultline.detect(pa.chunked_array([values[:1000], values[1000:]]), t) == found
    assert faultline.detect(df["v"], df["t"]) == found


def test_detect_gaps_and_unsorted_times_equal_the_sorted_series():
    values = step_series()
    values[50] = float("nan")
    stamps = [15_000_000_000 * i for i in range(len(values))]
    found = faultline.detect(values, pa.array(stamps, pa.timestamp("ns")))
    assert found
    order = list(range(len(values)))
    order[3], order[500] = order[500], order[3]
    shuffled = faultline.detect([values[i] for i in order], pa.array([stamps[i] for i in order], pa.timestamp("ns")))
    assert shuffled == found
    with pytest.raises(faultline.InputError, match="`timestamps` has 10 rows but `values` has"):
        faultline.detect(values, pa.array(stamps[:10], pa.timestamp("ns")))


def test_detect_finds_the_level_shift_at_its_timestamp():
    values = step_series()
    start = dt.datetime(2024, 5, 14, 10, 0, tzinfo=dt.timezone.utc)
    ts = pa.array([start + dt.timedelta(seconds=15 * i) for i in range(len(values))], pa.timestamp("ms", "UTC"))
    found = faultline.detect(pa.array(values), ts, service="checkout", metric="latency_p95_ms")
    shifts = [a for a in found if a["kind"]["kind"] == "level_shift"]
    assert len(shifts) == 1
    assert shifts[0]["series"]["service"] == "checkout"
    onset = start + dt.timedelta(seconds=15 * 400)
    got = dt.datetime.fromisoformat(shifts[0]["start"].replace("Z", "+00:00"))
    assert abs((got - onset).total_seconds()) <= 15 * 3
    # the same from polars columns and from epoch seconds
    df = pl.DataFrame({"t": [int(onset.timestamp()) - 6000 + 15 * i for i in range(len(values))], "v": values})
    again = faultline.detect(df["v"], df["t"], service="checkout", metric="latency_p95_ms")
    assert [a["kind"] for a in again] == [a["kind"] for a in found]


def test_detect_config_is_a_pipeline_config_dict():
    values = step_series()
    assert faultline.detect(values, config={"detect": {"min_samples": 10_000}}) == []
    with pytest.raises(faultline.ConfigError, match="unknown setting `detect.no_such`"):
        faultline.detect(values, config={"detect": {"no_such": 1}})


def test_decompose_returns_trend_seasonal_remainder():
    values = [10 + (i % 24) + 0.01 * i for i in range(24 * 10)]
    t = faultline.decompose(values, 24)
    assert t.column_names == ["trend", "seasonal", "remainder"]
    total = [a + b + c for a, b, c in zip(*(t[c].to_pylist() for c in t.column_names))]
    assert max(abs(x - y) for x, y in zip(total, values)) < 1e-9


@pytest.mark.parametrize(
    "bad, message",
    [
        (pa.array(["a", "b"]), "expected a numeric column.*Utf8"),
        (pa.array([1.0, None, 3.0]), "1 null value.*row 1"),
        ([1.0, None, 2.0], "element 1 is None"),
        ([[1.0, 2.0], [3.0]], "element 0 is a sequence"),
        ([1.0, "x"], "mixes strings and numbers"),
        ([True, False], "bool"),
        (np.zeros((3, 2)), "1-D array"),
        (pa.table({"v": [1.0]}), "got a table"),
        ({"v": 1}, "expected an Arrow array"),
    ],
)
def test_bad_values_raise_input_error(bad, message):
    with pytest.raises(faultline.InputError, match=message) as e:
        faultline.score(bad)
    assert isinstance(e.value, faultline.FaultlineError)


def test_mismatched_timestamps_are_an_input_error():
    with pytest.raises(faultline.InputError, match="same length"):
        faultline.detect([1.0, 2.0, 3.0], [1, 2])
    with pytest.raises(faultline.InputError, match="invalid timestamp"):
        faultline.detect([1.0, 2.0], ["2024-05-14T10:00:00Z", "yesterday"])


def test_the_gil_is_released_while_scoring():
    # small: the dev-profile build scores ~10k points per second
    values = pa.array(np.random.default_rng(3).normal(size=20_000))
    ticks = 0
    stop = False

    def spin():
        nonlocal ticks
        while not stop:
            ticks += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.01)
        before = ticks
        t0 = time.perf_counter()
        faultline.score(values)
        elapsed = time.perf_counter() - t0
        during = ticks - before
    finally:
        stop = True
        t.join()
        sys.setswitchinterval(old)
    # With the GIL held the other thread could not count at all while Rust works.
    assert during > 1000, (during, elapsed)
