//! The HTML report: structure (hypotheses, evidence anchors, one chart per anomalous series,
//! anomaly markers at the right x), escaping of hostile input, finite SVG coordinates,
//! well-formedness (a small XML-style tag-balance parser below) and determinism.
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::{BTreeMap, BTreeSet};

use faultline::core::{IncidentReport, SeriesKey, SignalSet};
use faultline::html::{escape, to_html, to_html_with, HtmlOptions};
use faultline::{bundle, synth, Pipeline};

fn analyze(scenario: synth::Scenario) -> (IncidentReport, SignalSet) {
    let generated = synth::generate(scenario, &synth::SynthConfig::default());
    let dir = tempfile::tempdir().unwrap();
    generated.write_to(dir.path()).unwrap();
    let b = bundle::read_bundle(dir.path()).unwrap();
    let report = Pipeline::builder()
        .build()
        .unwrap()
        .analyze(&b.incident, &b.signals)
        .unwrap();
    (report, b.signals)
}

/// One element of the parsed page.
#[derive(Debug, Clone)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    parent: Option<usize>,
}

impl El {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
    fn num(&self, k: &str) -> f64 {
        self.attr(k)
            .unwrap_or_else(|| panic!("{} has no {k}", self.name))
            .parse()
            .unwrap()
    }
}

/// Parses the page as XML-compatible markup: every element closed (or self-closed) in order,
/// attributes double-quoted without `<`, text free of raw `<` and of `&` that does not start an
/// entity. `<style>` content is raw text. Panics with the offset on the first violation.
fn parse(page: &str) -> Vec<El> {
    let b = page.as_bytes();
    let mut i = 0;
    let mut els: Vec<El> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let check_text = |text: &str, at: usize| {
        let mut rest = text;
        while let Some(p) = rest.find('&') {
            let tail = &rest[p + 1..];
            let end = tail.find(';').unwrap_or_else(|| panic!("bare & at {at}"));
            let ent = &tail[..end];
            assert!(
                matches!(ent, "amp" | "lt" | "gt" | "quot")
                    || (ent.starts_with('#') && ent[1..].chars().all(|c| c.is_ascii_digit())),
                "bad entity &{ent}; near {at}"
            );
            rest = &tail[end..];
        }
    };
    while i < b.len() {
        if b[i] != b'<' {
            let next = page[i..].find('<').map_or(b.len(), |p| i + p);
            let text = &page[i..next];
            assert!(
                !text.contains('>') || stack.iter().any(|&s| els[s].name == "style"),
                "raw > at {i}"
            );
            check_text(text, i);
            i = next;
            continue;
        }
        if page[i..].starts_with("<!DOCTYPE") {
            assert_eq!(i, 0, "doctype not first");
            i += page[i..].find('>').unwrap() + 1;
            continue;
        }
        if page[i..].starts_with("<!--") {
            i += page[i..].find("-->").unwrap() + 3;
            continue;
        }
        let end = i + page[i..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag at {i}"));
        let inner = &page[i + 1..end];
        assert!(!inner.contains('<'), "< inside tag at {i}: {inner}");
        if let Some(name) = inner.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("close </{name}> with nothing open at {i}"));
            assert_eq!(els[open].name, name, "mismatched close at {i}");
            i = end + 1;
            continue;
        }
        let self_closing = inner.ends_with('/');
        let inner = inner.trim_end_matches('/');
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let name = &inner[..name_end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "bad tag name {name:?} at {i}"
        );
        let mut attrs = BTreeMap::new();
        let mut rest = inner[name_end..].trim_start();
        while !rest.is_empty() {
            let eq = rest
                .find("=\"")
                .unwrap_or_else(|| panic!("unquoted attribute at {i}: {rest}"));
            let key = rest[..eq].trim().to_owned();
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "bad attr {key} at {i}"
            );
            let vstart = eq + 2;
            let vend = vstart + rest[vstart..].find('"').unwrap();
            let value = &rest[vstart..vend];
            check_text(value, i);
            assert!(
                attrs.insert(key, unescape(value)).is_none(),
                "duplicate attribute at {i}"
            );
            rest = rest[vend + 1..].trim_start();
        }
        els.push(El {
            name: name.to_owned(),
            attrs,
            parent: stack.last().copied(),
        });
        let idx = els.len() - 1;
        i = end + 1;
        if !self_closing {
            stack.push(idx);
            if name == "style" {
                let close = i + page[i..].find("</style>").unwrap();
                assert!(!page[i..close].contains('<'), "< in style");
                i = close;
            }
        }
    }
    assert!(
        stack.is_empty(),
        "unclosed: {:?}",
        stack.iter().map(|&s| &els[s].name).collect::<Vec<_>>()
    );
    els
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn inside(els: &[El], mut i: usize, name: &str) -> Option<usize> {
    while let Some(p) = els[i].parent {
        if els[p].name == name {
            return Some(p);
        }
        i = p;
    }
    None
}

