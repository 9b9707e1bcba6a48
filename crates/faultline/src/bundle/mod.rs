//! Reading incident bundles (DESIGN.md §6; spec in `docs/bundle-format.md`).
//!
//! A bundle is a directory: `incident.json` (required) plus any of `metrics.csv`,
//! `logs.jsonl`, `logs/<service>.log`, `events.jsonl`, `traces.jsonl`, `alerts.jsonl`,
//! `topology.csv`; each may be stored gzip-compressed as `NAME.gz`. Timestamps may be RFC 3339,
//! epoch seconds or epoch milliseconds. Every malformed value is reported as
//! [`BundleError::Malformed`] naming file, line, field and value; unknown CSV columns become
//! labels and unknown JSON fields become attributes.
//!
//! ```no_run
//! let bundle = faultline::bundle::read_bundle("examples/incidents/checkout-deploy").unwrap();
//! println!("{} series, {} log records", bundle.signals.series.len(), bundle.signals.logs.len());
//! ```

mod error;
mod files;
mod raw;
mod records;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use faultline_core::ports::SignalSource;
use faultline_core::{
    Incident, IncidentId, IncidentStatus, Labels, Series, SeriesKey, ServiceId, SignalSet, TimeWindow,
    Timestamp, Topology,
};
use serde_json::Value;

pub use error::BundleError;
use files::BundleFile;
use records::{Line, Services};

/// A bundle read into memory.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The directory it was read from.
    pub path: PathBuf,
    /// The incident (from `incident.json`; the window defaults to the data's time range).
    pub incident: Incident,
    /// All signals.
    pub signals: SignalSet,
}

/// Reads a bundle directory.
pub fn read_bundle(dir: impl AsRef<Path>) -> Result<Bundle, BundleError> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(BundleError::NotADirectory { path: dir.to_owned() });
    }
    let _span = tracing::info_span!("read_bundle", path = %dir.display()).entered();
    let inc_file = BundleFile::find(dir, "incident.json")
        .ok_or_else(|| BundleError::MissingIncident { path: dir.to_owned() })?;
    let mut incident = read_incident(&inc_file, dir)?;

    let mut signals = SignalSet::default();
    if let Some(f) = BundleFile::find(dir, "metrics.csv") {
        signals.series = read_metrics(&f)?;
    }
    if let Some(f) = BundleFile::find(dir, "topology.csv") {
        signals.topology = read_topology(&f)?;
    }
    let mut services = Services::default();
    if let Some(f) = BundleFile::find(dir, "logs.jsonl") {
        f.for_each_line(|n, text| {
            let line = Line::parse(&records::LOG, &f.name, n, text)?;
            signals.logs.push(records::log_record(line, &mut services)?);
            Ok(())
        })?;
    }
    read_raw_logs(dir, incident.window.start, &mut signals)?;
    if !signals.logs.is_sorted_by_key(|l| l.ts) {
        signals.logs.sort_by_key(|l| l.ts);
    }
    if let Some(f) = BundleFile::find(dir, "events.jsonl") {
        f.for_each_line(|n, text| {
            let line = Line::parse(&records::EVENT, &f.name, n, text)?;
            signals.events.push(records::change_event(line, &mut services)?);
            Ok(())
        })?;
        signals.events.sort_by_key(|e| e.ts);
    }
    if let Some(f) = BundleFile::find(dir, "traces.jsonl") {
        f.for_each_line(|n, text| {
            let line = Line::parse(&records::SPAN, &f.name, n, text)?;
            signals.spans.push(records::span(line, &mut services)?);
            Ok(())
        })?;
    }
    if let Some(f) = BundleFile::find(dir, "alerts.jsonl") {
        f.for_each_line(|n, text| {
            let line = Line::parse(&records::ALERT, &f.name, n, text)?;
            signals.alerts.push(records::alert(line)?);
            Ok(())
        })?;
    }
    if incident.window.start == Timestamp::MIN {
        incident.window = data_range(&signals, incident.onset);
    }
    tracing::debug!(
        series = signals.series.len(),
        logs = signals.logs.len(),
        events = signals.events.len(),
        spans = signals.spans.len(),
        alerts = signals.alerts.len(),
        "bundle read"
    );
    Ok(Bundle {
        path: dir.to_owned(),
        incident,
        signals,
    })
}

