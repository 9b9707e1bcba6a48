//! Rendering a report as one self-contained HTML page (issue #12): the incident header,
//! ranked hypotheses with their evidence and "why not" for the runners-up, the timeline, and an
//! inline SVG line chart per anomalous series with the anomalies marked.
//!
//! The page needs nothing from the network and no JavaScript: CSS is inline, charts are inline
//! SVG, tooltips are SVG `<title>` elements, collapsible parts are `<details>`. A
//! `Content-Security-Policy` meta tag forbids scripts and remote loads, as defence in depth on
//! top of escaping.
//!
//! Guarantees:
//! - every string that comes from the report or the signals goes through [`escape`] (all
//!   attributes are double-quoted, so one function serves text and attribute contexts);
//! - the markup is XHTML-compatible (void elements self-closed, every element closed), so an
//!   XML parser or a tag-balance check accepts it;
//! - SVG coordinates are always finite numbers inside the plot area: NaN and infinite values
//!   become gaps in the line, markers are clamped to the plot;
//! - the output is a pure function of its inputs (no clock, no randomness, ordered maps).
//!
//! Charts are downsampled per bucket to the minimum and maximum value (the "min/max" or M4-lite
//! reduction; Jugel et al., 2014, "M4: a visualization-oriented time series data aggregation"),
//! which keeps spikes visible however many points a series has.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use faultline_core::{
    Anomaly, AnomalyKind, Evidence, EvidenceId, EvidenceRef, IncidentReport, Series, SeriesKey, SignalSet,
    TemplateSignalKind, Timestamp,
};

/// Options of [`to_html_with`]. Out-of-range values are clamped when rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HtmlOptions {
    /// Most anomalous series charted, strongest anomaly first (clamped to 0..=200; the rest
    /// are listed by name).
    pub max_series_charted: usize,
    /// Points drawn per chart after min/max downsampling (clamped to 16..=20000).
    pub points_per_chart: usize,
    /// Timeline entries shown (clamped to 10..=100000; a note says how many were left out).
    pub max_timeline_entries: usize,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        Self {
            max_series_charted: 12,
            points_per_chart: 600,
            max_timeline_entries: 500,
        }
    }
}

/// Chart geometry, in SVG user units. Exposed on each `<svg>` as `data-x0`/`data-x1` (plot
/// left/right) and `data-t0`/`data-t1` (the series' first/last timestamp, ns) so that a reader
/// can map an x coordinate back to a time.
const CHART_W: f64 = 760.0;
const CHART_H: f64 = 230.0;
const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT: f64 = CHART_W - 16.0;
const PLOT_TOP: f64 = 14.0;
const PLOT_BOTTOM: f64 = CHART_H - 34.0;

/// Escapes `s` for HTML text and double- or single-quoted attribute values: `&`, `<`, `>`,
/// `"` and `'` become entities; control characters other than tab, newline and carriage
/// return (invalid in XML, useless in a report) become U+FFFD.
///
/// ```
/// use faultline::html::escape;
/// assert_eq!(escape(r#"<img src=x onerror="a('1')">&"#),
///            "&lt;img src=x onerror=&quot;a(&#39;1&#39;)&quot;&gt;&amp;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A fragment identifier for `prefix` + `id` made of `[A-Za-z0-9_.-]` only: other bytes become
/// `_xx` (hex), and `_` itself becomes `_5f`, so the mapping is injective and needs no further
/// escaping in `id="…"` or `href="#…"`.
fn anchor(prefix: &str, id: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + id.len());
    out.push_str(prefix);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
            out.push(b as char);
        } else {
            let _ = write!(out, "_{b:02x}");
        }
    }
    out
}

/// The report as a self-contained HTML page with default [`HtmlOptions`]. Pass the incident's
/// signals to chart the anomalous series; without them the page says so and lists the
/// anomalies instead.
///
/// ```
/// use faultline::{bundle, html, synth, Pipeline};
///
/// let generated = synth::generate(synth::Scenario::DeployRegression, &synth::SynthConfig::default());
/// let dir = std::env::temp_dir().join(format!("faultline-html-doc-{}", std::process::id()));
/// generated.write_to(&dir)?;
/// let b = bundle::read_bundle(&dir)?;
/// let report = Pipeline::builder().build()?.analyze(&b.incident, &b.signals)?;
///
/// let page = html::to_html(&report, Some(&b.signals));
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("<svg"));
/// assert!(!page.contains("<script"));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_html(report: &IncidentReport, signals: Option<&SignalSet>) -> String {
    to_html_with(report, signals, &HtmlOptions::default())
}

/// [`to_html`] with explicit options.
pub fn to_html_with(report: &IncidentReport, signals: Option<&SignalSet>, opts: &HtmlOptions) -> String {
    let mut page = Page {
        out: String::with_capacity(64 * 1024),
        report,
        signals,
        max_series: opts.max_series_charted.min(200),
        points: opts.points_per_chart.clamp(16, 20_000),
        max_timeline: opts.max_timeline_entries.clamp(10, 100_000),
    };
    page.render();
    page.out
}

struct Page<'a> {
    out: String,
    report: &'a IncidentReport,
    signals: Option<&'a SignalSet>,
    max_series: usize,
    points: usize,
    max_timeline: usize,
}

