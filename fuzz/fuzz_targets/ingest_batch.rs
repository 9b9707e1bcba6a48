#![no_main]
//! faultline's JSON batch and deploy/change events: never panic; whatever parses respects the
//! record limit.
use faultline_ingest::{parse_with, Context, Format, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_records: 1000, ..Limits::default() };
    let ctx = Context { received_at: faultline::core::Timestamp::from_secs(1_715_682_780), default_service: None };
    for format in [Format::Batch, Format::ChangeEvents] {
        if let Ok(batch) = parse_with(format, data, &limits, &ctx) {
            assert!(batch.counts().records() <= limits.max_records);
        }
    }
});
