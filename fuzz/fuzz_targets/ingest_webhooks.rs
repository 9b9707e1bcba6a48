#![no_main]
//! Alertmanager / Grafana, Telegraf, Sentry and Kubernetes bodies: never panic; errors always
//! map onto a problem document.
use faultline_ingest::{parse_with, Context, Format, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let ctx = Context { received_at: faultline_core_time(), default_service: None };
    for format in [Format::Alertmanager, Format::Telegraf, Format::Sentry, Format::KubernetesEvents] {
        if let Err(e) = parse_with(format, data, &limits, &ctx) {
            let (title, detail, _) = e.problem();
            assert!(!title.is_empty() && !detail.is_empty());
        }
    }
});

fn faultline_core_time() -> faultline::core::Timestamp {
    faultline::core::Timestamp::from_secs(1_715_682_780)
}
