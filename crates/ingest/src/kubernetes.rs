//! Kubernetes `v1 Event`s (`kubectl get events -o json`: a `List`; one `Event`; a watch
//! stream's `{"type", "object"}`; `events.k8s.io/v1` field names) and Pods whose container
//! statuses record an `OOMKilled` termination (Kubernetes records OOM kills in the pod status,
//! not as Pod events).
//!
//! Every event becomes a [`LogRecord`] (body `Reason: message`; WARN for `Warning` events,
//! ERROR for OOM kills, INFO otherwise; `k8s.*` attributes), and some also a [`ChangeEvent`]:
//! - `ScalingReplicaSet` on a Deployment: a **deploy** when the body shows the deployment's
//!   rollout (two or more replica sets scaled), else a **scale**; the version is the tag of
//!   the image a pod of the new replica set pulled, when the body says so;
//! - `Killing`, `BackOff`, `OOMKilling` and an `OOMKilled` container status: a **restart**.
//!
//! The service is the involved object's workload name: a Deployment's name; a ReplicaSet's
//! name without its pod-template hash; a Pod's name without its generated suffixes
//! (`payments-6c9f7d5b4-7kq8n` → `payments`, `redis-0` → `redis`); for a node's `OOMKilling`
//! the killed process (`(redis-server)` → `redis`); a Pod's `app.kubernetes.io/name` / `app`
//! label wins when present.

use std::collections::{BTreeMap, BTreeSet};

use faultline_core::{ChangeEvent, ChangeKind, LogRecord, ServiceId, Severity, Timestamp};
use serde_json::Value;

use crate::batch::Builder;
use crate::{json, Batch, Format, IngestError, Limits};

const F: Format = Format::KubernetesEvents;

/// Parses Kubernetes events or pods.
pub(crate) fn parse(body: &[u8], limits: &Limits) -> Result<Batch, IngestError> {
    let root: Value = json::decode(F, body)?;
    let items: Vec<(String, &Value)> = match root.get("items").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("/items/{i}"), v))
            .collect(),
        None => match root.get("object") {
            Some(obj) if root.get("type").is_some() => vec![("/object".to_owned(), obj)],
            _ => vec![(String::new(), &root)],
        },
    };
    let mut b = Builder::new(F, limits);
    let rollouts = rollouts(&items);
    let versions = pulled_versions(&items);
    for (at, item) in &items {
        let at_fn = || if at.is_empty() { "/".to_owned() } else { at.clone() };
        if !item.is_object() {
            return Err(IngestError::invalid(
                F,
                at_fn(),
                "",
                &item.to_string(),
                "expected an object",
            ));
        }
        match text(item, "/kind") {
            Some("Pod") => pod(item, &mut b, &at_fn)?,
            Some("Event") | None => event(item, &mut b, &at_fn, &rollouts, &versions)?,
            Some(other) => {
                return Err(IngestError::invalid(
                    F,
                    at_fn(),
                    "kind",
                    other,
                    "expected `Event` or `Pod`",
                ));
            }
        }
    }
    Ok(b.finish())
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Deployments whose replica sets were scaled more than once in this body (a rollout).
fn rollouts(items: &[(String, &Value)]) -> BTreeSet<String> {
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, ev) in items {
        if text(ev, "/reason") == Some("ScalingReplicaSet") {
            if let (Some(dep), Some(rs)) = (involved(ev, "name"), message(ev).and_then(replica_set_of)) {
                seen.entry(dep).or_default().insert(rs);
            }
        }
    }
    seen.into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| k.to_owned())
        .collect()
}

/// Replica set name → the image tag one of its pods pulled (`Container image "x/payments:2.32.0"`),
/// from the `Pulled` events of the body (first one wins).
fn pulled_versions(items: &[(String, &Value)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, ev) in items {
        if text(ev, "/reason") != Some("Pulled") {
            continue;
        }
        let Some(pod) = involved(ev, "name") else { continue };
        let Some((rs, _)) = pod.rsplit_once('-') else {
            continue;
        };
        let tag = message(ev)
            .and_then(|m| m.split('"').nth(1))
            .and_then(|image| image.rsplit_once(':'))
            .map(|(_, tag)| tag)
            .filter(|tag| !tag.contains('/') && !tag.is_empty());
        if let Some(tag) = tag {
            out.entry(rs.to_owned()).or_insert_with(|| tag.to_owned());
        }
    }
    out
}

fn involved<'a>(ev: &'a Value, field: &str) -> Option<&'a str> {
    text(ev, &format!("/involvedObject/{field}")).or_else(|| text(ev, &format!("/regarding/{field}")))
}