/// The time range covered by the data (and the onset); one hour around the onset when there
/// is no data.
fn data_range(s: &SignalSet, onset: Timestamp) -> TimeWindow {
    let times = s
        .series
        .iter()
        .flat_map(|x| x.timestamps.first().into_iter().chain(x.timestamps.last()))
        .copied()
        .chain(s.logs.iter().map(|l| l.ts))
        .chain(s.events.iter().map(|e| e.ts))
        .chain(s.spans.iter().map(|x| x.start))
        .chain(std::iter::once(onset));
    let (mut lo, mut hi) = (onset, onset);
    for t in times {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if lo == hi {
        let h = faultline_core::DurationNs::from_secs(3600);
        return TimeWindow {
            start: onset.sub(h),
            end: onset.add(h),
        };
    }
    TimeWindow { start: lo, end: hi }
}

fn read_incident(f: &BundleFile, dir: &Path) -> Result<Incident, BundleError> {
    let text = f.read_text()?;
    let mut obj = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => {
            return Err(BundleError::malformed(
                &f.name,
                1,
                "<file>",
                &text,
                "expected a JSON object",
            ))
        }
        Err(e) => {
            return Err(BundleError::malformed(
                &f.name,
                e.line() as u64,
                "<file>",
                &text,
                format!("invalid JSON: {e}"),
            ))
        }
    };
    let field_err = |field: &str, v: &Value, reason: String| {
        let text = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        BundleError::malformed(&f.name, 1, field, &text, reason)
    };
    let id = match obj.remove("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Some(v) => return Err(field_err("id", &v, "expected a non-empty string".into())),
    };
    let onset = match obj.remove("onset") {
        Some(v) => records::json_timestamp(&v).map_err(|r| field_err("onset", &v, r))?,
        None => {
            return Err(BundleError::malformed(
                &f.name,
                1,
                "onset",
                "",
                "required field is missing",
            ))
        }
    };
    let window = match obj.remove("window") {
        None | Some(Value::Null) => TimeWindow {
            start: Timestamp::MIN,
            end: Timestamp::MAX,
        },
        Some(Value::Object(mut w)) => {
            let mut get = |k: &str| -> Result<Timestamp, BundleError> {
                let field = format!("window.{k}");
                let v = w.remove(k).ok_or_else(|| {
                    BundleError::malformed(&f.name, 1, &field, "", "required field is missing")
                })?;
                records::json_timestamp(&v).map_err(|r| field_err(&field, &v, r))
            };
            let (start, end) = (get("start")?, get("end")?);
            if end < start {
                return Err(BundleError::malformed(
                    &f.name,
                    1,
                    "window.end",
                    &end.to_string(),
                    format!("window ends before it starts ({start})"),
                ));
            }
            TimeWindow { start, end }
        }
        Some(v) => {
            return Err(field_err(
                "window",
                &v,
                "expected an object with start and end".into(),
            ))
        }
    };
    let text_field =
        |obj: &mut serde_json::Map<String, Value>, k: &str| -> Result<Option<String>, BundleError> {
            match obj.remove(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(v) => Err(field_err(k, &v, "expected a string".into())),
            }
        };
    let title = text_field(&mut obj, "title")?.unwrap_or_default();
    let environment = text_field(&mut obj, "environment")?;
    let severity = text_field(&mut obj, "severity")?;
    let services = match obj.remove("services") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(ServiceId::new)
                    .ok_or_else(|| field_err("services", v, "expected strings".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(field_err(
                "services",
                &v,
                "expected an array of service names".into(),
            ))
        }
    };
    Ok(Incident {
        id: IncidentId(id),
        title,
        onset,
        window,
        environment,
        services,
        severity,
        status: IncidentStatus::Open,
    })
}

