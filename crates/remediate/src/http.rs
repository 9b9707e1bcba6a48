//! HTTP integrations as steps: AWX job template launch, Terraform Cloud run, ServiceNow
//! incident, Jira issue, Slack message, PagerDuty event. Payloads follow each API's documented
//! request shape. A step's script is a `curl` command line; the request itself is also
//! available as an [`HttpRequest`] for HTTP runners. Credentials are always environment
//! variable references (`--oauth2-bearer "$AWX_TOKEN"`), never values.

use faultline_core::Step;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::actions::{ActionKind, RenderedAction};
use crate::quote::{join, split, Arg};
use crate::RemediateError;

/// How a request authenticates; each names an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "env")]
pub enum HttpAuth {
    /// None.
    None,
    /// `Authorization: Bearer $ENV`.
    Bearer(String),
    /// HTTP basic with `user:password` in `$ENV`.
    Basic(String),
}

/// One HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PATCH`.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Content type of the body.
    pub content_type: String,
    /// Authentication.
    pub auth: HttpAuth,
    /// JSON body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl HttpRequest {
    fn new(method: &str, url: String, auth: HttpAuth, body: Option<Value>) -> Self {
        Self {
            method: method.into(),
            url,
            content_type: "application/json".into(),
            auth,
            body,
        }
    }

    /// The request as a `curl` command line (every value quoted, secrets as env refs).
    ///
    /// ```
    /// use faultline_remediate::http::{HttpAuth, HttpRequest};
    /// let r = HttpRequest { method: "POST".into(), url: "https://x.test/api".into(),
    ///     content_type: "application/json".into(), auth: HttpAuth::Bearer("TOKEN".into()),
    ///     body: Some(serde_json::json!({"a": "it's"})) };
    /// assert_eq!(r.to_curl(), r#"curl -sS --fail-with-body -X POST https://x.test/api -H 'Content-Type: application/json' --oauth2-bearer "$TOKEN" --data-raw '{"a":"it'\''s"}'"#);
    /// ```
    pub fn to_curl(&self) -> String {
        let mut v: Vec<Arg> = ["curl", "-sS", "--fail-with-body", "-X", &self.method, &self.url]
            .iter()
            .map(|s| Arg::Lit((*s).to_owned()))
            .collect();
        if self.body.is_some() {
            v.push(Arg::Lit("-H".into()));
            v.push(Arg::Lit(format!("Content-Type: {}", self.content_type)));
        }
        match &self.auth {
            HttpAuth::None => {}
            HttpAuth::Bearer(e) => {
                v.push(Arg::Lit("--oauth2-bearer".into()));
                v.push(Arg::Env(e.clone()));
            }
            HttpAuth::Basic(e) => {
                v.push(Arg::Lit("--user".into()));
                v.push(Arg::Env(e.clone()));
            }
        }
        if let Some(b) = &self.body {
            v.push(Arg::Lit("--data-raw".into()));
            v.push(Arg::Lit(b.to_string()));
        }
        join(&v)
    }
}

