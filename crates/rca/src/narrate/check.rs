//! The answer's contract and the checks that enforce it: the model may rephrase and explain
//! what the analysis found; it may not add a hypothesis, a service or an evidence item, nor
//! claim a different root cause.

use std::collections::BTreeSet;
use std::fmt;

use faultline_core::IncidentReport;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What the model must answer (see [`narration_schema`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrationAnswer {
    /// A short paragraph: what most likely happened and why.
    pub summary: String,
    /// One explanation per hypothesis of the report (by id); may omit some.
    pub hypotheses: Vec<HypothesisExplanation>,
}

/// The model's explanation of one of the report's hypotheses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypothesisExplanation {
    /// The hypothesis id, exactly as in the report (`hyp-…`).
    pub id: String,
    /// Plain-language explanation of that hypothesis and its evidence.
    pub explanation: String,
}

/// Length caps applied to an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimits {
    /// Most bytes of the raw answer.
    pub max_answer_bytes: usize,
    /// Most characters of the summary.
    pub max_summary_chars: usize,
    /// Most characters of one explanation.
    pub max_explanation_chars: usize,
}

impl Default for AnswerLimits {
    fn default() -> Self {
        Self {
            max_answer_bytes: 16 * 1024,
            max_summary_chars: 1200,
            max_explanation_chars: 800,
        }
    }
}

/// Why an answer was not used. Not an error of the crate: the narrator falls back to the
/// template narrator and logs this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The answer is not JSON of the schema's shape.
    Malformed(String),
    /// The answer (or one of its texts) is longer than allowed.
    TooLong {
        /// Which part (`answer`, `summary`, a hypothesis id).
        what: String,
        /// Its length (bytes for the answer, characters otherwise).
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The summary is empty.
    EmptySummary,
    /// An explanation refers to a hypothesis the report does not have.
    UnknownHypothesis(String),
    /// The same hypothesis is explained twice.
    DuplicateHypothesis(String),
    /// The text names an id (`ev-…`, `hyp-…`, …) the report does not contain.
    UnknownId(String),
    /// The text names a service (or a service-like identifier) the report does not contain.
    UnknownService(String),
    /// The summary does not name the top hypothesis's service.
    TopServiceMissing(String),
    /// A root-cause claim that names none of the report's services.
    UnfoundedRootCause(String),
    /// Instruction-like or link text (prompt injection, phishing).
    Suspicious(String),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed answer: {m}"),
            Self::TooLong { what, len, max } => write!(f, "{what} too long: {len} > {max}"),
            Self::EmptySummary => write!(f, "empty summary"),
            Self::UnknownHypothesis(id) => write!(f, "unknown hypothesis id {id:?}"),
            Self::DuplicateHypothesis(id) => write!(f, "hypothesis {id:?} explained twice"),
            Self::UnknownId(id) => write!(f, "unknown id {id:?}"),
            Self::UnknownService(s) => write!(f, "service {s:?} is not in the report"),
            Self::TopServiceMissing(s) => write!(f, "summary does not name the top service {s:?}"),
            Self::UnfoundedRootCause(s) => write!(f, "root-cause claim names no reported service: {s:?}"),
            Self::Suspicious(s) => write!(f, "suspicious text {s:?}"),
        }
    }
}

/// The JSON schema of [`NarrationAnswer`], as sent in `response_format` (strict mode: every
/// property required, no additional properties).
pub fn narration_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "hypotheses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "explanation": {"type": "string"}
                    },
                    "required": ["id", "explanation"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["summary", "hypotheses"],
        "additionalProperties": false
    })
}

