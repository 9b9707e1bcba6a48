//! End-to-end remediation through the binary: analyze → plan → preflight → approve → execute
//! (dry-run and GitOps on a temporary repository) → verify → audit verify, and the refusals.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_faultline")
}

fn bundle() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../examples/incidents/checkout-deploy")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("FAULTLINE_LOG")
        .output()
        .expect("the binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(
        o.status.success(),
        "faultline {args:?} failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit code 2 and the stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(2),
        "faultline {args:?} should exit 2; stderr: {err}"
    );
    err
}

/// `approve plan.json` signed by alice's key (made by `keygen --out alice`).
const ALICE_APPROVES: &[&str] = &[
    "approve",
    "plan.json",
    "--approver",
    "alice",
    "--key",
    "alice.key",
];
/// `audit verify` of the default log against the key it was created with.
const AUDIT_VERIFY: &[&str] = &[
    "audit",
    "verify",
    "faultline-audit.jsonl",
    "--key",
    "faultline-audit.jsonl.pub",
];

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file exists")).expect("JSON")
}

/// Deterministic windows: `latency_ms` and `errors` per sample; `shift` raises the latency and
/// `errors_every` puts 3 errors every that many samples (0 = none).
fn window(path: &Path, seed: u64, shift: f64, errors_every: usize) {
    let mut s = seed;
    let mut text = String::from("metric,value\n");
    for i in 0..40 {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = ((s >> 33) % 1000) as f64 / 100.0; // 0..10
        text.push_str(&format!("latency_ms,{:.2}\n", 100.0 + shift + noise));
        let e = if errors_every > 0 && i % errors_every == 0 {
            3
        } else {
            0
        };
        text.push_str(&format!("errors,{e}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn verify_args(canary: &str) -> Vec<&str> {
    vec![
        "verify",
        "plan.json",
        "--baseline",
        "base.csv",
        "--canary",
        canary,
        "--key",
        "alice.pub",
        "--critical",
        "errors",
        "--count",
        "errors",
    ]
}

#[test]
fn dry_run_path_from_bundle_to_verified_audit_log() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let b = bundle();
    let b = b.to_str().unwrap();

    let report: Value = serde_json::from_str(&ok(d, &["analyze", b])).unwrap();
    assert_eq!(report["hypotheses"][0]["service"], "checkout");

    ok(d, &["plan", b, "--out", "plan.json"]);
    let plan = json(&d.join("plan.json"));
    assert_eq!(plan["environment"], "production", "the incident says production");
    assert_eq!(plan["service"], "checkout");
    assert_eq!(plan["steps"][0]["action"], "kubectl_rollout_undo");
    assert_eq!(plan["state"], "draft");
    assert!(d.join("faultline-audit.jsonl").exists() && d.join("faultline-audit.jsonl.pub").exists());

    let report: Value = serde_json::from_str(&ok(d, &["preflight", "plan.json"])).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(json(&d.join("plan.json"))["state"], "preflighted");

    ok(d, &["keygen", "--out", "alice"]);
    ok(d, &[ALICE_APPROVES, &["--comment", "roll it back"]].concat());
    let approval = json(&d.join("plan.approval.json"));
    assert_eq!(approval["approval"]["approver"], "alice");
    assert_eq!(approval["approval"]["plan"], plan["id"]);

    let out = ok(
        d,
        &[
            "execute",
            "plan.json",
            "--approval",
            "plan.approval.json",
            "--key",
            "alice.pub",
            "--runner",
            "dry-run",
        ],
    );
    let execs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(execs[0]["status"], 0);
    assert!(execs[0]["output"]
        .as_str()
        .unwrap()
        .contains("kubectl rollout undo deployment/checkout"));
    let record = json(&d.join("plan.execution.json"));
    assert_eq!(record["state"], "executing");

    window(&d.join("base.csv"), 1, 0.0, 0);
    window(&d.join("good.csv"), 2, 0.0, 0);
    window(&d.join("bad.csv"), 3, 60.0, 5);
    let v: Value = serde_json::from_str(&ok(d, &verify_args("good.csv"))).unwrap();
    assert_eq!(v["state"], "verified", "{v}");
    assert_eq!(v["verdict"]["outcome"], "pass");
    assert_eq!(v["rollbacks"].as_array().unwrap().len(), 0);

    // A later window breaches: the fix is rolled back through the same runner.
    let v: Value = serde_json::from_str(&ok(d, &verify_args("bad.csv"))).unwrap();
    assert_eq!(v["verdict"]["outcome"], "fail", "{v}");
    assert_eq!(v["state"], "rolled_back");
    let rb = v["rollbacks"].as_array().unwrap();
    assert_eq!(rb.len(), 1);
    assert!(rb[0]["output"].as_str().unwrap().contains("kubectl rollout undo"));
    // Once rolled back there is nothing left to verify.
    let err = refused(d, &verify_args("good.csv"));
    assert!(err.contains("rolled_back"), "{err}");

    // plan, preflight, approve, execute, verify, verify = 6 records.
    let out = ok(d, AUDIT_VERIFY);
    assert!(out.contains("ok: 6 records"), "{out}");
    let log = std::fs::read_to_string(d.join("faultline-audit.jsonl")).unwrap();
    let events: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["payload"]["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        events,
        ["planned", "preflight", "approved", "execute", "verify", "verify"]
    );

    // Tampering: an edited record is named; a wrong key is refused.
    let err = refused(
        d,
        &["audit", "verify", "faultline-audit.jsonl", "--key", "alice.pub"],
    );
    assert!(err.contains("record 0"), "{err}");
    std::fs::write(
        d.join("faultline-audit.jsonl"),
        log.replacen("\"alice\"", "\"mallory\"", 1),
    )
    .unwrap();
    let err = refused(d, AUDIT_VERIFY);
    assert!(err.contains("record 2"), "the approval record was edited: {err}");
    // Nothing more can be appended to a tampered log.
    let err = refused(d, &["preflight", "plan.json"]);
    assert!(err.contains("does not verify"), "{err}");
}

#[test]
fn production_plan_without_valid_approval_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let b = bundle();
    ok(d, &["plan", b.to_str().unwrap(), "--out", "plan.json"]);
    ok(d, &["keygen", "--out", "alice"]);
    ok(d, &["keygen", "--out", "eve"]);

    // Approval before preflight: refused.
    let err = refused(d, ALICE_APPROVES);
    assert!(err.contains("no passing preflight"), "{err}");

    let err = refused(d, &["execute", "plan.json", "--runner", "dry-run"]);
    assert!(err.contains("without a signed approval"), "{err}");
    let err = refused(d, &["execute", "plan.json", "--auto-approve"]);
    assert!(err.contains("production environment"), "{err}");

    ok(d, &["preflight", "plan.json"]);
    ok(d, ALICE_APPROVES);
    let err = refused(d, &["execute", "plan.json", "--approval", "plan.approval.json"]);
    assert!(err.contains("--key"), "{err}");
    // Signed by alice, checked against eve's key.
    let err = refused(
        d,
        &[
            "execute",
            "plan.json",
            "--approval",
            "plan.approval.json",
            "--key",
            "eve.pub",
        ],
    );
    assert!(err.contains("bad signature"), "{err}");
    // The plan is edited after approval.
    let text = std::fs::read_to_string(d.join("plan.json")).unwrap();
    let edited = text.replace(
        "rollout undo deployment/checkout -n default\"",
        "rollout restart deployment/checkout -n default\"",
    );
    assert_ne!(text, edited);
    std::fs::write(d.join("plan.json"), edited).unwrap();
    let err = refused(
        d,
        &[
            "execute",
            "plan.json",
            "--approval",
            "plan.approval.json",
            "--key",
            "alice.pub",
        ],
    );
    assert!(err.contains("changed after it was approved"), "{err}");
    assert!(!d.join("plan.execution.json").exists(), "nothing ran");

    // The refusals are in the audit log, which still verifies: planned, 2 refusals, preflight,
    // approved, 2 refusals (a missing --key is a usage error, refused before any attempt).
    let out = ok(d, AUDIT_VERIFY);
    assert!(out.contains("ok: 7 records"), "{out}");
}

fn git(repo: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@localhost")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@localhost")
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

const GITOPS_CATALOG: &str = r#"version: 1
rules:
  - name: pin-previous-image
    description: Pin the image tag the deploy replaced (GitOps)
    match: { cause: [change], change_kind: [deploy] }
    actions:
      - kind: gitops_set
        params:
          file: "deploy/{{ service }}.yaml"
          key: image.tag
          value: "{{ params.previous_tag }}"
          previous_value: "{{ version }}"
"#;

#[test]
fn gitops_execution_commits_to_a_branch_and_a_failed_canary_reverts_it() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let repo = d.join("deploy-repo");
    std::fs::create_dir_all(repo.join("deploy")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.join("deploy/checkout.yaml"),
        "# checkout\nimage:\n  name: checkout\n  tag: 2.4.1\nreplicas: 3\n",
    )
    .unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "initial"]);
    std::fs::write(d.join("catalog.yaml"), GITOPS_CATALOG).unwrap();

    let b = bundle();
    ok(
        d,
        &[
            "plan",
            b.to_str().unwrap(),
            "--out",
            "plan.json",
            "--catalog",
            "catalog.yaml",
            "--environment",
            "staging",
            "--param",
            "previous_tag=2.4.0",
        ],
    );
    let plan = json(&d.join("plan.json"));
    assert_eq!(plan["environment"], "staging");
    assert_eq!(
        plan["steps"][0]["script"],
        "gitops set deploy/checkout.yaml image.tag 2.4.0"
    );
    ok(d, &["preflight", "plan.json"]);
    // Staging may approve itself by explicit flag.
    let repo_s = repo.to_str().unwrap();
    ok(
        d,
        &[
            "execute",
            "plan.json",
            "--auto-approve",
            "--runner",
            "gitops",
            "--repo",
            repo_s,
            "--base",
            "main",
        ],
    );
    let branch = format!("faultline/{}", plan["id"].as_str().unwrap());
    let changed = git(&repo, &["show", &format!("{branch}:deploy/checkout.yaml")]);
    assert!(
        changed.contains("  tag: 2.4.0") && changed.contains("# checkout"),
        "{changed}"
    );
    let msg = git(&repo, &["log", "-1", "--format=%B", &branch]);
    assert!(
        msg.contains("Incident: INC-7730") && msg.contains(plan["id"].as_str().unwrap()),
        "{msg}"
    );
    // The working tree and the checked-out branch are untouched.
    assert!(std::fs::read_to_string(repo.join("deploy/checkout.yaml"))
        .unwrap()
        .contains("tag: 2.4.1"));
    assert_eq!(git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");

    window(&d.join("base.csv"), 1, 0.0, 0);
    window(&d.join("bad.csv"), 3, 60.0, 5);
    let v: Value = serde_json::from_str(&ok(
        d,
        &[
            "verify",
            "plan.json",
            "--baseline",
            "base.csv",
            "--canary",
            "bad.csv",
            "--critical",
            "latency_ms",
        ],
    ))
    .unwrap();
    assert_eq!(v["state"], "rolled_back", "{v}");
    let reverted = git(&repo, &["show", &format!("{branch}:deploy/checkout.yaml")]);
    assert!(
        reverted.contains("  tag: 2.4.1"),
        "the rollback commit restores the tag: {reverted}"
    );
    assert_eq!(
        git(&repo, &["rev-list", "--count", &format!("main..{branch}")]),
        "2"
    );

    let out = ok(d, AUDIT_VERIFY);
    assert!(out.contains("ok: 4 records"), "{out}");
}

