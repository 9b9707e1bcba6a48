//! In-memory signals given as arrays of bundle records (the shapes of `docs/bundle-format.md`,
//! one array per bundle file) read through the facade's bundle reader, so that they get exactly
//! the validation, defaults and error messages of a bundle directory.
//!
//! The facade reads bundles from directories only, so the records are written to a private
//! temporary bundle, read back and removed; error positions are then renamed from file and line
//! (`logs.jsonl:3`) to array and index (`logs[2]`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use faultline::bundle::{read_bundle, Bundle, BundleError};
use serde_json::{Map, Value};

use crate::config::kind_of;
use crate::error::{Fallible, Family, JsFailure};

/// The JSONL arrays, their bundle file names and whether it is JSON lines.
const JSONL: [(&str, &str); 4] = [
    ("logs", "logs.jsonl"),
    ("events", "events.jsonl"),
    ("traces", "traces.jsonl"),
    ("alerts", "alerts.jsonl"),
];
const KEYS: [&str; 7] = [
    "incident", "metrics", "logs", "events", "traces", "alerts", "topology",
];

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary directory removed on drop.
struct TempBundle(PathBuf);

impl TempBundle {
    fn create() -> Fallible<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "faultline-node-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| io_failure(&dir, e))?;
        Ok(Self(dir))
    }
}

impl Drop for TempBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn io_failure(path: &Path, e: std::io::Error) -> JsFailure {
    JsFailure::new(Family::Io, format!("{}: {e}", path.display()))
}

/// Reads `{incident, metrics?, logs?, events?, traces?, alerts?, topology?}` into a bundle.
pub(crate) fn bundle_from_records(input: Value) -> Fallible<Bundle> {
    let Value::Object(mut obj) = input else {
        return Err(JsFailure::input(format!(
            "signals: expected an object with `incident` and record arrays, got {}",
            kind_of(&input)
        )));
    };
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(JsFailure::input(format!(
            "signals: unknown key `{k}` (expected one of {})",
            KEYS.join(", ")
        )));
    }
    let incident = obj
        .remove("incident")
        .ok_or_else(|| JsFailure::input("signals.incident is missing (it is the one required part)"))?;
    if !incident.is_object() {
        return Err(JsFailure::input(format!(
            "signals.incident: expected an object, got {}",
            kind_of(&incident)
        )));
    }
    let tmp = TempBundle::create()?;
    write_file(&tmp.0, "incident.json", |w| writeln!(w, "{incident}"))?;
    for (key, file) in JSONL {
        if let Some(records) = array(&mut obj, key)? {
            write_file(&tmp.0, file, |w| {
                for r in &records {
                    writeln!(w, "{r}")?;
                }
                Ok(())
            })?;
        }
    }
    if let Some(rows) = array(&mut obj, "metrics")? {
        let text = metrics_csv(&rows)?;
        write_file(&tmp.0, "metrics.csv", |w| w.write_all(text.as_bytes()))?;
    }
    if let Some(rows) = array(&mut obj, "topology")? {
        let text = topology_csv(&rows)?;
        write_file(&tmp.0, "topology.csv", |w| w.write_all(text.as_bytes()))?;
    }
    let mut b = read_bundle(&tmp.0).map_err(renamed)?;
    b.path = PathBuf::from("<memory>");
    Ok(b)
}

fn array(obj: &mut Map<String, Value>, key: &str) -> Fallible<Option<Vec<Value>>> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(JsFailure::input(format!(
            "signals.{key}: expected an array of records, got {}",
            kind_of(&other)
        ))),
    }
}

fn write_file(
    dir: &Path,
    name: &str,
    f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Fallible<()> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).map_err(|e| io_failure(&path, e))?;
    let mut w = std::io::BufWriter::new(file);
    f(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| io_failure(&path, e))
}

fn csv_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn scalar_text(v: &Value, at: &str, field: &str) -> Fallible<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(JsFailure::input(format!(
            "{at}: field `{field}` has invalid value {other}: expected a string or a number"
        ))),
    }
}

/// `metrics.csv`: `timestamp,service,metric,value` then one column per label seen anywhere
/// (labels from a `labels` object or extra keys).
fn metrics_csv(rows: &[Value]) -> Fallible<String> {
    const FIXED: [&str; 4] = ["timestamp", "service", "metric", "value"];
    let mut label_names: Vec<String> = Vec::new();
    let mut parsed: Vec<Vec<(String, String)>> = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let at = format!("metrics[{i}]");
        let Value::Object(o) = r else {
            return Err(JsFailure::input(format!(
                "{at}: expected an object, got {}",
                kind_of(r)
            )));
        };
        let mut fields = Vec::with_capacity(o.len());
        for (k, v) in o {
            if k == "labels" {
                let Value::Object(l) = v else {
                    return Err(JsFailure::input(format!(
                        "{at}: field `labels` must be an object"
                    )));
                };
                for (lk, lv) in l {
                    fields.push((lk.clone(), scalar_text(lv, &at, lk)?));
                }
            } else {
                fields.push((k.clone(), scalar_text(v, &at, k)?));
            }
        }
        for (k, _) in &fields {
            if !FIXED.contains(&k.as_str()) && !label_names.contains(k) {
                label_names.push(k.clone());
            }
        }
        parsed.push(fields);
    }
    label_names.sort();
    let columns: Vec<&str> = FIXED
        .iter()
        .copied()
        .chain(label_names.iter().map(String::as_str))
        .collect();
    let mut out = String::with_capacity(rows.len() * 48);
    out.push_str(&columns.join(","));
    out.push('\n');
    for fields in &parsed {
        for (c, col) in columns.iter().enumerate() {
            if c > 0 {
                out.push(',');
            }
            if let Some((_, v)) = fields.iter().find(|(k, _)| k == col) {
                csv_field(&mut out, v);
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// `topology.csv`: `source,target,kind`.
fn topology_csv(rows: &[Value]) -> Fallible<String> {
    let mut out = String::from("source,target,kind\n");
    for (i, r) in rows.iter().enumerate() {
        let at = format!("topology[{i}]");
        let Value::Object(o) = r else {
            return Err(JsFailure::input(format!(
                "{at}: expected an object, got {}",
                kind_of(r)
            )));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["source", "target", "kind"].contains(&k.as_str()))
        {
            return Err(JsFailure::input(format!(
                "{at}: unknown field `{k}` (expected source, target, kind)"
            )));
        }
        for (c, col) in ["source", "target", "kind"].iter().enumerate() {
            if c > 0 {
                out.push(',');
            }
            let v = o.get(*col).map(|v| scalar_text(v, &at, col)).transpose()?;
            csv_field(&mut out, v.as_deref().unwrap_or(""));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Bundle errors with positions in the caller's arrays instead of the temporary files.
fn renamed(e: BundleError) -> JsFailure {
    if let BundleError::Malformed {
        file,
        line,
        field,
        value,
        reason,
    } = &e
    {
        let stem = file.split('.').next().unwrap_or(file);
        let at = match stem {
            "incident" => "incident".to_string(),
            // The CSV files have a header row.
            "metrics" | "topology" => format!("{stem}[{}]", line.saturating_sub(2)),
            _ => format!("{stem}[{}]", line.saturating_sub(1)),
        };
        return JsFailure::new(
            Family::Bundle,
            format!("bad signals: {at}: field `{field}` has invalid value {value:?}: {reason}"),
        );
    }
    JsFailure::from(faultline::Error::from(e))
}