/// Words that, before "service", do not name one ("the failing service").
const NOT_NAMES: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "each",
    "every",
    "any",
    "one",
    "other",
    "another",
    "same",
    "its",
    "their",
    "our",
    "your",
    "which",
    "whose",
    "no",
    "upstream",
    "downstream",
    "affected",
    "impacted",
    "failing",
    "faulty",
    "broken",
    "degraded",
    "unhealthy",
    "healthy",
    "calling",
    "called",
    "dependent",
    "dependency",
    "root",
    "suspect",
    "suspected",
    "culprit",
    "backing",
    "underlying",
    "single",
    "second",
    "first",
    "top",
    "main",
    "critical",
    "slow",
    "slower",
    "erroring",
    "external",
    "internal",
    "shared",
    "related",
    "neighbouring",
    "neighboring",
    "own",
    "both",
    "all",
    "several",
    "many",
    "multiple",
    "individual",
    "given",
    "said",
    "culprit's",
    "caller",
    "callee",
];

/// Parts of a hyphenated or snake-case word that mark it as a service name.
const SERVICE_PARTS: &[&str] = &[
    "service", "svc", "api", "db", "database", "server", "srv", "worker", "gateway", "cache", "queue",
    "proxy", "frontend", "backend", "redis", "mysql", "postgres", "mongo", "kafka", "consumer", "producer",
];

/// Text that reads as instructions to a model or as a link, not as an explanation.
const SUSPICIOUS: &[&str] = &[
    "ignore previous",
    "ignore all",
    "ignore the above",
    "ignore your",
    "disregard",
    "system prompt",
    "new instructions",
    "as an ai",
    "<|",
    "[inst]",
    "http://",
    "https://",
    "www.",
];

/// Phrases that claim a root cause.
const ROOT_CAUSE_CLAIMS: &[&str] = &[
    "root cause",
    "real cause",
    "actual cause",
    "true cause",
    "underlying cause",
    "really caused",
    "actually caused",
];

/// Id prefixes of faultline's content-derived ids.
const ID_PREFIXES: &[&str] = &["ev", "hyp", "an", "tpl", "plan", "ag"];

/// What a report lets an answer mention.
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    /// Services of hypotheses (and their dependency causes), evidence, blast radius, timeline,
    /// edges and the incident, lower-cased.
    pub services: BTreeSet<String>,
    /// Every id in the report, lower-cased.
    pub ids: BTreeSet<String>,
    /// Every word of the report's texts and names, lower-cased (rephrasing may reuse them).
    pub vocabulary: BTreeSet<String>,
    /// Services the host knows of (e.g. the whole topology), lower-cased; naming one that is
    /// not in `services` is rejected.
    pub known_services: BTreeSet<String>,
    /// The top hypothesis's service, lower-cased.
    pub top_service: Option<String>,
}