const CSS: &str = "\
:root{--fg:#1d2330;--muted:#5b6474;--line:#d9dde5;--bg:#fff;--soft:#f5f7fa;--accent:#2458c6;--bad:#d0342c;--ok:#2f8a4c;--warn:#b8860b}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--soft)}
main{max-width:1040px;margin:0 auto;padding:24px 20px 48px}
header.top{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:18px 22px;margin-bottom:18px}
h1{font-size:24px;margin:0 0 6px}
h2{font-size:19px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:0 0 6px}
.meta{color:var(--muted);font-size:13px;margin:0}
.meta b{color:var(--fg);font-weight:600}
.summary{margin:12px 0 0}
nav.toc{font-size:13px;margin-top:10px}
nav.toc a{margin-right:14px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
code,pre{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.card{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 12px}
.card.top{border-left:5px solid var(--bad)}
.conf{display:flex;align-items:center;gap:8px;font-size:13px;color:var(--muted);margin:2px 0 8px}
.bar{display:inline-block;width:160px;height:8px;background:var(--line);border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%;background:var(--accent)}
.card.top .bar span{background:var(--bad)}
ul.ev{margin:4px 0 8px;padding-left:20px}
ul.ev li{margin:2px 0}
.why{background:var(--soft);border-radius:4px;padding:6px 10px;margin:6px 0 0}
.badge{display:inline-block;font-size:11px;font-weight:600;letter-spacing:.02em;padding:1px 6px;border-radius:3px;background:#e6eaf2;color:#334;white-space:nowrap}
.k-change{background:#fde8c8;color:#7a4a00}
.k-alert{background:#f9d6d4;color:#8a1f17}
.k-anomaly,.k-metric_anomaly,.k-metric_shift{background:#dbe6fb;color:#173f8a}
.k-new_template,.k-log_spike,.k-new_log_template,.k-errors{background:#e7dcf7;color:#4b2386}
.k-onset{background:#1d2330;color:#fff}
.k-healthy{background:#d8f0df;color:#1e5c33}
table{width:100%;border-collapse:collapse;background:var(--bg);border:1px solid var(--line);font-size:13.5px}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{background:var(--soft);font-weight:600}
td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.onset td{background:#fff4f3}
figure{margin:0 0 14px;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
figcaption{font-size:13.5px;margin-bottom:4px}
figcaption small{color:var(--muted)}
svg.chart{width:100%;height:auto;display:block}
svg.chart .grid{stroke:#e6e9ef;stroke-width:1}
svg.chart .axis{stroke:#9aa3b2;stroke-width:1}
svg.chart text{font:11px system-ui,sans-serif;fill:#5b6474}
svg.chart .series{fill:none;stroke:var(--accent);stroke-width:1.4;stroke-linejoin:round}
svg.chart .span{fill:var(--bad);fill-opacity:.13}
svg.chart .anomaly{fill:var(--bad);stroke:#fff;stroke-width:1.2}
svg.chart .onset{stroke:var(--fg);stroke-width:1;stroke-dasharray:4 3}
.note{background:#fff8e1;border:1px solid #f0dc9c;border-radius:6px;padding:8px 12px;font-size:14px}
.ev-item{scroll-margin-top:12px}
.ev-item:target{outline:2px solid var(--accent)}
.muted{color:var(--muted)}
footer{color:var(--muted);font-size:12px;margin-top:32px}
@media print{body{background:#fff}.card,figure,header.top{break-inside:avoid}}
";

impl Page<'_> {
    fn w(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn render(&mut self) {
        let r = self.report;
        let inc = &r.incident;
        let title = if inc.title.is_empty() {
            format!("Incident {}", inc.id)
        } else {
            format!("Incident {}: {}", inc.id, inc.title)
        };
        self.w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        self.w(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\"/>\n",
        );
        self.w("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
        self.w("<meta name=\"generator\" content=\"faultline\"/>\n");
        let _ = writeln!(self.out, "<title>{}</title>", escape(&title));
        self.w("<style>\n");
        self.w(CSS);
        self.w("</style>\n</head>\n<body>\n<main>\n");
        self.header(&title);
        self.hypotheses();
        self.timeline();
        self.charts();
        self.evidence();
        self.templates();
        self.blast_and_plan();
        self.footer();
        self.w("</main>\n</body>\n</html>\n");
    }

    fn header(&mut self, title: &str) {
        let r = self.report;
        let inc = &r.incident;
        self.w("<header class=\"top\">\n");
        let _ = writeln!(self.out, "<h1>{}</h1>", escape(title));
        let _ = write!(
            self.out,
            "<p class=\"meta\">Onset <b>{}</b> · window <b>{}</b> – <b>{}</b>",
            inc.onset, inc.window.start, inc.window.end
        );
        if let Some(env) = &inc.environment {
            let _ = write!(self.out, " · environment <b>{}</b>", escape(env));
        }
        if let Some(sev) = &inc.severity {
            let _ = write!(self.out, " · severity <b>{}</b>", escape(sev));
        }
        let status = serde_json::to_value(inc.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = write!(self.out, " · status <b>{}</b>", escape(&status));
        if !inc.services.is_empty() {
            let names: Vec<&str> = inc.services.iter().map(|s| s.as_str()).collect();
            let _ = write!(self.out, " · services <b>{}</b>", escape(&names.join(", ")));
        }
        self.w("</p>\n");
        if !r.narrative.is_empty() {
            let _ = writeln!(self.out, "<p class=\"summary\">{}</p>", escape(&r.narrative));
        } else if let Some(top) = r.hypotheses.first() {
            let _ = writeln!(
                self.out,
                "<p class=\"summary\">Most likely: <b>{}</b> — {}.</p>",
                escape(top.service.as_str()),
                escape(&crate::render::cause_text(&top.cause, false))
            );
        }
        let _ = writeln!(
            self.out,
            "<p class=\"meta\">{} hypotheses · {} evidence items · {} anomalies · {} log templates · \
             {} alert groups</p>",
            r.hypotheses.len(),
            r.evidence.len(),
            r.anomalies.len(),
            r.templates.len(),
            r.alert_groups.len()
        );
        self.w(
            "<nav class=\"toc\"><a href=\"#hypotheses\">Hypotheses</a><a href=\"#timeline\">Timeline</a>\
             <a href=\"#series\">Anomalous series</a><a href=\"#evidence\">Evidence</a>\
             <a href=\"#templates\">Log templates</a><a href=\"#blast\">Blast radius &amp; plan</a></nav>\n",
        );
        self.w("</header>\n");
    }

    /// A titled list of the cited evidence items (ids missing from the report are named).
    fn evidence_list<'a>(
        &mut self,
        r: &IncidentReport,
        title: &str,
        ids: impl Iterator<Item = &'a EvidenceId>,
    ) {
        let _ = writeln!(self.out, "<div><b>{title}</b></div>\n<ul class=\"ev\">");
        for id in ids {
            match r.evidence(id) {
                Some(e) => self.evidence_link(e),
                None => {
                    let _ = writeln!(
                        self.out,
                        "<li class=\"muted\"><code>{}</code> (not in the report)</li>",
                        escape(id.as_str())
                    );
                }
            }
        }
        self.w("</ul>\n");
    }

    fn evidence_link(&mut self, e: &Evidence) {
        let kind = kind_name(e);
        let _ = writeln!(
            self.out,
            "<li><span class=\"badge k-{}\">{}</span> <a href=\"#{}\">{}</a> <span class=\"muted\">(score {}, \
             <code>{}</code>)</span></li>",
            css_class(&kind),
            escape(&kind),
            anchor("ev-", e.id.as_str()),
            escape(&e.summary),
            fmt_fixed(e.score, 2),
            escape(e.id.as_str())
        );
    }

    fn hypotheses(&mut self) {
        let r = self.report;
        self.w("<section id=\"hypotheses\">\n<h2>Hypotheses</h2>\n");
        if r.hypotheses.is_empty() {
            self.w(
                "<p class=\"note\">No hypothesis: nothing was anomalous enough to rank a root cause.</p>\n",
            );
        }
        let top_service = r.hypotheses.first().map(|h| h.service.as_str().to_owned());
        for (i, h) in r.hypotheses.iter().enumerate() {
            let pct = if h.confidence.is_finite() {
                (h.confidence.clamp(0.0, 1.0) * 100.0).round()
            } else {
                0.0
            };
            let _ = writeln!(
                self.out,
                "<article class=\"card{}\" id=\"{}\">",
                if i == 0 { " top" } else { "" },
                anchor("hyp-", h.id.as_str())
            );
            let _ = writeln!(
                self.out,
                "<h3>#{} {} <span class=\"badge k-{}\">{}</span> <span class=\"muted\">— {}</span></h3>",
                h.rank,
                escape(h.service.as_str()),
                css_class(h.cause.kind_name()),
                h.cause.kind_name(),
                escape(&crate::render::cause_text(&h.cause, false))
            );
            let _ = writeln!(
                self.out,
                "<div class=\"conf\"><span class=\"bar\"><span style=\"width:{pct:.0}%\"></span></span>\
                 confidence {pct:.0}%</div>"
            );
            let _ = writeln!(self.out, "<p>{}</p>", escape(&h.statement));
            self.evidence_list(r, "Supporting evidence", h.support.iter());
            if !h.counter.is_empty() {
                self.evidence_list(r, "Against", h.counter.iter());
            }
            if i > 0 {
                let why = h.why_not.clone().unwrap_or_else(|| {
                    format!(
                        "ranked below {} with lower confidence",
                        top_service.as_deref().unwrap_or("the top hypothesis")
                    )
                });
                let _ = writeln!(
                    self.out,
                    "<p class=\"why\"><b>Why not {}?</b> {}</p>",
                    escape(h.service.as_str()),
                    escape(&why)
                );
            }
            self.w("</article>\n");
        }
        self.w("</section>\n");
    }

    fn timeline(&mut self) {
        let r = self.report;
        struct Row {
            ts: Timestamp,
            kind: String,
            service: String,
            summary: String,
        }
        let mut rows: Vec<Row> = r
            .timeline
            .iter()
            .map(|t| Row {
                ts: t.ts,
                kind: t.kind.clone(),
                service: t
                    .service
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                summary: t.summary.clone(),
            })
            .collect();
        // Log template rate spikes are not part of the report's timeline; add them here.
        for s in &r.template_signals {
            if let TemplateSignalKind::RateShift {
                baseline_per_min,
                current_per_min,
            } = &s.kind
            {
                if !r.incident.window.contains(s.start) {
                    continue;
                }
                let text = r
                    .templates
                    .iter()
                    .find(|t| t.id == s.template)
                    .map(|t| format!(": {}", t.text))
                    .unwrap_or_default();
                rows.push(Row {
                    ts: s.start,
                    kind: "log_spike".into(),
                    service: s.service.as_str().to_owned(),
                    summary: format!(
                        "log template {} rate {} → {} per min ({} records){}",
                        s.template,
                        fmt_num(*baseline_per_min),
                        fmt_num(*current_per_min),
                        s.count,
                        text
                    ),
                });
            }
        }
        rows.sort_by(|a, b| {
            (a.ts, &a.kind, &a.service, &a.summary).cmp(&(b.ts, &b.kind, &b.service, &b.summary))
        });
        self.w("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
        if rows.is_empty() {
            self.w("<p class=\"muted\">No timeline entries.</p>\n</section>\n");
            return;
        }
        self.w(
            "<table>\n<thead><tr><th>time (UTC)</th><th>vs onset</th><th>kind</th><th>service</th>\
             <th>what</th></tr></thead>\n<tbody>\n",
        );
        let onset = r.incident.onset;
        let total = rows.len();
        for row in rows.iter().take(self.max_timeline) {
            let _ = writeln!(
                self.out,
                "<tr{}><td class=\"t\">{}</td><td class=\"t\">{}</td><td><span class=\"badge k-{}\">{}</span></td>\
                 <td>{}</td><td>{}</td></tr>",
                if row.kind == "onset" { " class=\"onset\"" } else { "" },
                row.ts,
                rel_time(row.ts, onset),
                css_class(&row.kind),
                escape(&row.kind),
                escape(&row.service),
                escape(&row.summary)
            );
        }
        self.w("</tbody>\n</table>\n");
        if total > self.max_timeline {
            let _ = writeln!(
                self.out,
                "<p class=\"muted\">{} more entries not shown.</p>",
                total - self.max_timeline
            );
        }
        self.w("</section>\n");
    }

    fn charts(&mut self) {
        let all = anomalous_series(self.report);
        self.w("<section id=\"series\">\n<h2>Anomalous series</h2>\n");
        if all.is_empty() {
            self.w("<p class=\"muted\">No metric anomalies in the window.</p>\n</section>\n");
            return;
        }
        let Some(signals) = self.signals else {
            self.w(
                "<p class=\"note\">Charts are not available: this page was rendered without the \
                 incident's signals. The anomalies are listed below.</p>\n",
            );
            self.anomaly_table(&all);
            self.w("</section>\n");
            return;
        };
        let charted = all.len().min(self.max_series);
        for (n, (key, anomalies)) in all.iter().take(charted).enumerate() {
            let series = signals.series.iter().find(|s| &s.key == *key);
            let _ = writeln!(
                self.out,
                "<figure id=\"{}\">",
                anchor("series-", &key.to_string())
            );
            let _ = writeln!(
                self.out,
                "<figcaption><b>{}</b> <small>{} anomal{} · strongest score {}</small></figcaption>",
                escape(&key.to_string()),
                anomalies.len(),
                if anomalies.len() == 1 { "y" } else { "ies" },
                fmt_fixed(
                    anomalies
                        .iter()
                        .map(|a| if a.score.is_finite() { a.score } else { 0.0 })
                        .fold(0.0, f64::max),
                    2
                )
            );
            match series {
                Some(s) => self.chart(n, s, anomalies),
                None => self.w("<p class=\"note\">This series is not in the given signals.</p>\n"),
            }
            self.w("</figure>\n");
        }
        if all.len() > charted {
            let rest: Vec<String> = all.iter().skip(charted).map(|(k, _)| k.to_string()).collect();
            let _ = writeln!(
                self.out,
                "<p class=\"muted\">{} more anomalous series not charted: {}</p>",
                rest.len(),
                escape(&rest.join(", "))
            );
        }
        self.w("</section>\n");
    }

    fn anomaly_table(&mut self, all: &[(&SeriesKey, Vec<&Anomaly>)]) {
        self.w(
            "<table>\n<thead><tr><th>series</th><th>kind</th><th>start</th><th>peak</th><th>observed</th>\
             <th>expected</th><th>score</th></tr></thead>\n<tbody>\n",
        );
        for (key, anomalies) in all {
            for a in anomalies {
                let _ = writeln!(
                    self.out,
                    "<tr class=\"anomaly-row\"><td>{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{} [{}, {}]</td><td class=\"num\">{}</td></tr>",
                    escape(&key.to_string()),
                    escape(anomaly_kind(&a.kind)),
                    a.start,
                    a.peak,
                    fmt_num(a.observed),
                    fmt_num(a.expected.value),
                    fmt_num(a.expected.lower),
                    fmt_num(a.expected.upper),
                    fmt_fixed(a.score, 2)
                );
            }
        }
        self.w("</tbody>\n</table>\n");
    }

    fn chart(&mut self, n: usize, s: &Series, anomalies: &[&Anomaly]) {
        let len = s.timestamps.len().min(s.values.len());
        let (Some(t0), Some(t1)) = (
            s.timestamps[..len].iter().min().copied(),
            s.timestamps[..len].iter().max().copied(),
        ) else {
            self.w("<p class=\"note\">This series has no points.</p>\n");
            return;
        };
        let t1 = if t1 <= t0 {
            Timestamp(t0.0.saturating_add(1_000_000_000))
        } else {
            t1
        };
        let pts = downsample(&s.timestamps[..len], &s.values[..len], self.points);
        // Value range over drawn points and the anomalies' observed values.
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for v in pts
            .iter()
            .flatten()
            .map(|p| p.1)
            .chain(anomalies.iter().map(|a| a.observed))
            .filter(|v| v.is_finite())
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let (ylo, yhi, ystep) = nice_range(lo, hi);
        let span_ns = (t1.0 as f64) - (t0.0 as f64);
        let xw = PLOT_RIGHT - PLOT_LEFT;
        let yh = PLOT_BOTTOM - PLOT_TOP;
        let x_of = |t: Timestamp| -> f64 {
            let f = ((t.0 as f64) - (t0.0 as f64)) / span_ns;
            finite_or(PLOT_LEFT + f.clamp(0.0, 1.0) * xw, PLOT_LEFT)
        };
        let y_of = |v: f64| -> f64 {
            let f = (v - ylo) / (yhi - ylo);
            let f = if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) };
            finite_or(PLOT_BOTTOM - f * yh, PLOT_BOTTOM)
        };
        let label = escape(&s.key.to_string());
        let _ = writeln!(
            self.out,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {CHART_W} {CHART_H}\" \
             role=\"img\" aria-labelledby=\"chart-{n}-t\" data-x0=\"{PLOT_LEFT}\" data-x1=\"{PLOT_RIGHT}\" \
             data-t0=\"{}\" data-t1=\"{}\">",
            t0.0, t1.0
        );
        let _ = writeln!(self.out, "<title id=\"chart-{n}-t\">{label}</title>");
        // Horizontal grid and value labels.
        let mut k = 0usize;
        loop {
            let v = ylo + ystep * k as f64;
            if v.is_nan() || v > yhi + ystep * 1e-9 || k > 20 {
                break;
            }
            let y = y_of(v);
            let _ = writeln!(
                self.out,
                "<line class=\"grid\" x1=\"{PLOT_LEFT}\" y1=\"{y:.1}\" x2=\"{PLOT_RIGHT}\" y2=\"{y:.1}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                PLOT_LEFT - 6.0,
                y + 3.5,
                escape(&fmt_tick(v, ystep))
            );
            k += 1;
        }
        // Time ticks.
        let step_ns = time_step_ns(t1.0 as i128 - t0.0 as i128);
        let first = (t0.0 as i128).div_euclid(step_ns) * step_ns
            + if (t0.0 as i128).rem_euclid(step_ns) == 0 {
                0
            } else {
                step_ns
            };
        let mut t = first;
        let mut guard = 0;
        while t <= t1.0 as i128 && guard < 24 {
            let ts = Timestamp(t as i64);
            let x = x_of(ts);
            let _ = writeln!(
                self.out,
                "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{PLOT_BOTTOM}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                PLOT_BOTTOM + 4.0,
                PLOT_BOTTOM + 16.0,
                time_label(ts, step_ns)
            );
            t += step_ns;
            guard += 1;
        }
        let _ = writeln!(
            self.out,
            "<line class=\"axis\" x1=\"{PLOT_LEFT}\" y1=\"{PLOT_BOTTOM}\" x2=\"{PLOT_RIGHT}\" y2=\"{PLOT_BOTTOM}\"/>\
             <line class=\"axis\" x1=\"{PLOT_LEFT}\" y1=\"{PLOT_TOP}\" x2=\"{PLOT_LEFT}\" y2=\"{PLOT_BOTTOM}\"/>"
        );
        let _ = writeln!(
            self.out,
            "<text x=\"{PLOT_LEFT}\" y=\"{:.1}\">{} – {} UTC</text>",
            CHART_H - 3.0,
            t0,
            t1
        );
        // Anomaly intervals under the line.
        for a in anomalies {
            let (xa, xb) = (x_of(a.start.min(a.end)), x_of(a.end.max(a.start)));
            let width = (xb - xa).max(2.0);
            let xa = xa.min(PLOT_RIGHT - width);
            let _ = writeln!(
                self.out,
                "<rect class=\"span\" x=\"{xa:.1}\" y=\"{PLOT_TOP}\" width=\"{width:.1}\" height=\"{yh:.1}\">\
                 <title>{}</title></rect>",
                escape(&anomaly_title(a))
            );
        }
        // Onset.
        let onset = self.report.incident.onset;
        if onset >= t0 && onset <= t1 {
            let x = x_of(onset);
            let _ = writeln!(
                self.out,
                "<line class=\"onset\" x1=\"{x:.1}\" y1=\"{PLOT_TOP}\" x2=\"{x:.1}\" y2=\"{PLOT_BOTTOM}\">\
                 <title>incident onset {onset}</title></line><text x=\"{:.1}\" y=\"{:.1}\">onset</text>",
                x + 3.0,
                PLOT_TOP + 9.0
            );
        }
        // The series.
        let mut d = String::with_capacity(pts.len() * 14);
        let mut pen_down = false;
        for p in &pts {
            match p {
                Some((t, v)) => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1}",
                        if pen_down { " L" } else { " M" },
                        x_of(*t),
                        y_of(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !d.is_empty() {
            let _ = writeln!(self.out, "<path class=\"series\" d=\"{}\"/>", d.trim_start());
        }
        // Anomaly peaks on top.
        for a in anomalies {
            let cx = x_of(a.peak);
            let cy = if a.observed.is_finite() {
                y_of(a.observed)
            } else {
                PLOT_TOP
            };
            let _ = writeln!(
                self.out,
                "<circle class=\"anomaly\" data-anomaly=\"{}\" data-ts=\"{}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"4.5\">\
                 <title>{}</title></circle>",
                escape(a.id.as_str()),
                a.peak.0,
                escape(&anomaly_title(a))
            );
        }
        self.w("</svg>\n");
    }

    fn evidence(&mut self) {
        let r = self.report;
        self.w("<section id=\"evidence\">\n<h2>Evidence</h2>\n");
        if r.evidence.is_empty() {
            self.w("<p class=\"muted\">No evidence items.</p>\n");
        }
        let charted: Vec<&SeriesKey> = if self.signals.is_some() {
            anomalous_series(r)
                .into_iter()
                .take(self.max_series)
                .map(|(k, _)| k)
                .collect()
        } else {
            Vec::new()
        };
        for e in &r.evidence {
            let kind = kind_name(e);
            let _ = writeln!(
                self.out,
                "<div class=\"card ev-item\" id=\"{}\">",
                anchor("ev-", e.id.as_str())
            );
            let _ = writeln!(
                self.out,
                "<div><span class=\"badge k-{}\">{}</span> <b>{}</b> · score {} · <code>{}</code></div>",
                css_class(&kind),
                escape(&kind),
                escape(e.service.as_str()),
                fmt_fixed(e.score, 2),
                escape(e.id.as_str())
            );
            let _ = writeln!(self.out, "<p>{}</p>", escape(&e.summary));
            self.reference(&e.reference, &charted);
            let cited: Vec<_> = r
                .hypotheses
                .iter()
                .filter(|h| h.support.iter().any(|x| x == &e.id) || h.counter.contains(&e.id))
                .collect();
            if !cited.is_empty() {
                self.w("<div class=\"muted\">Cited by ");
                for (i, h) in cited.iter().enumerate() {
                    let _ = write!(
                        self.out,
                        "{}<a href=\"#{}\">#{} {}</a>",
                        if i > 0 { ", " } else { "" },
                        anchor("hyp-", h.id.as_str()),
                        h.rank,
                        escape(h.service.as_str())
                    );
                }
                self.w("</div>\n");
            }
            self.w("</div>\n");
        }
        self.w("</section>\n");
    }

    fn reference(&mut self, r: &EvidenceRef, charted: &[&SeriesKey]) {
        match r {
            EvidenceRef::Series {
                key,
                start,
                end,
                anomaly,
            } => {
                let _ = write!(
                    self.out,
                    "<div class=\"muted\">Series <code>{}</code> from {} to {}",
                    escape(&key.to_string()),
                    start,
                    end
                );
                if let Some(a) = anomaly {
                    let _ = write!(self.out, " · anomaly <code>{}</code>", escape(a.as_str()));
                }
                if charted.contains(&key) {
                    let _ = write!(
                        self.out,
                        " · <a href=\"#{}\">chart</a>",
                        anchor("series-", &key.to_string())
                    );
                }
                self.w("</div>\n");
            }
            EvidenceRef::Template { template, exemplars } => {
                let _ = write!(
                    self.out,
                    "<div class=\"muted\">Log template <code>{}</code>",
                    escape(template.as_str())
                );
                if let Some(t) = self.report.templates.iter().find(|t| &t.id == template) {
                    let _ = write!(self.out, ": <code>{}</code>", escape(&t.text));
                }
                self.w("</div>\n");
                if !exemplars.is_empty() {
                    let _ = writeln!(
                        self.out,
                        "<details><summary>{} exemplar line{}</summary><pre>{}</pre></details>",
                        exemplars.len(),
                        if exemplars.len() == 1 { "" } else { "s" },
                        escape(&exemplars.join("\n"))
                    );
                }
            }
            EvidenceRef::Change {
                ts,
                kind,
                version,
                source,
            } => {
                let _ = write!(self.out, "<div class=\"muted\">Change {} at {}", escape(kind), ts);
                if let Some(v) = version {
                    let _ = write!(self.out, " · version <code>{}</code>", escape(v));
                }
                if let Some(s) = source {
                    let _ = write!(self.out, " · source {}:{}", escape(&s.file), s.line);
                }
                self.w("</div>\n");
            }
            EvidenceRef::Spans { span_ids } => {
                let _ = writeln!(
                    self.out,
                    "<div class=\"muted\">{} span{}: <code>{}</code></div>",
                    span_ids.len(),
                    if span_ids.len() == 1 { "" } else { "s" },
                    escape(&first_n(span_ids, 8))
                );
            }
            EvidenceRef::Alerts { fingerprints } => {
                let _ = writeln!(
                    self.out,
                    "<div class=\"muted\">{} alert{}: <code>{}</code></div>",
                    fingerprints.len(),
                    if fingerprints.len() == 1 { "" } else { "s" },
                    escape(&first_n(fingerprints, 8))
                );
            }
            EvidenceRef::Edge { source, target } => {
                let _ = writeln!(
                    self.out,
                    "<div class=\"muted\">Topology edge {} → {}</div>",
                    escape(source.as_str()),
                    escape(target.as_str())
                );
            }
        }
    }

    fn templates(&mut self) {
        let r = self.report;
        self.w("<section id=\"templates\">\n<h2>Log templates</h2>\n");
        if r.templates.is_empty() {
            self.w("<p class=\"muted\">No notable log templates.</p>\n</section>\n");
            return;
        }
        self.w(
            "<table>\n<thead><tr><th>template</th><th>services</th><th>signal</th><th>count</th><th>errors</th>\
             </tr></thead>\n<tbody>\n",
        );
        for t in &r.templates {
            let sig: Vec<String> = r
                .template_signals
                .iter()
                .filter(|s| s.template == t.id)
                .map(|s| match &s.kind {
                    TemplateSignalKind::New => {
                        format!("new in {} (score {})", s.service, fmt_fixed(s.score, 2))
                    }
                    TemplateSignalKind::RateShift {
                        baseline_per_min,
                        current_per_min,
                    } => format!(
                        "{} → {}/min in {}",
                        fmt_num(*baseline_per_min),
                        fmt_num(*current_per_min),
                        s.service
                    ),
                })
                .collect();
            let services: Vec<&str> = t.services.iter().map(|s| s.as_str()).collect();
            let _ = writeln!(
                self.out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&t.text),
                escape(&services.join(", ")),
                escape(&sig.join("; ")),
                t.count,
                t.error_count()
            );
        }
        self.w("</tbody>\n</table>\n</section>\n");
    }

    fn blast_and_plan(&mut self) {
        let r = self.report;
        self.w("<section id=\"blast\">\n<h2>Blast radius &amp; plan</h2>\n");
        if r.blast_radius.services.is_empty() {
            self.w("<p class=\"muted\">No affected services identified.</p>\n");
        } else {
            let names: Vec<&str> = r.blast_radius.services.iter().map(|s| s.as_str()).collect();
            let _ = writeln!(
                self.out,
                "<p>Affected services: <b>{}</b></p>",
                escape(&names.join(", "))
            );
        }
        if !r.blast_radius.slos.is_empty() {
            let _ = writeln!(
                self.out,
                "<p>SLOs at risk: {}</p>",
                escape(&r.blast_radius.slos.join(", "))
            );
        }
        match &r.plan {
            None => self.w("<p class=\"muted\">No fix plan in this report.</p>\n"),
            Some(p) => {
                let state = serde_json::to_value(p.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{:?}", p.state));
                let _ = writeln!(
                    self.out,
                    "<div class=\"card\"><h3>Fix plan for {} in {}</h3><p class=\"meta\">risk {} · state {}</p>\
                     <p>{}</p><ol>",
                    escape(p.service.as_str()),
                    escape(&p.environment),
                    fmt_fixed(p.risk, 2),
                    escape(&state),
                    escape(&p.rationale)
                );
                for st in &p.steps {
                    let _ = writeln!(
                        self.out,
                        "<li><b>{}</b> on <code>{}</code><pre>{}</pre><div class=\"muted\">dry run: <code>{}</code> · \
                         rollback: <code>{}</code></div></li>",
                        escape(&st.action),
                        escape(&st.target),
                        escape(&st.script),
                        escape(&st.dry_run),
                        escape(&st.rollback)
                    );
                }
                self.w("</ol></div>\n");
            }
        }
        self.w("</section>\n");
    }

    fn footer(&mut self) {
        let r = self.report;
        let timings: Vec<String> = r
            .timings
            .iter()
            .map(|(k, v)| format!("{k} {} ms", fmt_fixed(*v, 1)))
            .collect();
        let _ = writeln!(
            self.out,
            "<footer>Generated by faultline · report version {}{}</footer>",
            r.version,
            if timings.is_empty() {
                String::new()
            } else {
                escape(&format!(" · {}", timings.join(", ")))
            }
        );
    }
}

/// Anomalous series, strongest anomaly first (ties by key).
fn anomalous_series(report: &IncidentReport) -> Vec<(&SeriesKey, Vec<&Anomaly>)> {
    let mut by_key: BTreeMap<&SeriesKey, Vec<&Anomaly>> = BTreeMap::new();
    for a in &report.anomalies {
        by_key.entry(&a.series).or_default().push(a);
    }
    let mut out: Vec<(&SeriesKey, Vec<&Anomaly>)> = by_key
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
            (k, v)
        })
        .collect();
    let best = |v: &[&Anomaly]| {
        v.iter()
            .map(|a| if a.score.is_finite() { a.score } else { 0.0 })
            .fold(0.0f64, f64::max)
    };
    out.sort_by(|a, b| best(&b.1).total_cmp(&best(&a.1)).then_with(|| a.0.cmp(b.0)));
    out
}

fn kind_name(e: &Evidence) -> String {
    serde_json::to_value(e.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn anomaly_kind(k: &AnomalyKind) -> &'static str {
    match k {
        AnomalyKind::Point => "point",
        AnomalyKind::LevelShift => "level shift",
        AnomalyKind::Trend => "trend",
        AnomalyKind::Variance => "variance",
        AnomalyKind::Predictive { .. } => "predictive",
    }
}

fn anomaly_title(a: &Anomaly) -> String {
    let mut s = format!(
        "{} anomaly {}: observed {} at {}, expected {} [{}, {}], score {}, {:?}, {}–{}, detector {}",
        anomaly_kind(&a.kind),
        a.id,
        fmt_num(a.observed),
        a.peak,
        fmt_num(a.expected.value),
        fmt_num(a.expected.lower),
        fmt_num(a.expected.upper),
        fmt_fixed(a.score, 2),
        a.severity,
        a.start,
        a.end,
        a.detector
    );
    if let AnomalyKind::Predictive { eta, threshold } = &a.kind {
        let _ = write!(s, ", crosses {} at {eta}", fmt_num(*threshold));
    }
    s
}

/// A CSS class suffix from a kind name: known-safe characters only.
fn css_class(kind: &str) -> String {
    kind.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

fn first_n(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        let _ = write!(s, ", … ({} more)", items.len() - n);
    }
    s
}

fn finite_or(v: f64, fallback: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        fallback
    }
}

/// `v` with `d` decimals, or `n/a` when not finite.
fn fmt_fixed(v: f64, d: usize) -> String {
    if v.is_finite() {
        format!("{v:.d$}")
    } else {
        "n/a".into()
    }
}

/// A compact human number: `1.2M`, `34.5k`, `812`, `3.14`, `0.042`.
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    let s = if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim_zeros(format!("{v:.2}"))
    } else if a == 0.0 {
        "0".into()
    } else {
        trim_zeros(format!("{v:.4}"))
    };
    s
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// An axis label for tick value `v` with spacing `step`.
fn fmt_tick(v: f64, step: f64) -> String {
    let a = v.abs().max(step.abs());
    if a >= 1e6 {
        return fmt_num(v);
    }
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()).clamp(0.0, 9.0) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.starts_with("-") && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_owned() // "-0.0" → "0.0"
    } else {
        s
    }
}

/// A "nice" value domain `[lo, hi]` with tick spacing `step` (1, 2 or 5 × 10^k, about 4 ticks)
/// covering `[min, max]`; a fixed `[0, 1]` when nothing is finite.
fn nice_range(min: f64, max: f64) -> (f64, f64, f64) {
    if !(min.is_finite() && max.is_finite()) || min > max {
        return (0.0, 1.0, 0.25);
    }
    let (mut min, mut max) = (min, max);
    if max - min <= f64::EPSILON * max.abs().max(1.0) {
        let pad = (min.abs() * 0.1).max(1.0);
        min -= pad;
        max += pad;
    }
    let range = max - min;
    if !range.is_finite() {
        return (min, max, f64::INFINITY);
    }
    let raw = range / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm <= 1.0 {
        mag
    } else if norm <= 2.0 {
        2.0 * mag
    } else if norm <= 5.0 {
        5.0 * mag
    } else {
        10.0 * mag
    };
    let lo = (min / step).floor() * step;
    let hi = (max / step).ceil() * step;
    if lo.is_finite() && hi.is_finite() && hi > lo && step > 0.0 {
        (lo, hi, step)
    } else {
        (min, max, f64::INFINITY)
    }
}

/// Tick spacing in ns for a time span: the smallest usual step giving at most 7 ticks.
fn time_step_ns(span_ns: i128) -> i128 {
    const SECS: [i128; 20] = [
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1800,
        3600,
        7200,
        10800,
        21600,
        43200,
        86400,
        7 * 86400,
        30 * 86400,
    ];
    for s in SECS {
        let ns = s * 1_000_000_000;
        if span_ns / ns <= 7 {
            return ns;
        }
    }
    let day = 86_400i128 * 1_000_000_000;
    ((span_ns / day) / 7 + 1) * day
}

fn time_label(t: Timestamp, step_ns: i128) -> String {
    let full = t.to_string();
    let range = if step_ns >= 86_400 * 1_000_000_000 {
        0..10
    } else if step_ns < 60 * 1_000_000_000 {
        11..19
    } else {
        11..16
    };
    full.get(range).unwrap_or(&full).to_owned()
}

/// `t` relative to the onset: `T+2m05s`, `T-45s`, `T+0s`.
fn rel_time(t: Timestamp, onset: Timestamp) -> String {
    let d = (t.0 as i128) - (onset.0 as i128);
    let sign = if d < 0 { '-' } else { '+' };
    let secs = (d.abs() / 1_000_000_000) as u128;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("T{sign}{h}h{m:02}m")
    } else if m > 0 {
        format!("T{sign}{m}m{s:02}s")
    } else {
        format!("T{sign}{s}s")
    }
}

/// Points to draw, in order; `None` is a gap (a run of non-finite values). With more than
/// `target` points, each of `target / 2` buckets keeps its minimum and maximum (in time order).
fn downsample(ts: &[Timestamp], vs: &[f64], target: usize) -> Vec<Option<(Timestamp, f64)>> {
    let n = ts.len().min(vs.len());
    let mut out = Vec::with_capacity(n.min(target + 8));
    let push = |out: &mut Vec<Option<(Timestamp, f64)>>, p: Option<(Timestamp, f64)>| {
        if p.is_some() || matches!(out.last(), Some(Some(_))) {
            out.push(p);
        }
    };
    if n <= target {
        for i in 0..n {
            push(&mut out, vs[i].is_finite().then(|| (ts[i], vs[i])));
        }
        return out;
    }
    let buckets = (target / 2).max(1);
    for b in 0..buckets {
        let (a, z) = (b * n / buckets, (b + 1) * n / buckets);
        let mut lo: Option<usize> = None;
        let mut hi: Option<usize> = None;
        for i in a..z {
            if !vs[i].is_finite() {
                continue;
            }
            if lo.is_none_or(|j| vs[i] < vs[j]) {
                lo = Some(i);
            }
            if hi.is_none_or(|j| vs[i] > vs[j]) {
                hi = Some(i);
            }
        }
        match (lo, hi) {
            (Some(l), Some(h)) => {
                let (first, second) = if l <= h { (l, h) } else { (h, l) };
                push(&mut out, Some((ts[first], vs[first])));
                if second != first {
                    push(&mut out, Some((ts[second], vs[second])));
                }
            }
            _ => push(&mut out, None),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        let s = escape("</script><img src=x onerror=alert(1)>\"'&amp;");
        assert_eq!(
            s,
            "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;amp;"
        );
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('"') && !s.contains('\''));
        assert_eq!(escape("a\u{0}b\u{7}c\td\n"), "a\u{FFFD}b\u{FFFD}c\td\n");
        assert_eq!(escape("ünïcødé ✓"), "ünïcødé ✓");
    }

    #[test]
    fn anchors_are_safe_and_injective() {
        let a = anchor("ev-", "a b\"<_");
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)));
        assert_ne!(anchor("ev-", "a_20"), anchor("ev-", "a "));
        assert_eq!(anchor("ev-", "ev-3f2a"), "ev-ev-3f2a");
    }

    #[test]
    fn downsampling_keeps_extremes_and_marks_gaps() {
        let n = 10_000;
        let ts: Vec<Timestamp> = (0..n).map(|i| Timestamp::from_secs(i as i64)).collect();
        let mut vs: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        vs[4321] = 1e6;
        vs[100] = f64::NAN;
        let pts = downsample(&ts, &vs, 100);
        assert!(pts.len() <= 100);
        assert!(pts.iter().flatten().any(|p| p.1 == 1e6));
        assert!(pts.iter().flatten().all(|p| p.1.is_finite()));
        let all_nan = vec![f64::NAN; 50];
        assert!(downsample(&ts[..50], &all_nan, 16).is_empty());
        let mut gap = vec![1.0; 10];
        gap[4] = f64::INFINITY;
        let pts = downsample(&ts[..10], &gap, 100);
        assert_eq!(pts.len(), 10);
        assert_eq!(pts[4], None);
    }

    #[test]
    fn nice_ranges_cover_input_and_stay_finite() {
        for (lo, hi) in [
            (0.0, 1.0),
            (3.0, 3.0),
            (-5.0, 1234.5),
            (1e300, f64::MAX),
            (f64::NAN, 1.0),
            (f64::NEG_INFINITY, f64::INFINITY),
            (0.001, 0.0013),
        ] {
            let (a, b, step) = nice_range(lo, hi);
            assert!(a.is_finite() && b.is_finite() && b > a, "{lo} {hi} -> {a} {b}");
            assert!(step > 0.0);
            if lo.is_finite() && hi.is_finite() {
                assert!(a <= lo && b >= hi);
            }
        }
    }

    #[test]
    fn relative_times_and_number_formats() {
        let on = Timestamp::from_secs(1000);
        assert_eq!(rel_time(Timestamp::from_secs(1125), on), "T+2m05s");
        assert_eq!(rel_time(Timestamp::from_secs(955), on), "T-45s");
        assert_eq!(rel_time(on, on), "T+0s");
        assert_eq!(fmt_num(f64::NAN), "n/a");
        assert_eq!(fmt_num(1234567.0), "1.23M");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_tick(-0.0, 0.5), "0.0");
        assert_eq!(time_step_ns(3600 * 1_000_000_000), 600 * 1_000_000_000);
    }
}