/// Every number in SVG geometry attributes (and path data) is finite.
fn assert_finite_geometry(els: &[El]) {
    for e in els {
        for k in [
            "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height",
        ] {
            if let Some(v) = e.attr(k) {
                if e.name == "svg" {
                    continue;
                }
                let f: f64 = v.parse().unwrap_or_else(|_| panic!("{k}={v:?} on {}", e.name));
                assert!(f.is_finite(), "{k}={v} on {}", e.name);
            }
        }
        if let Some(d) = e.attr("d") {
            for tok in d.split([' ', 'M', 'L']).filter(|t| !t.is_empty()) {
                let f: f64 = tok.parse().unwrap_or_else(|_| panic!("path token {tok:?}"));
                assert!(f.is_finite());
            }
        }
    }
}

fn anomalous_keys(report: &IncidentReport) -> BTreeSet<&SeriesKey> {
    report.anomalies.iter().map(|a| &a.series).collect()
}

#[test]
fn pages_show_every_hypothesis_evidence_and_chart() {
    for scenario in synth::Scenario::ALL {
        let (report, signals) = analyze(scenario);
        assert!(!report.hypotheses.is_empty(), "{scenario:?}");
        assert!(!report.anomalies.is_empty(), "{scenario:?}");
        let page = to_html(&report, Some(&signals));
        // `FAULTLINE_HTML_DUMP=DIR` keeps the pages for a look in a browser.
        if let Some(dir) = std::env::var_os("FAULTLINE_HTML_DUMP") {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{}.html", scenario.name())),
                &page,
            )
            .unwrap();
        }
        let els = parse(&page);
        assert_finite_geometry(&els);
        assert!(!els
            .iter()
            .any(|e| e.name == "script" || e.name == "img" || e.name == "link"));
        let ids: BTreeSet<&str> = els.iter().filter_map(|e| e.attr("id")).collect();

        // Every hypothesis: its card, service, statement; every evidence id: text and anchor.
        for h in &report.hypotheses {
            assert!(page.contains(&escape(&h.statement)), "statement of {}", h.rank);
            assert!(page.contains(&format!("#{} {}", h.rank, escape(h.service.as_str()))));
            if h.rank > 1 {
                assert!(page.contains(&format!("Why not {}?", escape(h.service.as_str()))));
            }
        }
        assert!(page.contains(&escape(&report.narrative)));
        for e in &report.evidence {
            assert!(
                page.contains(&format!("<code>{}</code>", escape(e.id.as_str()))),
                "{}",
                e.id
            );
        }
        let ev_cards = els
            .iter()
            .filter(|e| e.attr("class") == Some("card ev-item"))
            .count();
        assert_eq!(ev_cards, report.evidence.len());
        // Every in-page link lands on an element id.
        for e in els.iter().filter(|e| e.name == "a") {
            let href = e.attr("href").unwrap();
            let target = href.strip_prefix('#').expect("only in-page links");
            assert!(ids.contains(target), "dangling link {href}");
        }
        // Each supporting evidence of the top hypothesis is linked from its card.
        let top = &report.hypotheses[0];
        let card = els
            .iter()
            .position(|e| e.name == "article" && e.attr("class") == Some("card top"))
            .unwrap();
        let links_in_top: BTreeSet<&str> = els
            .iter()
            .enumerate()
            .filter(|(i, e)| e.name == "a" && inside(&els, *i, "article") == Some(card))
            .map(|(_, e)| e.attr("href").unwrap())
            .collect();
        assert_eq!(links_in_top.len(), top.support.len());

        // One chart per anomalous series (under the default cap), markers at the right x.
        let keys = anomalous_keys(&report);
        let svgs: Vec<usize> = (0..els.len()).filter(|&i| els[i].name == "svg").collect();
        assert_eq!(
            svgs.len(),
            keys.len().min(HtmlOptions::default().max_series_charted)
        );
        let mut circles = 0;
        for &s in &svgs {
            let svg = &els[s];
            let (t0, t1) = (svg.num("data-t0"), svg.num("data-t1"));
            let (x0, x1) = (svg.num("data-x0"), svg.num("data-x1"));
            assert!(t1 > t0 && x1 > x0);
            assert_eq!(
                els.iter()
                    .enumerate()
                    .filter(|(i, e)| e.name == "path" && inside(&els, *i, "svg") == Some(s))
                    .count(),
                1
            );
            for (i, c) in els.iter().enumerate() {
                if c.name != "circle" || inside(&els, i, "svg") != Some(s) {
                    continue;
                }
                assert_eq!(c.attr("class"), Some("anomaly"));
                let a = report
                    .anomalies
                    .iter()
                    .find(|a| a.id.as_str() == c.attr("data-anomaly").unwrap())
                    .unwrap();
                assert_eq!(c.num("data-ts") as i64, a.peak.0);
                let series = signals.series.iter().find(|x| x.key == a.series).unwrap();
                assert_eq!(series.timestamps.first().unwrap().0 as f64, t0);
                let want = x0 + (a.peak.0 as f64 - t0) / (t1 - t0) * (x1 - x0);
                assert!(
                    (c.num("cx") - want).abs() <= 0.051,
                    "cx {} want {want}",
                    c.num("cx")
                );
                circles += 1;
            }
        }
        let charted_anomalies = report
            .anomalies
            .iter()
            .filter(|a| {
                els.iter()
                    .any(|e| e.name == "circle" && e.attr("data-anomaly") == Some(a.id.as_str()))
            })
            .count();
        assert_eq!(circles, charted_anomalies);
        assert!(circles > 0);
        assert!(page.contains("<section id=\"timeline\">"));
        assert!(page.contains("onset"));
    }
}