impl HttpRequest {
    /// Parses a command line made by [`to_curl`](Self::to_curl) back into the request (what
    /// an HTTP runner executes). Anything `to_curl` does not produce is refused.
    ///
    /// ```
    /// use faultline_remediate::http::{HttpAuth, HttpRequest};
    /// let r = HttpRequest { method: "POST".into(), url: "http://127.0.0.1:8080/hook".into(),
    ///     content_type: "application/json".into(), auth: HttpAuth::Basic("CREDS".into()),
    ///     body: Some(serde_json::json!({"text": "it's done"})) };
    /// assert_eq!(HttpRequest::from_curl(&r.to_curl()).unwrap(), r);
    /// assert!(HttpRequest::from_curl("curl -X POST http://x.test -o /etc/passwd").is_err());
    /// ```
    pub fn from_curl(script: &str) -> Result<Self, RemediateError> {
        let refuse = |m: String| RemediateError::NotAllowed(format!("not a faultline HTTP step: {m}"));
        let mut words = split(script)?.into_iter();
        if words.next() != Some(Arg::Lit("curl".into())) {
            return Err(refuse(format!("{script:?} does not start with curl")));
        }
        let lit = |w: Option<Arg>, flag: &str| match w {
            Some(Arg::Lit(s)) => Ok(s),
            _ => Err(refuse(format!("{flag} needs a literal value"))),
        };
        let (mut method, mut url, mut content_type) = (None, None, "application/json".to_owned());
        let (mut auth, mut body) = (HttpAuth::None, None);
        while let Some(w) = words.next() {
            match w {
                Arg::Lit(f) if f == "-sS" || f == "--fail-with-body" => {}
                Arg::Lit(f) if f == "-X" => method = Some(lit(words.next(), "-X")?),
                Arg::Lit(f) if f == "-H" => {
                    let h = lit(words.next(), "-H")?;
                    match h.split_once(':') {
                        Some((k, v)) if k.eq_ignore_ascii_case("content-type") => {
                            content_type = v.trim().to_owned()
                        }
                        _ => return Err(refuse(format!("header {h:?}"))),
                    }
                }
                Arg::Lit(f) if f == "--oauth2-bearer" || f == "--user" => match words.next() {
                    Some(Arg::Env(e)) if f == "--user" => auth = HttpAuth::Basic(e),
                    Some(Arg::Env(e)) => auth = HttpAuth::Bearer(e),
                    _ => return Err(refuse(format!("{f} takes an environment reference"))),
                },
                Arg::Lit(f) if f == "--data-raw" => {
                    let text = lit(words.next(), "--data-raw")?;
                    body = Some(
                        serde_json::from_str(&text).map_err(|e| refuse(format!("body is not JSON: {e}")))?,
                    );
                }
                Arg::Lit(u) if url.is_none() && (u.starts_with("http://") || u.starts_with("https://")) => {
                    url = Some(u)
                }
                other => return Err(refuse(format!("unexpected argument {other:?}"))),
            }
        }
        Ok(Self {
            method: method.ok_or_else(|| refuse("no -X METHOD".into()))?,
            url: url.ok_or_else(|| refuse("no URL".into()))?,
            content_type,
            auth,
            body,
        })
    }
}

fn url(field: &str, base: &str, path: &str) -> Result<String, RemediateError> {
    let base = base.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains(char::is_whitespace) {
        return Err(RemediateError::InvalidValue {
            field: field.into(),
            value: base.into(),
            reason: "expected an http(s) URL".into(),
        });
    }
    Ok(format!("{base}{path}"))
}

fn path_segment(field: &str, v: &str) -> Result<String, RemediateError> {
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(RemediateError::InvalidValue {
            field: field.into(),
            value: v.into(),
            reason: "expected letters, digits, '-' or '_'".into(),
        });
    }
    Ok(v.to_owned())
}

fn param<'a>(kind: ActionKind, a: &'a RenderedAction, name: &str) -> Result<&'a str, RemediateError> {
    match a.params.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim()),
        _ => Err(RemediateError::MissingParam {
            action: kind.name().into(),
            param: name.into(),
        }),
    }
}

fn opt<'a>(a: &'a RenderedAction, name: &str, default: &'a str) -> &'a str {
    a.params
        .get(name)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
}

fn env(a: &RenderedAction, name: &str, default: &str) -> Result<String, RemediateError> {
    let v = opt(a, name, default);
    if crate::quote::is_env_name(v) {
        Ok(v.to_owned())
    } else {
        Err(RemediateError::InvalidValue {
            field: name.into(),
            value: v.into(),
            reason: "not an environment variable name".into(),
        })
    }
}

fn echo(msg: &str) -> String {
    join(&[Arg::Lit("echo".into()), Arg::Lit(msg.to_owned())])
}

