//! The HTTP actions' requests against the documented payload shapes (copies of the shared
//! fixtures in `tests/fixtures/http/`, one per API): same method and path, and every field we
//! send exists at the same place in the documented body with the same JSON type (we never
//! invent a field), plus the fields each API requires.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use faultline_remediate::actions::{ActionKind, RenderedAction};
use faultline_remediate::http::{requests, HttpRequest};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/http/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn act(params: &[(&str, &str)], values: &[(&str, &str)]) -> RenderedAction {
    RenderedAction {
        params: params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        values: values.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        ..Default::default()
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `ours` exists in `doc` at the same place with the same type; an array
/// element must conform to at least one documented element.
fn conforms(ours: &Value, doc: &Value, at: &str) -> Result<(), String> {
    match (ours, doc) {
        (Value::Object(o), Value::Object(d)) => {
            for (k, v) in o {
                let dv = d
                    .get(k)
                    .ok_or_else(|| format!("{at}.{k}: not a documented field"))?;
                conforms(v, dv, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(o), Value::Array(d)) => {
            for (i, v) in o.iter().enumerate() {
                if !d.is_empty() && !d.iter().any(|dv| conforms(v, dv, at).is_ok()) {
                    return Err(format!("{at}[{i}]: matches no documented element: {v}"));
                }
            }
            Ok(())
        }
        (o, d) if kind_of(o) == kind_of(d) => Ok(()),
        (o, d) => Err(format!(
            "{at}: {} where the API documents {}",
            kind_of(o),
            kind_of(d)
        )),
    }
}

fn check(req: &HttpRequest, doc: &Value, required: &[&str]) {
    assert_eq!(
        req.method,
        doc["method"].as_str().unwrap(),
        "{}",
        doc["integration"]
    );
    let path = doc["path"].as_str().unwrap();
    assert!(req.url.ends_with(path), "{} does not end with {path}", req.url);
    let body = req.body.as_ref().expect("a body");
    if let Err(e) = conforms(body, &doc["body"], "body") {
        panic!("{}: {e}\nours: {body}", doc["integration"]);
    }
    for r in required {
        assert!(
            !body.pointer(r).unwrap_or(&Value::Null).is_null(),
            "{}: {r} missing in {body}",
            doc["integration"]
        );
    }
}

#[test]
fn awx_launch_matches_the_documented_launch() {
    let a = act(
        &[
            ("base_url", "https://awx.example.internal"),
            ("template_id", "42"),
            ("limit", "payments_prod"),
            ("job_tags", "rollback,verify"),
        ],
        &[("service", "payments"), ("target_version", "2.31.4")],
    );
    let (req, _, _) = requests(ActionKind::AwxLaunch, &a).unwrap();
    check(
        &req,
        &fixture("awx_job_template_launch.json"),
        &["/extra_vars/service", "/limit"],
    );
}

#[test]
fn terraform_cloud_run_matches_the_documented_run() {
    let a = act(
        &[
            ("workspace_id", "ws-7Qn2Ye1KxTbbXm4E"),
            ("message", "restore pool"),
        ],
        &[("acquirer_pool_size", "16")],
    );
    let (req, dry, _) = requests(ActionKind::TfcRun, &a).unwrap();
    let doc = fixture("tfc_run_create.json");
    check(
        &req,
        &doc,
        &[
            "/data/type",
            "/data/attributes/message",
            "/data/relationships/workspace/data/id",
        ],
    );
    // The dry run is the same request with plan-only set.
    let dry = dry.unwrap();
    check(&dry, &doc, &["/data/attributes/plan-only"]);
    assert_eq!(dry.body.unwrap()["data"]["attributes"]["plan-only"], true);
}

#[test]
fn servicenow_incident_matches_the_documented_table_api() {
    let a = act(
        &[
            ("base_url", "https://example.service-now.com"),
            ("short_description", "Checkout latency"),
            ("description", "payments pool reduced"),
        ],
        &[],
    );
    let (req, _, _) = requests(ActionKind::ServicenowIncident, &a).unwrap();
    check(
        &req,
        &fixture("servicenow_incident_create.json"),
        &["/short_description"],
    );
}

#[test]
fn jira_issue_matches_the_documented_v3_issue() {
    let a = act(
        &[
            ("base_url", "https://example.atlassian.net"),
            ("project", "SHOP"),
            ("summary", "Payments pool change caused checkout latency"),
            ("description", "Evidence: pool 16 -> 4."),
        ],
        &[],
    );
    let (req, _, _) = requests(ActionKind::JiraIssue, &a).unwrap();
    check(
        &req,
        &fixture("jira_create_issue.json"),
        &[
            "/fields/project/key",
            "/fields/issuetype/name",
            "/fields/summary",
            "/fields/description/type",
        ],
    );
}

#[test]
fn slack_message_matches_the_documented_post_message() {
    let a = act(
        &[("channel", "C05SHOPINC1"), ("text", "checkout rolled back")],
        &[],
    );
    let (req, _, _) = requests(ActionKind::SlackMessage, &a).unwrap();
    check(
        &req,
        &fixture("slack_chat_post_message.json"),
        &["/channel", "/text"],
    );
}

#[test]
fn pagerduty_trigger_and_its_rollback_match_the_documented_events() {
    let a = act(
        &[("dedup_key", "faultline/FL-1"), ("summary", "checkout latency")],
        &[],
    );
    let (req, _, rb) = requests(ActionKind::PagerdutyEvent, &a).unwrap();
    check(
        &req,
        &fixture("pagerduty_event_trigger.json"),
        &[
            "/routing_key",
            "/event_action",
            "/dedup_key",
            "/payload/summary",
            "/payload/source",
            "/payload/severity",
        ],
    );
    let rb = rb.expect("a trigger is undone by a resolve");
    check(
        &rb,
        &fixture("pagerduty_event_resolve.json"),
        &["/routing_key", "/dedup_key"],
    );
    assert_eq!(rb.body.unwrap()["event_action"], "resolve");
}

#[test]
fn the_shape_check_catches_invented_fields_and_wrong_types() {
    use serde_json::json;
    let doc = json!({ "a": { "b": "x" }, "list": [{ "k": 1 }] });
    assert!(conforms(&json!({ "a": { "b": "y" }, "list": [{ "k": 2 }] }), &doc, "body").is_ok());
    assert!(conforms(&json!({ "a": { "c": "y" } }), &doc, "body").is_err());
    assert!(conforms(&json!({ "a": { "b": 1 } }), &doc, "body").is_err());
    assert!(conforms(&json!({ "list": [{ "z": 1 }] }), &doc, "body").is_err());
}