fn csv_error(file: &str, e: &csv::Error) -> BundleError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => BundleError::malformed(
            file,
            line,
            "<row>",
            &format!("{len} fields"),
            format!("expected {expected_len} fields like the header"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => {
            BundleError::malformed(file, line, "<row>", "", format!("not valid UTF-8 ({err})"))
        }
        _ => BundleError::malformed(file, line, "<row>", "", e.to_string()),
    }
}

/// Positions of required columns, and the remaining (position, name) pairs (labels).
type Columns<const N: usize> = ([usize; N], Vec<(usize, String)>);

/// Positions of required columns by name, and the remaining ones (labels).
fn header_columns<const N: usize>(
    file: &str,
    header: &csv::StringRecord,
    required: [&str; N],
    optional: &[&str],
) -> Result<Columns<N>, BundleError> {
    let mut pos = [usize::MAX; N];
    let mut extra = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        if let Some(r) = required.iter().position(|r| r.eq_ignore_ascii_case(name)) {
            pos[r] = i;
        } else if !optional.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            extra.push((i, name.to_owned()));
        }
    }
    for (r, p) in required.iter().zip(pos) {
        if p == usize::MAX {
            let got: Vec<&str> = header.iter().collect();
            return Err(BundleError::malformed(
                file,
                1,
                r,
                &got.join(","),
                format!("header lacks column `{r}`"),
            ));
        }
    }
    Ok((pos, extra))
}

/// Reads the next CSV row into `rec`; its 1-based line number, or `None` at the end.
fn next_row<R: std::io::Read>(
    rdr: &mut csv::Reader<R>,
    rec: &mut csv::StringRecord,
    file: &str,
) -> Result<Option<u64>, BundleError> {
    match rdr.read_record(rec) {
        Ok(true) => Ok(Some(rec.position().map_or(0, |p| p.line()))),
        Ok(false) => Ok(None),
        Err(e) => Err(csv_error(file, &e)),
    }
}

fn read_metrics(f: &BundleFile) -> Result<Vec<Series>, BundleError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(f.reader()?);
    let header = rdr.headers().map_err(|e| csv_error(&f.name, &e))?.clone();
    let ([c_ts, c_svc, c_metric, c_value], labels) =
        header_columns(&f.name, &header, ["timestamp", "service", "metric", "value"], &[])?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut series: Vec<Series> = Vec::new();
    let mut key = String::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = next_row(&mut rdr, &mut rec, &f.name)? {
        let field = |i: usize| rec.get(i).unwrap_or("");
        let ts_text = field(c_ts);
        let ts = Timestamp::parse(ts_text)
            .map_err(|e| BundleError::malformed(&f.name, line, "timestamp", ts_text, e.to_string()))?;
        let svc = field(c_svc).trim();
        if svc.is_empty() {
            return Err(BundleError::malformed(
                &f.name,
                line,
                "service",
                svc,
                "must not be empty",
            ));
        }
        let metric = field(c_metric).trim();
        if metric.is_empty() {
            return Err(BundleError::malformed(
                &f.name,
                line,
                "metric",
                metric,
                "must not be empty",
            ));
        }
        let v_text = field(c_value).trim();
        let value = match v_text {
            "" | "nan" | "NaN" | "NA" | "null" | "None" => f64::NAN,
            t => match t.parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                Ok(_) => {
                    return Err(BundleError::malformed(
                        &f.name,
                        line,
                        "value",
                        t,
                        "must be finite",
                    ))
                }
                Err(_) => return Err(BundleError::malformed(&f.name, line, "value", t, "not a number")),
            },
        };
        key.clear();
        for part in [svc, metric]
            .into_iter()
            .chain(labels.iter().map(|(i, _)| field(*i)))
        {
            key.push_str(part);
            key.push('\u{1f}');
        }
        let idx = match index.get(key.as_str()) {
            Some(&i) => i,
            None => {
                let mut l = Labels::new();
                for (i, name) in &labels {
                    let v = field(*i);
                    if !v.is_empty() {
                        l.insert(name, v);
                    }
                }
                let sk = SeriesKey {
                    service: ServiceId::new(svc),
                    metric: metric.to_owned(),
                    labels: l,
                };
                series.push(Series {
                    key: sk,
                    timestamps: Vec::new(),
                    values: Vec::new(),
                });
                index.insert(key.clone(), series.len() - 1);
                series.len() - 1
            }
        };
        series[idx].timestamps.push(ts);
        series[idx].values.push(value);
    }
    for s in &mut series {
        s.sort_by_time();
    }
    series.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(series)
}