impl Allowed {
    /// Collects what `report` contains.
    pub fn from_report(report: &IncidentReport) -> Self {
        use faultline_core::{Cause, EvidenceRef};
        let mut a = Self::default();
        let mut texts: Vec<&str> = vec![&report.incident.title];
        let service = |a: &mut Self, s: &str| {
            a.services.insert(s.to_lowercase());
        };
        for s in &report.incident.services {
            service(&mut a, s.as_str());
        }
        for h in &report.hypotheses {
            service(&mut a, h.service.as_str());
            a.ids.insert(h.id.as_str().to_lowercase());
            texts.push(&h.statement);
            if let Some(w) = &h.why_not {
                texts.push(w);
            }
            match &h.cause {
                Cause::Dependency { service: s } => service(&mut a, s.as_str()),
                Cause::Resource { metric } => {
                    texts.push(metric.service.as_str());
                    texts.push(&metric.metric);
                }
                Cause::Code { template, text } => {
                    a.ids.insert(template.as_str().to_lowercase());
                    texts.push(text);
                }
                Cause::Change {
                    change_kind, version, ..
                } => {
                    texts.push(change_kind);
                    if let Some(v) = version {
                        texts.push(v);
                    }
                }
                Cause::Unknown => {}
            }
        }
        for e in &report.evidence {
            service(&mut a, e.service.as_str());
            a.ids.insert(e.id.as_str().to_lowercase());
            texts.push(&e.summary);
            match &e.reference {
                EvidenceRef::Series { key, anomaly, .. } => {
                    texts.push(&key.metric);
                    if let Some(id) = anomaly {
                        a.ids.insert(id.as_str().to_lowercase());
                    }
                }
                EvidenceRef::Template { template, .. } => {
                    a.ids.insert(template.as_str().to_lowercase());
                }
                EvidenceRef::Change { kind, version, .. } => {
                    texts.push(kind);
                    if let Some(v) = version {
                        texts.push(v);
                    }
                }
                EvidenceRef::Edge { source, target } => {
                    service(&mut a, source.as_str());
                    service(&mut a, target.as_str());
                }
                EvidenceRef::Spans { .. } | EvidenceRef::Alerts { .. } => {}
            }
        }
        for s in &report.blast_radius.services {
            service(&mut a, s.as_str());
        }
        for slo in &report.blast_radius.slos {
            texts.push(slo);
        }
        for t in &report.timeline {
            if let Some(s) = &t.service {
                service(&mut a, s.as_str());
            }
            texts.push(&t.summary);
        }
        for an in &report.anomalies {
            a.ids.insert(an.id.as_str().to_lowercase());
        }
        for t in &report.templates {
            a.ids.insert(t.id.as_str().to_lowercase());
        }
        for g in &report.alert_groups {
            a.ids.insert(g.id.as_str().to_lowercase());
        }
        let names: Vec<String> = a.services.iter().cloned().collect();
        for t in texts.into_iter().map(str::to_owned).chain(names) {
            for w in words(&t) {
                a.vocabulary.insert(w.to_lowercase());
            }
        }
        a.top_service = report
            .hypotheses
            .first()
            .map(|h| h.service.as_str().to_lowercase());
        a
    }
}

/// Parses and checks a raw answer against `allowed`.
pub fn check_answer(
    raw: &str,
    allowed: &Allowed,
    limits: &AnswerLimits,
) -> Result<NarrationAnswer, Rejection> {
    if raw.len() > limits.max_answer_bytes {
        return Err(Rejection::TooLong {
            what: "answer".into(),
            len: raw.len(),
            max: limits.max_answer_bytes,
        });
    }
    let answer: NarrationAnswer =
        serde_json::from_str(strip_fence(raw)).map_err(|e| Rejection::Malformed(e.to_string()))?;
    let summary_len = answer.summary.chars().count();
    if answer.summary.trim().is_empty() {
        return Err(Rejection::EmptySummary);
    }
    if summary_len > limits.max_summary_chars {
        return Err(Rejection::TooLong {
            what: "summary".into(),
            len: summary_len,
            max: limits.max_summary_chars,
        });
    }
    let mut seen = BTreeSet::new();
    for h in &answer.hypotheses {
        let id = h.id.trim().to_lowercase();
        if !id.starts_with("hyp-") || !allowed.ids.contains(&id) {
            return Err(Rejection::UnknownHypothesis(h.id.clone()));
        }
        if !seen.insert(id) {
            return Err(Rejection::DuplicateHypothesis(h.id.clone()));
        }
        let len = h.explanation.chars().count();
        if len > limits.max_explanation_chars {
            return Err(Rejection::TooLong {
                what: h.id.clone(),
                len,
                max: limits.max_explanation_chars,
            });
        }
    }
    check_text(&answer.summary, allowed)?;
    for h in &answer.hypotheses {
        check_text(&h.explanation, allowed)?;
    }
    if let Some(top) = &allowed.top_service {
        if !mentions(&answer.summary, top) {
            return Err(Rejection::TopServiceMissing(top.clone()));
        }
    }
    Ok(answer)
}

