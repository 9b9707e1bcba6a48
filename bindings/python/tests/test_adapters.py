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
