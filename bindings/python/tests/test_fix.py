"""The remediation flow from Python, with a Python runner and notifier as host adapters."""

from __future__ import annotations

import pytest

import faultline
from faultline import _native


class RecordingRunner:
    name = "notebook-runner"

    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def run(self, step, mode):
        self.calls.append((step["action"], mode))
        if mode == self.fail_on:
            return (1, "boom")
        return {"status": 0, "output": f"{mode}: {step['action']}"}


class RecordingNotifier:
    def __init__(self):
        self.sent = []

    def notify(self, notification):
        self.sent.append(notification)


@pytest.fixture(scope="module")
def report(example_bundle):
    return faultline.analyze_bundle(example_bundle)


def test_plan_approve_execute_verify_with_python_adapters(report):
    notifier = RecordingNotifier()
    fx = _native.Fixer(notifier=notifier)
    plan = fx.plan(report, context={"environment": "prod", "namespace": "shop"})
    assert plan["steps"] and plan["environment"] == "prod"

    runner = RecordingRunner()
    pre = fx.preflight(plan, runner=runner)
    assert pre["report"]["passed"], pre["report"]["reasons"]
    assert runner.calls and all(mode == "dry_run" for _, mode in runner.calls)

    # production needs a person's signed approval
    with pytest.raises(faultline.NotAllowedError, match="without a signed approval"):
        fx.execute(plan, runner=runner)

    secret, public = _native.generate_key()
    approval = fx.approve(plan, pre, "alice", "rollback is safe", secret, runner=runner)
    run = fx.execute(plan, approval=approval, approver_key=public, runner=runner)
    assert run["state"] == "executing" and run["runner_name"] == "notebook-runner"
    assert ("execute") in {m for _, m in runner.calls}

    base = {"latency_ms": [100.0 + (i % 7) for i in range(30)]}
    worse = {"latency_ms": [400.0 + (i % 7) for i in range(30)]}
    metrics = _native.comparisons(base, worse, {"critical": ["latency_ms"]})
    verdict = fx.verify(plan, run, metrics, approver_key=public, runner=runner)
    assert verdict["state"] != "verified"
    assert verdict["rollbacks"], "a failed canary rolls back"
    assert notifier.sent, "a failed canary notifies"

    records = fx.audit_records()
    events = [r["payload"]["event"] for r in records]
    assert events[0] == "planned" and "execute_refused" in events and events[-1] == "verify"
    assert _native.verify_audit(records, fx.audit_public_key) == len(records)
    other_secret, other_public = _native.generate_key()
    with pytest.raises(faultline.FaultlineError):
        _native.verify_audit(records, other_public)


def test_runner_exceptions_are_adapter_failures(report):
    class Broken:
        def run(self, step, mode):
            raise RuntimeError("cluster unreachable")

    fx = _native.Fixer()
    plan = fx.plan(report, context={"environment": "staging"})
    pre = fx.preflight(plan, runner=Broken())
    assert not pre["report"]["passed"]
    assert any("cluster unreachable" in r for r in pre["report"]["reasons"])


def test_bad_records_are_input_errors(report):
    fx = _native.Fixer()
    with pytest.raises(faultline.InputError, match="`plan`"):
        fx.preflight({"id": "nope"})
    with pytest.raises(faultline.FaultlineError):
        _native.Fixer("not-a-key")


RESTART_CATALOG = {
    "version": 1,
    "rules": [
        {
            "name": "restart-on-any-change",
            "description": "Restart the suspect deployment",
            "match": {"cause": ["change"]},
            "actions": [
                {
                    "kind": "kubectl_rollout_restart",
                    "params": {"deployment": "{{ service | k8s }}", "namespace": "{{ namespace | k8s }}"},
                }
            ],
        }
    ],
}


def test_plan_with_a_custom_catalog_dict_yaml_list_or_path(report, tmp_path):
    import json

    fx = _native.Fixer()
    ctx = {"environment": "staging", "namespace": "shop"}
    shipped = fx.plan(report, context=ctx)
    plans = [
        fx.plan(report, context=ctx, catalog=RESTART_CATALOG),
        fx.plan(report, context=ctx, catalog=RESTART_CATALOG["rules"]),
        fx.plan(report, context=ctx, catalog=json.dumps(RESTART_CATALOG)),  # JSON is YAML
    ]
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "version: 1\nrules:\n  - name: restart-on-any-change\n    description: Restart the suspect deployment\n"
        "    match: {cause: [change]}\n    actions:\n      - kind: kubectl_rollout_restart\n"
        "        params: {deployment: '{{ service | k8s }}', namespace: '{{ namespace | k8s }}'}\n"
    )
    plans.append(fx.plan(report, context=ctx, catalog=path))
    plans.append(fx.plan(report, context=ctx, catalog=str(path)))
    for p in plans:
        assert p["rationale"].startswith("Restart the suspect deployment"), p["rationale"]
        assert [s["action"] for s in p["steps"]][:1] != [s["action"] for s in shipped["steps"]][:1]
        assert "restart" in json.dumps(p["steps"])
        assert p["steps"] == plans[0]["steps"]


def test_default_catalog_round_trips_and_plans_like_the_shipped_one(report):
    fx = _native.Fixer()
    cat = faultline.default_catalog()
    assert cat["version"] == 1 and any(r["name"] == "rollback-recent-deploy" for r in cat["rules"])
    ctx = {"environment": "staging", "namespace": "shop"}
    assert fx.plan(report, context=ctx, catalog=cat)["steps"] == fx.plan(report, context=ctx)["steps"]


@pytest.mark.parametrize(
    "catalog, message",
    [
        ({"rules": [{"name": "x", "actions": [{"kind": "teleport"}]}]}, "teleport"),
        ({"rules": [{"name": "x", "actions": [{"kind": "kubectl_rollout_restart", "params": {}}]}]}, "deployment"),
        ({"rules": [], "colour": "red"}, "colour"),
        ({"version": 2, "rules": []}, "version 2"),
        ("rules: [unclosed", "catalog"),
    ],
)
def test_bad_catalogs_are_config_errors(report, catalog, message):
    with pytest.raises(faultline.ConfigError, match=message):
        _native.Fixer().plan(report, catalog=catalog)


def test_analyze_plans_from_a_custom_catalog(example_bundle):
    r = faultline.analyze_bundle(
        example_bundle, config={"plan": {"enabled": True, "namespace": "shop"}}, catalog=RESTART_CATALOG
    )
    assert r["plan"] and r["plan"]["rationale"].startswith("Restart the suspect deployment")