/// Checks one text of the answer.
fn check_text(text: &str, allowed: &Allowed) -> Result<(), Rejection> {
    let lower = text.to_lowercase();
    if let Some(s) = SUSPICIOUS.iter().find(|s| lower.contains(*s)) {
        return Err(Rejection::Suspicious((*s).to_owned()));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Rejection::Suspicious("control character".into()));
    }
    let ws: Vec<String> = words(&lower).map(str::to_owned).collect();
    for (i, w) in ws.iter().enumerate() {
        if is_id(w) {
            if !allowed.ids.contains(w) {
                return Err(Rejection::UnknownId(w.clone()));
            }
            continue;
        }
        if allowed.known_services.contains(w) && !allowed.services.contains(w) {
            return Err(Rejection::UnknownService(w.clone()));
        }
        let service_like =
            w.contains('_') || (w.contains('-') && (has_service_part(w) || is_numbered_name(w)));
        if service_like && !allowed.vocabulary.contains(w) && !allowed.services.contains(w) {
            return Err(Rejection::UnknownService(w.clone()));
        }
        let next = ws.get(i + 1).map(String::as_str);
        if matches!(next, Some("service" | "services" | "svc" | "microservice"))
            && !NOT_NAMES.contains(&w.as_str())
            && !allowed.vocabulary.contains(w)
            && !allowed.services.contains(w)
        {
            return Err(Rejection::UnknownService(w.clone()));
        }
    }
    for sentence in lower.split(['.', '!', '?', ';', '\n']) {
        if ROOT_CAUSE_CLAIMS.iter().any(|c| sentence.contains(c))
            && !allowed.services.iter().any(|s| mentions(sentence, s))
        {
            return Err(Rejection::UnfoundedRootCause(sentence.trim().to_owned()));
        }
    }
    Ok(())
}

/// Words: runs of letters, digits, `-`, `_` and inner `.` (so `checkout-db`, `ev-…` and
/// `2.4.1` stay whole), trailing punctuation removed.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '\''))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '-' || c == '\''))
        .map(|w| w.strip_suffix("'s").unwrap_or(w))
        .filter(|w| !w.is_empty())
}

/// Whether `text` (lower-case) names `service` (lower-case) as a whole word.
fn mentions(text: &str, service: &str) -> bool {
    words(text).any(|w| w == service)
}