#[test]
fn every_remediation_command_has_help_with_an_example() {
    let d = std::env::temp_dir();
    for cmd in [
        vec!["plan"],
        vec!["preflight"],
        vec!["approve"],
        vec!["execute"],
        vec!["verify"],
        vec!["keygen"],
        vec!["audit", "verify"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let out = ok(&d, &args);
        assert!(out.contains("Example:\n  faultline"), "{cmd:?}: {out}");
    }
}

#[test]
fn malformed_canary_window_names_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let b = bundle();
    ok(
        d,
        &[
            "plan",
            b.to_str().unwrap(),
            "--out",
            "plan.json",
            "--environment",
            "dev",
        ],
    );
    ok(d, &["execute", "plan.json", "--auto-approve"]);
    window(&d.join("base.csv"), 1, 0.0, 0);
    std::fs::write(
        d.join("broken.csv"),
        "metric,value\nlatency_ms,12\nlatency_ms,abc\n",
    )
    .unwrap();
    let err = refused(
        d,
        &[
            "verify",
            "plan.json",
            "--baseline",
            "base.csv",
            "--canary",
            "broken.csv",
        ],
    );
    assert!(err.contains("broken.csv line 3") && err.contains("abc"), "{err}");
}

/// Answers one HTTP request with 200 and hands back what it received.
#[cfg(feature = "http")]
fn one_shot_server() -> (String, std::sync::mpsc::Receiver<faultline_testkit::Request>) {
    faultline_testkit::serve(vec![faultline_testkit::Answer::ok(r#"{"ok":true}"#)])
}

#[cfg(feature = "http")]
#[test]
fn http_runner_posts_the_message_with_the_token_from_the_environment() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (base, server) = one_shot_server();
    let catalog = r##"version: 1
rules:
  - name: tell-the-channel
    match: { cause: [change] }
    actions:
      - kind: slack_message
        params: { base_url: "{{ params.slack_url }}", channel: "#inc", text: "rolling back {{ service }}" }
"##;
    std::fs::write(d.join("catalog.yaml"), catalog).unwrap();
    let b = bundle();
    let slack = format!("slack_url={base}");
    ok(
        d,
        &[
            "plan",
            b.to_str().unwrap(),
            "--out",
            "plan.json",
            "--catalog",
            "catalog.yaml",
            "--param",
            &slack,
        ],
    );
    ok(d, &["preflight", "plan.json"]);
    ok(d, &["keygen", "--out", "alice"]);
    ok(d, ALICE_APPROVES);
    let allow = format!("{base}/api/");
    let o = Command::new(bin())
        .args([
            "execute",
            "plan.json",
            "--approval",
            "plan.approval.json",
            "--key",
            "alice.pub",
            "--runner",
            "http",
        ])
        .args(["--http-allow", &allow, "--http-env", "SLACK_TOKEN"])
        .env("SLACK_TOKEN", "xoxb-test")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen = server.recv().unwrap().raw();
    assert!(seen.starts_with("POST /api/chat.postMessage HTTP/1.1"), "{seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("authorization: bearer xoxb-test"),
        "{seen}"
    );
    let body: Value = serde_json::from_str(seen.split("\r\n\r\n").last().unwrap()).unwrap();
    assert_eq!(body["channel"], "#inc");
    assert_eq!(body["text"], "rolling back checkout");
    let execs: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(execs[0]["runner"], "http");
    assert_eq!(execs[0]["status"], 0);
}

const FREEZE_POLICY: &str = r#"package faultline

import rego.v1

deny contains msg if {
	input.production
	msg := "production changes are frozen this week"
}
"#;

#[cfg(feature = "rego")]
#[test]
fn rego_policy_denies_with_its_reason() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("freeze.rego"), FREEZE_POLICY).unwrap();
    let b = bundle();
    ok(d, &["plan", b.to_str().unwrap(), "--out", "prod.json"]);
    let err = refused(d, &["preflight", "prod.json", "--policy", "freeze.rego"]);
    assert!(err.contains("production changes are frozen this week"), "{err}");
    ok(
        d,
        &[
            "plan",
            b.to_str().unwrap(),
            "--out",
            "staging.json",
            "--environment",
            "staging",
        ],
    );
    ok(d, &["preflight", "staging.json", "--policy", "freeze.rego"]);
    // Approval repeats the preflight's own checks, Rego policy included.
    ok(d, &["keygen", "--out", "alice"]);
    ok(
        d,
        &[
            "approve",
            "staging.json",
            "--approver",
            "alice",
            "--key",
            "alice.key",
        ],
    );
    let log = std::fs::read_to_string(d.join("faultline-audit.jsonl")).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["payload"].clone())
        .collect();
    let pre = events
        .iter()
        .rfind(|e| e["event"] == "preflight" && e["passed"] == true)
        .unwrap();
    let approved = events.iter().find(|e| e["event"] == "approved").unwrap();
    assert_eq!(approved["policy_digest"], pre["policy_digest"]);
    let record = json(&d.join("staging.preflight.json"));
    assert_eq!(record["spec"]["policy"]["rego"][0]["name"], "freeze.rego");
}