/// The requests of an HTTP action: (do, dry-run, rollback); a `None` form is an `echo`.
pub fn requests(
    kind: ActionKind,
    a: &RenderedAction,
) -> Result<(HttpRequest, Option<HttpRequest>, Option<HttpRequest>), RemediateError> {
    use ActionKind as K;
    Ok(match kind {
        K::AwxLaunch => {
            let id = path_segment("template_id", param(kind, a, "template_id")?)?;
            let base = param(kind, a, "base_url")?;
            let auth = HttpAuth::Bearer(env(a, "token_env", "AWX_TOKEN")?);
            let mut body = json!({ "extra_vars": a.values });
            if let Some(l) = a.params.get("limit").filter(|s| !s.is_empty()) {
                body["limit"] = json!(l);
            }
            if let Some(t) = a.params.get("job_tags").filter(|s| !s.is_empty()) {
                body["job_tags"] = json!(t);
            }
            let launch = |tid: &str| url("base_url", base, &format!("/api/v2/job_templates/{tid}/launch/"));
            // GET on the launch endpoint lists what a launch needs and launches nothing.
            let dry = HttpRequest::new("GET", launch(&id)?, auth.clone(), None);
            let rb = match a.params.get("rollback_template_id").filter(|s| !s.is_empty()) {
                Some(r) => {
                    let r = path_segment("rollback_template_id", r)?;
                    Some(HttpRequest::new(
                        "POST",
                        launch(&r)?,
                        auth.clone(),
                        Some(body.clone()),
                    ))
                }
                None => None,
            };
            (
                HttpRequest::new("POST", launch(&id)?, auth, Some(body)),
                Some(dry),
                rb,
            )
        }
        K::TfcRun => {
            let ws = path_segment("workspace_id", param(kind, a, "workspace_id")?)?;
            let base = opt(a, "base_url", "https://app.terraform.io");
            let auth = HttpAuth::Bearer(env(a, "token_env", "TFC_TOKEN")?);
            let msg = param(kind, a, "message")?;
            let run =
                |vars: &std::collections::BTreeMap<String, String>, plan_only: bool, message: String| {
                    let variables: Vec<Value> = vars
                        .iter()
                        .map(|(k, v)| json!({ "key": k, "value": v }))
                        .collect();
                    json!({ "data": { "type": "runs",
                    "attributes": { "message": message, "is-destroy": false, "auto-apply": false,
                        "plan-only": plan_only, "refresh": true, "variables": variables },
                    "relationships": { "workspace": { "data": { "type": "workspaces", "id": ws } } } } })
                };
            let u = url("base_url", base, "/api/v2/runs")?;
            let mut req = HttpRequest::new(
                "POST",
                u.clone(),
                auth.clone(),
                Some(run(&a.values, false, msg.into())),
            );
            req.content_type = "application/vnd.api+json".into();
            let mut dry = HttpRequest::new(
                "POST",
                u.clone(),
                auth.clone(),
                Some(run(&a.values, true, msg.into())),
            );
            dry.content_type = req.content_type.clone();
            let rb = if a.previous.is_empty() {
                None
            } else {
                let mut r = HttpRequest::new(
                    "POST",
                    u,
                    auth,
                    Some(run(&a.previous, false, format!("rollback: {msg}"))),
                );
                r.content_type = req.content_type.clone();
                Some(r)
            };
            (req, Some(dry), rb)
        }
        K::ServicenowIncident => {
            let base = param(kind, a, "base_url")?;
            let auth = HttpAuth::Basic(env(a, "credentials_env", "SERVICENOW_CREDENTIALS")?);
            let mut body = json!({
                "short_description": param(kind, a, "short_description")?,
                "description": opt(a, "description", ""),
                "urgency": opt(a, "urgency", "2"),
                "impact": opt(a, "impact", "2"),
                "category": opt(a, "category", "software"),
                "caller_id": opt(a, "caller_id", "faultline.integration"),
                "correlation_display": "faultline",
            });
            for f in ["assignment_group", "cmdb_ci", "correlation_id", "work_notes"] {
                if let Some(v) = a.params.get(f).filter(|s| !s.is_empty()) {
                    body[f] = json!(v);
                }
            }
            let dry = HttpRequest::new(
                "GET",
                url("base_url", base, "/api/now/table/incident?sysparm_limit=1")?,
                auth.clone(),
                None,
            );
            (
                HttpRequest::new(
                    "POST",
                    url("base_url", base, "/api/now/table/incident")?,
                    auth,
                    Some(body),
                ),
                Some(dry),
                None,
            )
        }
        K::JiraIssue => {
            let base = param(kind, a, "base_url")?;
            let project = path_segment("project", param(kind, a, "project")?)?;
            let auth = HttpAuth::Basic(env(a, "credentials_env", "JIRA_CREDENTIALS")?);
            let text = opt(a, "description", "");
            let labels: Vec<&str> = opt(a, "labels", "incident,faultline")
                .split(',')
                .map(str::trim)
                .collect();
            let body = json!({ "fields": {
                "project": { "key": project },
                "issuetype": { "name": opt(a, "issue_type", "Bug") },
                "summary": param(kind, a, "summary")?,
                "priority": { "name": opt(a, "priority", "High") },
                "labels": labels,
                // API v3 takes Atlassian Document Format for rich text.
                "description": { "type": "doc", "version": 1, "content": [
                    { "type": "paragraph", "content": [ { "type": "text", "text": text } ] } ] },
            } });
            let dry = HttpRequest::new(
                "GET",
                url(
                    "base_url",
                    base,
                    &format!("/rest/api/3/issue/createmeta/{project}/issuetypes"),
                )?,
                auth.clone(),
                None,
            );
            (
                HttpRequest::new(
                    "POST",
                    url("base_url", base, "/rest/api/3/issue")?,
                    auth,
                    Some(body),
                ),
                Some(dry),
                None,
            )
        }
        K::SlackMessage => {
            let base = opt(a, "base_url", "https://slack.com");
            let auth = HttpAuth::Bearer(env(a, "token_env", "SLACK_TOKEN")?);
            let channel = param(kind, a, "channel")?;
            let text = param(kind, a, "text")?;
            let body =
                json!({ "channel": channel, "text": text, "unfurl_links": false, "unfurl_media": false });
            let mut req = HttpRequest::new(
                "POST",
                url("base_url", base, "/api/chat.postMessage")?,
                auth.clone(),
                Some(body),
            );
            req.content_type = "application/json; charset=utf-8".into();
            let dry = HttpRequest::new(
                "POST",
                url("base_url", base, "/api/auth.test")?,
                auth.clone(),
                None,
            );
            let mut rb = HttpRequest::new(
                "POST",
                url("base_url", base, "/api/chat.postMessage")?,
                auth,
                Some(json!({ "channel": channel, "text": format!("Retracted: {text}") })),
            );
            rb.content_type = req.content_type.clone();
            (req, Some(dry), Some(rb))
        }
        K::PagerdutyEvent => {
            let base = opt(a, "base_url", "https://events.pagerduty.com");
            let dedup = param(kind, a, "dedup_key")?;
            let key_env = env(a, "routing_key_env", "PAGERDUTY_ROUTING_KEY")?;
            let severity = opt(a, "severity", "critical");
            if !matches!(severity, "critical" | "error" | "warning" | "info") {
                return Err(RemediateError::InvalidValue {
                    field: "severity".into(),
                    value: severity.into(),
                    reason: "expected critical, error, warning or info".into(),
                });
            }
            // The routing key is a secret that goes in the body: the body is a template the
            // runner fills from `$ENV` (`{{env:NAME}}`), so the key never enters the plan.
            let key = format!("{{{{env:{key_env}}}}}");
            let body = json!({ "routing_key": key, "event_action": "trigger", "dedup_key": dedup,
                "payload": { "summary": param(kind, a, "summary")?, "source": opt(a, "source", "faultline"),
                    "severity": severity, "component": opt(a, "component", ""), "group": opt(a, "group", "") },
                "client": "faultline" });
            let resolve = json!({ "routing_key": key, "event_action": "resolve", "dedup_key": dedup });
            let u = url("base_url", base, "/v2/enqueue")?;
            (
                HttpRequest::new("POST", u.clone(), HttpAuth::None, Some(body)),
                None,
                Some(HttpRequest::new("POST", u, HttpAuth::None, Some(resolve))),
            )
        }
        other => {
            return Err(RemediateError::Catalog(format!(
                "{} is not an HTTP action",
                other.name()
            )));
        }
    })
}

