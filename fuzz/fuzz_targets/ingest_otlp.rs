#![no_main]
//! OTLP logs, metrics and traces in both encodings: never panic, never allocate past the
//! record limit.
use faultline_ingest::{parse_with, Context, Encoding, Format, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_records: 1000, ..Limits::default() };
    let ctx = Context { received_at: faultline::core::Timestamp::from_secs(1_715_682_780), default_service: None };
    for enc in [Encoding::Json, Encoding::Protobuf] {
        for format in [Format::OtlpLogs(enc), Format::OtlpMetrics(enc), Format::OtlpTraces(enc)] {
            if let Ok(batch) = parse_with(format, data, &limits, &ctx) {
                assert!(batch.counts().records() <= limits.max_records);
            }
        }
    }
});
