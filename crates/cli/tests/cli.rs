//! The `faultline` binary: protocols, help and exit codes.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../examples/incidents")
        .join(name)
}

#[test]
fn analyze_prints_a_versioned_json_report() {
    let out = bin()
        .args(["analyze"])
        .arg(example("checkout-deploy"))
        .args(["--top", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    let hyps = v["hypotheses"].as_array().unwrap();
    assert!(!hyps.is_empty() && hyps.len() <= 3);
    assert_eq!(hyps[0]["service"], "checkout");
    assert_eq!(hyps[0]["rank"], 1);
}

#[test]
fn analyze_markdown_has_headline_and_evidence() {
    let out = bin()
        .args(["analyze"])
        .arg(example("cache-memory-leak"))
        .args(["--format", "md"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# Incident "));
    assert!(md.contains("## Most likely: "));
    assert!(md.contains("Evidence:"));
}

#[test]
fn malformed_bundle_exits_2_naming_file_line_field_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("incident.json"),
        r#"{"id": "x", "onset": 1700000000}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("metrics.csv"),
        "timestamp,service,metric,value\n1700000000,a,cpu,1\n1700000015,a,cpu,oops\n",
    )
    .unwrap();
    let out = bin().arg("analyze").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("metrics.csv:3: field `value` has invalid value \"oops\""),
        "{err}"
    );
}

#[test]
fn missing_bundle_and_bad_config_exit_2() {
    let out = bin().args(["analyze", "/no/such/bundle"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let cfg = tempfile::NamedTempFile::with_suffix(".yaml").unwrap();
    std::fs::write(cfg.path(), "rca:\n  no_such_setting: 1\n").unwrap();
    let out = bin()
        .arg("analyze")
        .arg(example("checkout-deploy"))
        .arg("--config")
        .arg(cfg.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin().args(["analyze"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a missing argument is bad input");
}

#[test]
fn detect_scores_every_row_in_unit_interval() {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..300 {
        let v = if i == 250 { 500.0 } else { 10.0 + (i % 7) as f64 };
        csv.push_str(&format!("{},{}\n", 1_700_000_000 + i * 60, v));
    }
    let out = run_with_stdin(&["detect"], &csv);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,value,anomaly_score"));
    let scores: Vec<f64> = lines
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(scores.len(), 300);
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    let max_other = scores
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 250)
        .map(|(_, s)| *s)
        .fold(0.0, f64::max);
    assert!(
        scores[250] > max_other,
        "the spike scores highest: {} vs {max_other}",
        scores[250]
    );
}

#[test]
fn detect_rejects_malformed_value_with_exit_2() {
    let out = run_with_stdin(&["detect"], "timestamp,value\n1,2\n2,abc\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin:3: field `value`"));
}

#[test]
fn mine_prints_one_object_per_line_in_order() {
    let input = "connected to 10.0.0.1 port 22\nconnected to 10.0.0.2 port 2222\ndisk full on /var\n";
    let out = run_with_stdin(&["mine"], input);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["cluster"], rows[1]["cluster"]);
    assert_ne!(rows[0]["cluster"], rows[2]["cluster"]);
    assert_eq!(rows[0]["template"], rows[1]["template"]);
    assert!(rows[0]["template"].as_str().unwrap().contains("<*>"));
}

#[test]
fn mine_survives_invalid_utf8() {
    let mut child = bin()
        .arg("mine")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ok line\n\xff\xfe garbage \x00\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in ["analyze", "detect", "mine", "decompose"] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example:"), "{cmd} --help lacks an example");
    }
}

#[test]
fn decompose_outputs_components_that_sum_to_the_series() {
    let mut csv = String::from("timestamp,value\n");
    let vals: Vec<f64> = (0..240)
        .map(|i| 100.0 + 0.1 * i as f64 + 10.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin())
        .collect();
    for (i, v) in vals.iter().enumerate() {
        csv.push_str(&format!("{},{v}\n", 1_700_000_000 + i * 3600));
    }
    let out = run_with_stdin(&["decompose", "--period", "24"], &csv);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 240);
    for (r, v) in rows.iter().zip(&vals) {
        assert!((r[0] + r[1] + r[2] - v).abs() < 1e-9);
    }
}