/// The step of an HTTP action.
pub(crate) fn generate(kind: ActionKind, a: &RenderedAction) -> Result<Step, RemediateError> {
    let (req, dry, rb) = requests(kind, a)?;
    Ok(Step {
        action: kind.name().into(),
        target: req.url.clone(),
        script: req.to_curl(),
        dry_run: dry.map(|d| d.to_curl()).unwrap_or_else(|| {
            echo(&format!(
                "[dry-run] {} {} (no side-effect-free endpoint)",
                req.method, req.url
            ))
        }),
        rollback: rb
            .map(|r| r.to_curl())
            .unwrap_or_else(|| echo(&format!("nothing to undo: {} only informs people", kind.name()))),
    })
}

/// Settings of the HTTP runner (`http_runner`, feature `http`); always compiled so that
/// hosts can record and exchange them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpRunnerConfig {
    /// URLs a request may go to, as prefixes (`https://awx.example.com/api/`); empty allows
    /// any URL (`https://` needs the cargo feature `tls`).
    pub allowed_url_prefixes: Vec<String>,
    /// Variables that credentials and `{{env:NAME}}` placeholders may come from.
    pub env_passthrough: Vec<String>,
    /// Per-request time limit (connect, send and receive).
    pub timeout_ms: u64,
    /// Response body kept per step, in bytes.
    pub max_output_bytes: usize,
    /// PEM root certificates trusted for `https://` (an internal CA). Empty: the Mozilla
    /// roots compiled in (webpki-roots). When set, only these are trusted.
    pub ca_certs_pem: Vec<String>,
}

