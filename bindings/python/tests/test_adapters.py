"""Host adapters written in Python: LLM client and detector (runner and notifier: test_fix)."""

from __future__ import annotations

import pytest

import faultline
from faultline import _native
from conftest import step_series


class RecordingLlm:
    def __init__(self, answer=None, fail=False):
        self.requests = []
        self.answer = answer
        self.fail = fail

    def complete(self, request):
        self.requests.append(request)
        if self.fail:
            raise RuntimeError("model offline")
        return self.answer


def test_llm_client_is_asked_and_a_failure_falls_back_to_the_template(example_bundle):
    plain = faultline.analyze_bundle(example_bundle)
    llm = RecordingLlm(fail=True)
    r = faultline.analyze_bundle(example_bundle, llm=llm)
    assert len(llm.requests) == 1
    req = llm.requests[0]
    assert {m["role"] for m in req["messages"]} >= {"system", "user"}
    assert "json_schema" in req
    assert r["narrative"] == plain["narrative"]


def test_an_unchecked_llm_answer_is_rejected(example_bundle):
    r0 = faultline.analyze_bundle(example_bundle)
    llm = RecordingLlm(answer="not json at all")
    text = _native.narrate(r0, llm)
    assert text == r0["narrative"]
    assert llm.requests


def test_an_object_without_the_method_is_an_input_error(example_bundle):
    with pytest.raises(faultline.InputError, match="complete"):
        faultline.analyze_bundle(example_bundle, llm=object())


class ThresholdDetector:
    def detect(self, series):
        vs, ts = series["values"], series["timestamps"]
        hits = [i for i, v in enumerate(vs) if v > 130]
        if not hits:
            return []
        return [{"start": ts[hits[0]], "end": ts[hits[-1]], "score": 0.9, "kind": "level_shift", "expected": 100.0}]


def test_python_detector_results_are_completed_by_faultline():
    values = step_series()
    found = _native.detect_with(ThresholdDetector(), values, service="checkout", metric="latency")
    assert len(found) == 1
    a = found[0]
    assert a["detector"] == "python" and a["kind"]["kind"] == "level_shift" and a["direction"] == "up"
    assert a["series"]["service"] == "checkout" and a["severity"] == "high" and a["id"]


def test_python_detector_errors_become_adapter_errors():
    class Broken:
        def detect(self, series):
            raise ValueError("no model loaded")

    with pytest.raises(faultline.AdapterError, match="ValueError: no model loaded"):
        _native.detect_with(Broken(), step_series())


class RecordingDetector:
    """Flags the last sample of every series of one service; records what it was given."""

    def __init__(self, service):
        self.service = service
        self.seen = []

    def detect(self, series):
        self.seen.append(series)
        if series["service"] != self.service:
            return []
        ts = series["timestamps"]
        return [{"start": ts[-1], "score": 0.8, "expected": series["values"][0]}]


def test_python_detector_replaces_the_configured_one_in_analyze(example_bundle):
    plain = faultline.analyze_bundle(example_bundle)
    services = sorted({a["series"]["service"] for a in plain["anomalies"]})
    assert services, "the example incident has anomalies"
    decoy = next(s for s in sorted(h["service"] for h in plain["hypotheses"]) if s != plain["hypotheses"][0]["service"])
    det = RecordingDetector(decoy)
    r = faultline.analyze_bundle(example_bundle, detector=det)

    # called once per series, with the series' key, labels and samples
    assert det.seen and all({"service", "metric", "labels", "timestamps", "values"} <= set(s) for s in det.seen)
    assert len({(s["service"], s["metric"], tuple(sorted(s["labels"].items()))) for s in det.seen}) == len(det.seen)
    assert all(len(s["timestamps"]) == len(s["values"]) for s in det.seen)
    # the report's anomalies are exactly the detector's (completed by faultline)
    assert r["anomalies"]
    assert all(a["detector"] == "python" and a["series"]["service"] == decoy for a in r["anomalies"])
    assert all(a["id"] and a["severity"] for a in r["anomalies"])
    assert plain["anomalies"] != r["anomalies"]


def test_python_detector_in_analyze_from_tables():
    ts = [1_700_000_000 + 60 * i for i in range(240)]
    metrics = {
        "service": ["api"] * 240 + ["db"] * 240,
        "metric": ["latency_ms"] * 480,
        "timestamp": ts + ts,
        "value": [100.0] * 240 + [5.0] * 240,
    }
    det = RecordingDetector("db")
    r = faultline.analyze({"id": "INC-7", "onset": ts[200]}, metrics=metrics, detector=det)
    assert sorted(s["service"] for s in det.seen) == ["api", "db"]
    assert [a["series"]["service"] for a in r["anomalies"]] == ["db"]
    assert r["anomalies"][0]["kind"]["kind"] == "point" and r["anomalies"][0]["direction"] == "up"


def test_a_python_detector_raising_in_analyze_is_an_adapter_error_with_its_cause(example_bundle):
    class Broken:
        def detect(self, series):
            raise ValueError("no model loaded")

    with pytest.raises(faultline.AdapterError, match="ValueError: no model loaded") as info:
        faultline.analyze_bundle(example_bundle, detector=Broken())
    assert isinstance(info.value.__cause__, ValueError)
    assert "series" in str(info.value)


def test_a_detector_without_the_method_is_an_input_error(example_bundle):
    with pytest.raises(faultline.InputError, match="detect"):
        faultline.analyze_bundle(example_bundle, detector=object())


@pytest.mark.parametrize(
    "answer, message",
    [
        (None, "TypeError"),
        ([42], "anomaly 0 is not a dict"),
        ([{"end": 5}], "start"),
        ([{"start": "yesterday-ish"}], "anomaly 0.start"),
    ],
)
def test_malformed_detector_answers_in_analyze_are_adapter_errors(example_bundle, answer, message):
    class Odd:
        def detect(self, series):
            return answer

    with pytest.raises(faultline.AdapterError, match=message):
        faultline.analyze_bundle(example_bundle, detector=Odd())