#[cfg(not(feature = "rego"))]
#[test]
fn policy_flag_without_rego_support_is_bad_input() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("freeze.rego"), FREEZE_POLICY).unwrap();
    ok(d, &["plan", bundle().to_str().unwrap(), "--out", "plan.json"]);
    let err = refused(d, &["preflight", "plan.json", "--policy", "freeze.rego"]);
    assert!(err.contains("without Rego support"), "{err}");
}

#[test]
fn failing_step_marks_the_plan_failed_and_exits_1() {
    // The shell runner starts kubectl, which is absent here (or has no cluster): the step
    // fails, the completed steps (none) are rolled back, and there is nothing to verify.
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    ok(
        d,
        &[
            "plan",
            bundle().to_str().unwrap(),
            "--out",
            "plan.json",
            "--environment",
            "dev",
        ],
    );
    let o = run(
        d,
        &["execute", "plan.json", "--auto-approve", "--runner", "shell"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("step 1 (kubectl_rollout_undo) failed"));
    let record = json(&d.join("plan.execution.json"));
    assert_eq!(record["state"], "failed");
    assert_ne!(record["executions"][0]["status"], 0);
    window(&d.join("base.csv"), 1, 0.0, 0);
    let err = refused(
        d,
        &[
            "verify",
            "plan.json",
            "--baseline",
            "base.csv",
            "--canary",
            "base.csv",
        ],
    );
    assert!(err.contains("nothing to verify"), "{err}");
}

#[test]
fn preflight_takes_the_error_budget_and_drift_checks() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    ok(d, &["plan", bundle().to_str().unwrap(), "--out", "plan.json"]);
    // Budget: 0.1 % of 100k = 100 bad events allowed, 40 spent: 60 % left.
    let drift = "checkout runs 2.32.0,2.32.0,kubectl get deployment/checkout -n default -o name";
    let out = ok(
        d,
        &[
            "preflight",
            "plan.json",
            "--budget",
            "0.999,100000,40",
            "--drift",
            drift,
        ],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(
        (report["budget_remaining"].as_f64().unwrap() - 0.6).abs() < 1e-9,
        "{report}"
    );
    assert_eq!(report["drift"][0]["name"], "checkout runs 2.32.0");
    assert!(
        report["drift"][0]["holds"].is_null(),
        "not checkable with the dry-run runner"
    );
    assert_eq!(report["passed"], true, "{report}");
    let record = json(&d.join("plan.preflight.json"));
    assert_eq!(record["spec"]["budget"]["bad_events"], 40);
    assert_eq!(
        record["spec"]["drift"][0]["probe"],
        "kubectl get deployment/checkout -n default -o name"
    );

    // 500 bad events: exhausted (-400 %); with the gate of a spec file the plan fails on it.
    std::fs::write(
        d.join("strict.yaml"),
        "config:\n  max_risk_when_budget_exhausted: 0.0\n",
    )
    .unwrap();
    let err = refused(
        d,
        &[
            "preflight",
            "plan.json",
            "--spec",
            "strict.yaml",
            "--budget",
            "0.999,100000,500",
        ],
    );
    assert!(err.contains("error budget exhausted"), "{err}");

    // Malformed flags name the flag and the expected shape.
    let err = refused(d, &["preflight", "plan.json", "--budget", "0.999,lots,5"]);
    assert!(err.contains("--budget") && err.contains("SLO_TARGET"), "{err}");
    let err = refused(d, &["preflight", "plan.json", "--drift", "only-a-name"]);
    assert!(err.contains("--drift"), "{err}");
    let err = refused(d, &["preflight", "plan.json", "--budget", "0.999,10,50"]);
    assert!(err.contains("bad_events"), "{err}");
}

#[test]
fn approve_refuses_a_preflight_record_whose_checks_were_edited() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    ok(d, &["plan", bundle().to_str().unwrap(), "--out", "plan.json"]);
    ok(d, &["keygen", "--out", "alice"]);
    ok(d, &["preflight", "plan.json", "--budget", "0.999,100000,50"]);
    // Loosen the recorded checks (drop the budget) without the digest matching.
    let path = d.join("plan.preflight.json");
    let mut record = json(&path);
    record["spec"]["budget"] = Value::Null;
    std::fs::write(&path, record.to_string()).unwrap();
    let err = refused(d, ALICE_APPROVES);
    assert!(err.contains("edited"), "{err}");
    // A fresh preflight record is accepted.
    ok(d, &["preflight", "plan.json", "--budget", "0.999,100000,50"]);
    ok(d, ALICE_APPROVES);
}