impl Default for HttpRunnerConfig {
    fn default() -> Self {
        Self {
            allowed_url_prefixes: vec![],
            env_passthrough: vec![],
            timeout_ms: 30_000,
            max_output_bytes: 64 * 1024,
            ca_certs_pem: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(params: &[(&str, &str)]) -> RenderedAction {
        RenderedAction {
            params: params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            ..Default::default()
        }
    }

    fn body(kind: ActionKind, a: &RenderedAction) -> Value {
        requests(kind, a).unwrap().0.body.unwrap()
    }

    #[test]
    fn awx_launch_matches_the_documented_shape() {
        let mut a = act(&[
            ("base_url", "https://awx.example.internal"),
            ("template_id", "42"),
            ("limit", "payments_prod"),
        ]);
        a.values.insert("service".into(), "payments".into());
        let (req, dry, _) = requests(ActionKind::AwxLaunch, &a).unwrap();
        assert_eq!(
            req.url,
            "https://awx.example.internal/api/v2/job_templates/42/launch/"
        );
        assert_eq!(req.body.unwrap()["extra_vars"]["service"], "payments");
        assert_eq!(dry.unwrap().method, "GET");
        let s = generate(ActionKind::AwxLaunch, &a).unwrap();
        assert!(s.script.contains("--oauth2-bearer \"$AWX_TOKEN\""));
        assert!(s.rollback.starts_with("echo"));
    }

    #[test]
    fn tfc_run_dry_run_is_plan_only() {
        let mut a = act(&[
            ("workspace_id", "ws-7Qn2Ye1KxTbbXm4E"),
            ("message", "restore pool"),
        ]);
        a.values.insert("acquirer_pool_size".into(), "16".into());
        a.previous.insert("acquirer_pool_size".into(), "4".into());
        let (req, dry, rb) = requests(ActionKind::TfcRun, &a).unwrap();
        let b = req.body.unwrap();
        assert_eq!(b["data"]["type"], "runs");
        assert_eq!(
            b["data"]["attributes"]["variables"][0]["key"],
            "acquirer_pool_size"
        );
        assert_eq!(
            b["data"]["relationships"]["workspace"]["data"]["id"],
            "ws-7Qn2Ye1KxTbbXm4E"
        );
        assert_eq!(
            dry.unwrap().body.unwrap()["data"]["attributes"]["plan-only"],
            true
        );
        assert_eq!(
            rb.unwrap().body.unwrap()["data"]["attributes"]["variables"][0]["value"],
            "4"
        );
        assert_eq!(req.content_type, "application/vnd.api+json");
    }

    #[test]
    fn tickets_and_messages_have_documented_fields() {
        let a = act(&[
            ("base_url", "https://x.service-now.com"),
            ("short_description", "latency"),
            ("cmdb_ci", "payments"),
        ]);
        let b = body(ActionKind::ServicenowIncident, &a);
        assert_eq!(b["cmdb_ci"], "payments");
        assert_eq!(b["caller_id"], "faultline.integration");
        let a = act(&[
            ("base_url", "https://x.atlassian.net"),
            ("project", "SHOP"),
            ("summary", "s"),
        ]);
        let b = body(ActionKind::JiraIssue, &a);
        assert_eq!(b["fields"]["project"]["key"], "SHOP");
        assert_eq!(b["fields"]["description"]["type"], "doc");
        let a = act(&[("channel", "C05SHOPINC1"), ("text", "hi")]);
        assert_eq!(body(ActionKind::SlackMessage, &a)["channel"], "C05SHOPINC1");
        let a = act(&[("summary", "p99 6s"), ("dedup_key", "faultline/FL-1")]);
        let (req, dry, rb) = requests(ActionKind::PagerdutyEvent, &a).unwrap();
        assert_eq!(req.body.unwrap()["event_action"], "trigger");
        assert!(dry.is_none());
        let rb = rb.unwrap().body.unwrap();
        assert_eq!(rb["event_action"], "resolve");
        assert_eq!(rb["dedup_key"], "faultline/FL-1");
    }

    #[test]
    fn bad_urls_and_ids_are_refused() {
        let a = act(&[("base_url", "file:///etc"), ("template_id", "42")]);
        assert!(requests(ActionKind::AwxLaunch, &a).is_err());
        let a = act(&[("base_url", "https://awx"), ("template_id", "42/../../x")]);
        assert!(requests(ActionKind::AwxLaunch, &a).is_err());
    }
}