fn read_topology(f: &BundleFile) -> Result<Topology, BundleError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(f.reader()?);
    let header = rdr.headers().map_err(|e| csv_error(&f.name, &e))?.clone();
    let ([c_src, c_dst], _) = header_columns(&f.name, &header, ["source", "target"], &["kind"])?;
    let c_kind = header.iter().position(|h| h.trim().eq_ignore_ascii_case("kind"));
    let mut t = Topology::default();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = next_row(&mut rdr, &mut rec, &f.name)? {
        let src = rec.get(c_src).unwrap_or("").trim();
        let dst = rec.get(c_dst).unwrap_or("").trim();
        if src.is_empty() {
            return Err(BundleError::malformed(
                &f.name,
                line,
                "source",
                src,
                "must not be empty",
            ));
        }
        if dst.is_empty() {
            return Err(BundleError::malformed(
                &f.name,
                line,
                "target",
                dst,
                "must not be empty",
            ));
        }
        let kind = c_kind
            .and_then(|c| rec.get(c))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        t.add_edge(src, dst, kind);
    }
    Ok(t)
}

fn read_raw_logs(dir: &Path, default_ts: Timestamp, signals: &mut SignalSet) -> Result<(), BundleError> {
    let logs_dir = dir.join("logs");
    if !logs_dir.is_dir() {
        return Ok(());
    }
    let entries = std::fs::read_dir(&logs_dir).map_err(|source| BundleError::Io {
        path: logs_dir.clone(),
        source,
    })?;
    let mut names: Vec<String> = Vec::new();
    for e in entries {
        let e = e.map_err(|source| BundleError::Io {
            path: logs_dir.clone(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".log") || name.ends_with(".log.gz") {
            names.push(name.trim_end_matches(".gz").to_owned());
        }
    }
    names.sort();
    names.dedup();
    for name in names {
        let Some(f) = BundleFile::find(&logs_dir, &name) else {
            continue;
        };
        let service = ServiceId::new(name.trim_end_matches(".log"));
        let rel = format!("logs/{}", f.name);
        let text = f.read_text()?;
        let start = if default_ts == Timestamp::MIN {
            Timestamp(0)
        } else {
            default_ts
        };
        signals
            .logs
            .extend(faultline_cluster::parse_text_log(&text, &service, &rel, start));
    }
    Ok(())
}

/// A [`SignalSource`] over a bundle directory (read once, then sliced per window).
#[derive(Debug, Clone)]
pub struct BundleSource {
    signals: SignalSet,
}

impl BundleSource {
    /// Reads the bundle at `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<(Self, Incident), BundleError> {
        let b = read_bundle(dir)?;
        Ok((Self { signals: b.signals }, b.incident))
    }
}

#[async_trait]
impl SignalSource for BundleSource {
    async fn signals(&self, window: TimeWindow) -> faultline_core::Result<SignalSet> {
        faultline_core::ports::StaticSource(self.signals.clone())
            .signals(window)
            .await
    }
}