fn message(ev: &Value) -> Option<&str> {
    text(ev, "/message").or_else(|| text(ev, "/note"))
}

/// `Scaled up replica set payments-6c9f7d5b4 to 1` → `payments-6c9f7d5b4`.
fn replica_set_of(msg: &str) -> Option<&str> {
    msg.split("replica set ").nth(1)?.split_whitespace().next()
}

/// When the event happened: first occurrence, else the event time, else the last, else the
/// object's creation.
fn event_time(ev: &Value, at: &dyn Fn() -> String) -> Result<Timestamp, IngestError> {
    for field in [
        "firstTimestamp",
        "deprecatedFirstTimestamp",
        "eventTime",
        "lastTimestamp",
        "metadata/creationTimestamp",
    ] {
        if let Some(t) = text(ev, &format!("/{field}")) {
            return Timestamp::parse(t)
                .map_err(|e| IngestError::invalid(F, at(), field.replace('/', "."), t, e.to_string()));
        }
    }
    Err(IngestError::invalid(
        F,
        at(),
        "firstTimestamp",
        "",
        "missing field",
    ))
}

/// The workload name of an object name (see the module docs).
pub(crate) fn workload(kind: &str, name: &str) -> String {
    let parts: Vec<&str> = name.split('-').collect();
    let is_hash = |s: &str| {
        (5..=10).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let is_ordinal = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let keep = match kind {
        "ReplicaSet" if parts.len() > 1 && is_hash(parts[parts.len() - 1]) => parts.len() - 1,
        "Pod" if parts.len() > 2 && is_hash(parts[parts.len() - 1]) && is_hash(parts[parts.len() - 2]) => {
            parts.len() - 2
        }
        "Pod"
            if parts.len() > 1 && (is_ordinal(parts[parts.len() - 1]) || is_hash(parts[parts.len() - 1])) =>
        {
            parts.len() - 1
        }
        _ => parts.len(),
    };
    parts[..keep].join("-")
}

/// `... Killed process 21877 (redis-server) ...` → `redis`.
fn killed_process(msg: &str) -> Option<String> {
    let inner = msg.split('(').nth(1)?.split(')').next()?;
    let base = inner.strip_suffix("-server").unwrap_or(inner);
    (!base.is_empty()).then(|| base.to_owned())
}

fn event(
    ev: &Value,
    b: &mut Builder<'_>,
    at: &dyn Fn() -> String,
    rollouts: &BTreeSet<String>,
    versions: &BTreeMap<String, String>,
) -> Result<(), IngestError> {
    let ts = event_time(ev, at)?;
    let reason = text(ev, "/reason").unwrap_or_default();
    let kind = involved(ev, "kind").unwrap_or_default();
    let name = involved(ev, "name").unwrap_or_default();
    let msg = message(ev).unwrap_or_default();
    let service = match (reason, kind) {
        ("OOMKilling", "Node") => killed_process(msg).unwrap_or_else(|| name.to_owned()),
        _ => workload(kind, name),
    };
    if service.is_empty() {
        return Err(IngestError::invalid(
            F,
            at(),
            "involvedObject.name",
            "",
            "missing field",
        ));
    }
    let warning = text(ev, "/type") == Some("Warning");
    let severity = match reason {
        "OOMKilling" | "OOMKilled" => Severity::Error,
        _ if warning => Severity::Warn,
        _ => Severity::Info,
    };
    let mut attributes = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            attributes.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    };
    put("k8s.reason", Some(reason).filter(|r| !r.is_empty()));
    put("k8s.object.kind", Some(kind).filter(|r| !r.is_empty()));
    put("k8s.object.name", Some(name).filter(|r| !r.is_empty()));
    put(
        "k8s.namespace.name",
        involved(ev, "namespace").or_else(|| text(ev, "/metadata/namespace")),
    );
    put(
        "k8s.source.component",
        text(ev, "/source/component").or_else(|| text(ev, "/reportingController")),
    );
    put("k8s.node.name", text(ev, "/source/host"));
    put("k8s.last_timestamp", text(ev, "/lastTimestamp"));
    if let Some(count) = ev.get("count").and_then(Value::as_u64) {
        attributes.insert("k8s.count".into(), Value::from(count));
    }
    let service = ServiceId::new(&service);
    let change = match reason {
        "ScalingReplicaSet" if kind == "Deployment" => {
            let deploy = rollouts.contains(name);
            let scaled_up = msg.starts_with("Scaled up");
            let version = if deploy && scaled_up {
                replica_set_of(msg).and_then(|rs| versions.get(rs).cloned())
            } else {
                None
            };
            Some((
                if deploy {
                    ChangeKind::Deploy
                } else {
                    ChangeKind::Scale
                },
                version,
            ))
        }
        "Killing" | "BackOff" | "OOMKilling" => Some((ChangeKind::Restart, None)),
        _ => None,
    };
    if let Some((kind, version)) = change {
        let ev = ChangeEvent {
            ts,
            service: service.clone(),
            kind,
            version,
            description: Some(format!("{reason}: {msg}")),
            attributes: attributes.clone(),
            source: None,
        };
        b.event(ev, at)?;
    }
    let rec = LogRecord {
        ts,
        service,
        severity,
        body: if reason.is_empty() {
            msg.to_owned()
        } else {
            format!("{reason}: {msg}")
        },
        attributes,
        trace_id: None,
        span_id: None,
        source: None,
    };
    b.log(rec, at)
}

