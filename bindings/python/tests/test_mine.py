"""Log mining from Arrow string columns of every layout, and the incremental miner."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pytest

import faultline
from conftest import log_lines


def test_mine_gives_one_row_per_message_with_its_template():
    lines = log_lines()
    t = faultline.mine(pa.array(lines))
    assert t.num_rows == len(lines)
    assert t.column_names == ["cluster", "template"]
    assert pa.types.is_dictionary(t.schema.field("template").type)
    rows = t.to_pylist()
    by_text = {r["template"] for r in rows}
    assert "user <*> logged in from <*>" in by_text
    assert "cache warmed" in by_text
    # every line of a cluster carries the same template
    seen: dict[int, str] = {}
    for r in rows:
        assert seen.setdefault(r["cluster"], r["template"]) == r["template"]


@pytest.mark.parametrize(
    "wrap",
    [
        lambda xs: xs,
        lambda xs: pa.array(xs, pa.large_string()),
        lambda xs: pa.array(xs, pa.string_view()),
        lambda xs: pa.chunked_array([xs[:700], xs[700:]]),
        lambda xs: pl.Series("m", xs),
    ],
)
def test_every_string_layout_mines_the_same(wrap):
    lines = log_lines(1500)
    expected = faultline.mine(pa.array(lines)).to_pylist()
    assert faultline.mine(wrap(lines)).to_pylist() == expected


def test_raw_lines_lose_their_headers():
    lines = [
        f"2024-05-14 10:00:{i:02d},123 INFO [main] worker {i} finished job {i * 7}" for i in range(20)
    ]
    t = faultline.mine(lines, raw=True)
    assert set(t["template"].to_pylist()) == {"worker <*> finished job <*>"}


def test_incremental_miner_agrees_with_batch_and_round_trips():
    lines = log_lines(3000)
    m = faultline.TemplateMiner()
    first = m.add_many(pa.array(lines[:1000]))
    assert first.num_rows == 1000
    ids = [m.add(x) for x in lines[1000:]]
    assert all(isinstance(i, int) for i in ids)
    batch = faultline.mine(lines)
    assert sorted(set(batch["template"].to_pylist())) == sorted(m.templates()["template"].to_pylist())
    counts = m.templates()["count"].to_pylist()
    assert sum(counts) == len(lines) and counts == sorted(counts, reverse=True)
    snap = m.snapshot()
    json.dumps(snap)  # JSON-serialisable
    again = faultline.TemplateMiner.restore(snap)
    assert again.templates().to_pylist() == m.templates().to_pylist()
    cid = m.resolve(m.add("user u1 logged in from 10.0.0.1"))
    assert m.template(cid) == "user <*> logged in from <*>"
    assert m.parameters(cid, "user u9 logged in from 10.1.2.3") == ["u9", "10.1.2.3"]
    assert len(m) == len(m.templates())


def test_miner_config_is_a_pipeline_config_dict():
    m = faultline.TemplateMiner({"logs": {"miner": {}}})
    assert isinstance(m.config, dict)
    with pytest.raises(faultline.ConfigError, match="logs.miner.bogus"):
        faultline.TemplateMiner({"logs": {"miner": {"bogus": 1}}})


@pytest.mark.parametrize(
    "bad, message",
    [
        (pa.array(["a", None, "b"]), "null value.*row 1"),
        (pa.array([1, 2, 3]), "expected a string column"),
        ([1.0, 2.0], "expected strings"),
        (["a", ["b"]], "sequence"),
    ],
)
def test_bad_messages_raise_input_error(bad, message):
    with pytest.raises(faultline.InputError, match=message):
        faultline.mine(bad)
