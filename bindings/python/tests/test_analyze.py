"""Analysis of a bundle directory and of the same incident as in-memory tables."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import faultline


def load_tables(bundle):
    incident = json.loads((bundle / "incident.json").read_text())
    metrics = pl.read_csv(bundle / "metrics.csv")
    logs = pl.read_ndjson(bundle / "logs.jsonl", infer_schema_length=None)
    events = pl.read_ndjson(bundle / "events.jsonl", infer_schema_length=None)
    topology = pl.read_csv(bundle / "topology.csv")
    return incident, metrics, logs, events, topology


def test_bundle_report_has_the_json_report_shape(example_bundle):
    r = faultline.analyze_bundle(example_bundle)
    assert r["version"] == 1
    for key in ("incident", "hypotheses", "evidence", "anomalies", "templates", "timeline"):
        assert key in r
    top = r["hypotheses"][0]
    assert top["rank"] == 1 and top["support"]
    evidence = {e["id"] for e in r["evidence"]}
    assert set(top["support"]) <= evidence
    json.dumps(r)  # plain data


def test_tables_rank_like_the_bundle(example_bundle):
    from_dir = faultline.analyze_bundle(example_bundle)
    incident, metrics, logs, events, topology = load_tables(example_bundle)
    r = faultline.analyze(incident, metrics=metrics, logs=logs, events=events, topology=topology)
    assert [h["service"] for h in r["hypotheses"][:3]] == [h["service"] for h in from_dir["hypotheses"][:3]]
    assert len(r["anomalies"]) == len(from_dir["anomalies"])
    # pandas and pyarrow tables, and a list of pairs for the topology, give the same ranking
    r2 = faultline.analyze(
        incident,
        metrics=metrics.to_pandas(),
        logs=logs.to_arrow(),
        events=events.to_pandas(),
        topology=list(zip(topology["source"], topology["target"])),
    )
    assert [h["service"] for h in r2["hypotheses"][:3]] == [h["service"] for h in r["hypotheses"][:3]]


def test_config_dicts_mirror_pipeline_config(example_bundle):
    r = faultline.analyze_bundle(example_bundle, config={"plan": {"enabled": False}})
    assert r.get("plan") is None
    cfg = faultline.default_config()
    assert set(cfg) == {"detect", "logs", "rca", "plan", "narration"}
    assert faultline.validate_config({"plan": {"namespace": "shop"}})["plan"]["namespace"] == "shop"
    with pytest.raises(faultline.ConfigError, match="unknown setting `rca.nope`") as e:
        faultline.analyze_bundle(example_bundle, config={"rca": {"nope": True}})
    assert isinstance(e.value, faultline.InputError)


def test_report_sections_as_arrow_tables_and_markdown(example_bundle):
    r = faultline.analyze_bundle(example_bundle)
    t = faultline.tables(r)
    assert t["hypotheses"].num_rows == len(r["hypotheses"])
    assert "service" in t["hypotheses"].column_names
    assert pl.from_arrow(t["anomalies"]).height == len(r["anomalies"])
    md = faultline.render_markdown(r)
    assert r["hypotheses"][0]["service"] in md


def test_missing_bundle_is_a_bundle_error_with_its_cause_chain(tmp_path):
    with pytest.raises(faultline.BundleError) as e:
        faultline.analyze_bundle(tmp_path / "nope")
    assert "nope" in str(e.value)
    assert e.value.causes[0] == "bad bundle"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "incident.json").write_text('{"id": "x", "onset": "yesterday"}')
    with pytest.raises(faultline.BundleError, match="onset") as e:
        faultline.analyze_bundle(tmp_path / "b")
    assert len(e.value.causes) >= 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metrics": pa.table({"service": ["a"], "metric": ["m"], "timestamp": [1]})}, "required column `value`"),
        (
            {"metrics": pa.table({"service": ["a", None], "metric": ["m", "m"], "timestamp": [1, 2], "value": [1.0, 2.0]})},
            "metrics.service.*null",
        ),
        (
            {"metrics": pa.table({"service": ["a"], "metric": ["m"], "timestamp": [1], "value": ["high"]})},
            "metrics.value.*numeric",
        ),
        ({"logs": pa.table({"timestamp": [1], "service": ["a"]})}, "required column `message`"),
        ({"logs": [1, 2]}, "expected a table"),
    ],
)
def test_bad_tables_raise_input_error(kwargs, message):
    with pytest.raises(faultline.InputError, match=message):
        faultline.analyze({"id": "x", "onset": "2024-05-14T10:00:00Z"}, **kwargs)


def test_bad_incident_dicts_raise_input_error():
    with pytest.raises(faultline.InputError, match="incident.onset"):
        faultline.analyze({"id": "x"})
    with pytest.raises(faultline.InputError, match="unknown field `colour`"):
        faultline.analyze({"id": "x", "onset": 1715680800, "colour": "red"})
    df = pd.DataFrame({"service": ["a"] * 3, "metric": ["m"] * 3, "timestamp": [1, 2, 3], "value": [1.0, 2.0, 3.0]})
    r = faultline.analyze({"id": "x", "onset": 1715680800}, metrics=df)
    assert r["incident"]["id"] == "x"