fn pod(p: &Value, b: &mut Builder<'_>, at: &dyn Fn() -> String) -> Result<(), IngestError> {
    let name = text(p, "/metadata/name")
        .ok_or_else(|| IngestError::invalid(F, at(), "metadata.name", "", "missing field"))?;
    let service = text(p, "/metadata/labels/app.kubernetes.io~1name")
        .or_else(|| text(p, "/metadata/labels/app"))
        .map_or_else(|| workload("Pod", name), str::to_owned);
    let namespace = text(p, "/metadata/namespace");
    for list in ["containerStatuses", "initContainerStatuses"] {
        let Some(statuses) = p.pointer(&format!("/status/{list}")).and_then(Value::as_array) else {
            continue;
        };
        for (ci, cs) in statuses.iter().enumerate() {
            for state in ["lastState", "state"] {
                let Some(term) = cs.pointer(&format!("/{state}/terminated")) else {
                    continue;
                };
                if text(term, "/reason") != Some("OOMKilled") {
                    continue;
                }
                let field = format!("status.{list}.{ci}.{state}.terminated.finishedAt");
                let finished = text(term, "/finishedAt")
                    .ok_or_else(|| IngestError::invalid(F, at(), &field, "", "missing field"))?;
                let ts = Timestamp::parse(finished)
                    .map_err(|e| IngestError::invalid(F, at(), &field, finished, e.to_string()))?;
                let container = text(cs, "/name").unwrap_or("?");
                let exit = term.get("exitCode").and_then(Value::as_i64).unwrap_or(137);
                let mut attributes = BTreeMap::new();
                attributes.insert("k8s.reason".into(), Value::from("OOMKilled"));
                attributes.insert("k8s.pod.name".into(), Value::from(name));
                attributes.insert("k8s.container.name".into(), Value::from(container));
                attributes.insert("exit_code".into(), Value::from(exit));
                if let Some(ns) = namespace {
                    attributes.insert("k8s.namespace.name".into(), Value::from(ns));
                }
                if let Some(n) = cs.get("restartCount").and_then(Value::as_u64) {
                    attributes.insert("k8s.restart_count".into(), Value::from(n));
                }
                let description = format!("container {container} of pod {name} OOMKilled (exit code {exit})");
                let service = ServiceId::new(&service);
                b.event(
                    ChangeEvent {
                        ts,
                        service: service.clone(),
                        kind: ChangeKind::Restart,
                        version: text(cs, "/image")
                            .and_then(|i| i.rsplit_once(':'))
                            .map(|(_, t)| t.to_owned()),
                        description: Some(description.clone()),
                        attributes: attributes.clone(),
                        source: None,
                    },
                    at,
                )?;
                b.log(
                    LogRecord {
                        ts,
                        service,
                        severity: Severity::Error,
                        body: format!("OOMKilled: {description}"),
                        attributes,
                        trace_id: None,
                        span_id: None,
                        source: None,
                    },
                    at,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_drop_generated_suffixes() {
        assert_eq!(workload("Pod", "payments-6c9f7d5b4-7kq8n"), "payments");
        assert_eq!(workload("Pod", "redis-0"), "redis");
        assert_eq!(workload("ReplicaSet", "payments-6c9f7d5b4"), "payments");
        assert_eq!(workload("Deployment", "shop-api"), "shop-api");
        assert_eq!(workload("Pod", "x"), "x");
        assert_eq!(
            killed_process("Killed process 21877 (redis-server) total-vm"),
            Some("redis".into())
        );
    }
}