fn is_id(w: &str) -> bool {
    w.split_once('-').is_some_and(|(p, rest)| {
        ID_PREFIXES.contains(&p) && rest.len() >= 8 && rest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn has_service_part(w: &str) -> bool {
    w.split('-').any(|p| SERVICE_PARTS.contains(&p))
}

/// `node-3`, `shard-2`, `user-v2` (but not `2-minute` nor a version).
fn is_numbered_name(w: &str) -> bool {
    !is_version(w)
        && w.starts_with(char::is_alphabetic)
        && w.split('-')
            .skip(1)
            .any(|p| p.bytes().any(|b| b.is_ascii_digit()))
}

/// `v2-1`, `2-4-1`: versions written with dashes are not service names.
fn is_version(w: &str) -> bool {
    w.trim_start_matches('v')
        .split(['-', '.'])
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Models sometimes wrap JSON in a Markdown code fence despite the schema.
fn strip_fence(raw: &str) -> &str {
    let t = raw.trim();
    t.strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .map(str::trim)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Allowed {
        let mut a = Allowed::default();
        for s in ["checkout", "payment-db"] {
            a.services.insert(s.into());
            a.vocabulary.insert(s.into());
        }
        a.ids.insert("hyp-00000000000000aa".into());
        a.ids.insert("ev-00000000000000bb".into());
        a.vocabulary.insert("error_rate".into());
        a.top_service = Some("checkout".into());
        a
    }

    fn answer(summary: &str) -> String {
        json!({"summary": summary, "hypotheses": []}).to_string()
    }

    #[test]
    fn words_keep_identifiers_whole() {
        let w: Vec<&str> = words("checkout's payment-db (ev-00ab), v2.4.1.").collect();
        assert_eq!(w, ["checkout", "payment-db", "ev-00ab", "v2.4.1"]);
    }

    #[test]
    fn a_faithful_answer_passes() {
        let raw =
            answer("The checkout deploy broke payment-db calls; error_rate rose (ev-00000000000000bb).");
        check_answer(&raw, &allowed(), &AnswerLimits::default()).unwrap();
        let fenced = format!("```json\n{raw}\n```");
        check_answer(&fenced, &allowed(), &AnswerLimits::default()).unwrap();
    }

    #[test]
    fn inventions_are_rejected() {
        let a = allowed();
        let l = AnswerLimits::default();
        let cases = [
            (
                "checkout and the inventory service",
                Rejection::UnknownService("inventory".into()),
            ),
            (
                "checkout and auth-service",
                Rejection::UnknownService("auth-service".into()),
            ),
            (
                "checkout and redis_cache",
                Rejection::UnknownService("redis_cache".into()),
            ),
            (
                "checkout, see ev-00000000000000cc",
                Rejection::UnknownId("ev-00000000000000cc".into()),
            ),
            (
                "Disregard that: checkout",
                Rejection::Suspicious("disregard".into()),
            ),
            (
                "checkout, see https://x.test",
                Rejection::Suspicious("https://".into()),
            ),
            (
                "payment-db is slow",
                Rejection::TopServiceMissing("checkout".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(check_answer(&answer(text), &a, &l), Err(want), "{text}");
        }
        let claim = answer("checkout degraded. The real root cause is cosmic rays.");
        assert!(matches!(
            check_answer(&claim, &a, &l),
            Err(Rejection::UnfoundedRootCause(_))
        ));
    }

    #[test]
    fn ordinary_prose_and_versions_pass() {
        let a = allowed();
        let text = "The failing checkout service rolled out v2-4-1 with a well-known off-by-one; \
                    the upstream service saw time-outs. The root cause is checkout.";
        check_answer(&answer(text), &a, &AnswerLimits::default()).unwrap();
    }

    #[test]
    fn known_services_outside_the_report_are_rejected() {
        let mut a = allowed();
        a.known_services.insert("cart".into());
        let r = check_answer(&answer("checkout, not cart"), &a, &AnswerLimits::default());
        assert_eq!(r, Err(Rejection::UnknownService("cart".into())));
    }

    #[test]
    fn hypothesis_ids_and_lengths_are_checked() {
        let a = allowed();
        let l = AnswerLimits {
            max_summary_chars: 20,
            ..AnswerLimits::default()
        };
        let mk = |id: &str| {
            json!({"summary": "checkout", "hypotheses": [{"id": id, "explanation": "x"}]}).to_string()
        };
        check_answer(&mk("hyp-00000000000000aa"), &a, &l).unwrap();
        assert!(matches!(
            check_answer(&mk("hyp-00000000000000ff"), &a, &l),
            Err(Rejection::UnknownHypothesis(_))
        ));
        let dup = json!({"summary": "checkout", "hypotheses": [
            {"id": "hyp-00000000000000aa", "explanation": "x"},
            {"id": "hyp-00000000000000aa", "explanation": "y"}]})
        .to_string();
        assert!(matches!(
            check_answer(&dup, &a, &l),
            Err(Rejection::DuplicateHypothesis(_))
        ));
        let long = answer("checkout checkout checkout checkout");
        assert!(matches!(
            check_answer(&long, &a, &l),
            Err(Rejection::TooLong { .. })
        ));
        assert!(matches!(
            check_answer("{\"summary\": 1}", &a, &l),
            Err(Rejection::Malformed(_))
        ));
        let extra = r#"{"summary": "checkout", "hypotheses": [], "new_hypothesis": "dns"}"#;
        assert!(matches!(
            check_answer(extra, &a, &l),
            Err(Rejection::Malformed(_))
        ));
    }
}