#[test]
fn without_signals_the_page_says_so_and_lists_anomalies() {
    let (report, _) = analyze(synth::Scenario::DeployRegression);
    let page = to_html(&report, None);
    let els = parse(&page);
    assert!(!els.iter().any(|e| e.name == "svg"));
    assert!(page.contains("rendered without the incident's signals"));
    let rows = els
        .iter()
        .filter(|e| e.attr("class") == Some("anomaly-row"))
        .count();
    assert_eq!(rows, report.anomalies.len());
}

#[test]
fn options_cap_series_and_points() {
    let (report, signals) = analyze(synth::Scenario::MemoryLeak);
    let opts = HtmlOptions {
        max_series_charted: 1,
        points_per_chart: 16,
        ..Default::default()
    };
    let page = to_html_with(&report, Some(&signals), &opts);
    let els = parse(&page);
    assert_eq!(els.iter().filter(|e| e.name == "svg").count(), 1);
    if anomalous_keys(&report).len() > 1 {
        assert!(page.contains("more anomalous series not charted"));
    }
    let path = els.iter().find(|e| e.name == "path").unwrap();
    let points = path.attr("d").unwrap().matches(['M', 'L']).count();
    assert!(points <= 16, "{points} points");
}

#[test]
fn hostile_input_is_escaped_and_bad_numbers_stay_finite() {
    const EVIL: &str = "</script><img src=x onerror=alert(1)>\"'&amp;<!-- ]]>";
    let (mut report, mut signals) = analyze(synth::Scenario::DeployRegression);
    report.incident.title = EVIL.into();
    report.incident.environment = Some(EVIL.into());
    report.narrative = EVIL.into();
    for h in &mut report.hypotheses {
        h.statement = format!("{EVIL} statement");
        h.why_not = Some(EVIL.into());
        h.confidence = f64::NAN;
    }
    for e in &mut report.evidence {
        e.summary = format!("{EVIL} summary");
        e.score = f64::INFINITY;
    }
    for t in &mut report.timeline {
        t.summary = EVIL.into();
        t.kind = EVIL.into();
    }
    for t in &mut report.templates {
        t.text = EVIL.into();
    }
    let key = report.anomalies[0].series.clone();
    report.anomalies[0].observed = f64::NAN;
    report.anomalies[0].expected.value = f64::NEG_INFINITY;
    let s = signals.series.iter_mut().find(|s| s.key == key).unwrap();
    for (i, v) in s.values.iter_mut().enumerate() {
        *v = match i % 5 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::MAX,
            3 => -f64::MAX,
            _ => *v,
        };
    }
    let page = to_html(&report, Some(&signals));
    let els = parse(&page);
    assert_finite_geometry(&els);
    for bad in ["script", "img"] {
        assert!(
            !els.iter().any(|e| e.name == bad),
            "a <{bad}> element got through"
        );
    }
    assert!(!page.contains("<img") && !page.contains("</script>") && !page.contains("<!-- ]]>"));
    assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;amp;"));
    assert!(!page.contains("NaN") && !page.contains("inf\""));
    // Attributes keep hostile strings inside their quotes: the round trip gives them back.
    assert!(els
        .iter()
        .all(|e| !e.attrs.contains_key("onerror") && !e.attrs.contains_key("src")));
}

#[test]
fn output_is_deterministic() {
    let (report, signals) = analyze(synth::Scenario::MemoryLeak);
    let a = to_html(&report, Some(&signals));
    let b = to_html(&report.clone(), Some(&signals.clone()));
    assert_eq!(a, b);
}

#[test]
fn empty_report_renders() {
    let (mut report, _) = analyze(synth::Scenario::DeployRegression);
    report.hypotheses.clear();
    report.evidence.clear();
    report.anomalies.clear();
    report.timeline.clear();
    report.templates.clear();
    report.plan = None;
    let page = to_html(&report, Some(&SignalSet::default()));
    parse(&page);
    assert!(page.contains("No hypothesis"));
    assert!(page.contains("No metric anomalies"));
}
