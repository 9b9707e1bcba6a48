"""`detect.method` in a config dict chooses the detector of `analyze_bundle` and `detect`."""

from __future__ import annotations

import pytest

import faultline


def test_detect_method_in_config_selects_the_detector(example_bundle):
    r = faultline.analyze_bundle(example_bundle, config={"detect": {"method": "robust_z"}})
    assert r["anomalies"], "robust_z finds episodes in the example"
    assert {a["detector"] for a in r["anomalies"]} == {"robust_z"}
    assert r["hypotheses"][0]["service"] == "checkout"

    default = faultline.default_config()["detect"]
    assert default["method"] == "segment" and default["red"]["enabled"]
    cfg = faultline.validate_config({"detect": {"method": "robust_z", "window_samples": 32}})
    assert cfg["detect"]["method"] == "robust_z" and cfg["detect"]["window_samples"] == 32
    # Without `method`, the section is the segment detector's settings, as before.
    legacy = faultline.validate_config({"detect": {"point_threshold_sigma": 8}})
    assert legacy["detect"]["method"] == "segment" and legacy["detect"]["point_threshold_sigma"] == 8
    with pytest.raises(faultline.ConfigError, match="detect.window"):
        faultline.validate_config({"detect": {"method": "robust_z", "window": 32}})


def test_detect_function_runs_the_configured_method():
    values = [100.0 + (i % 5) for i in range(200)]
    values[120] = 160.0
    found = faultline.detect(values, config={"detect": {"method": "robust_z"}})
    assert [a["detector"] for a in found] == ["robust_z"]
    assert found[0]["observed"] == 160.0
