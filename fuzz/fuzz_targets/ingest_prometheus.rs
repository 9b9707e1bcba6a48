#![no_main]
//! Prometheus text exposition, and remote-write both as sent (snappy) and with the input
//! compressed first so the fuzzer reaches the protobuf decoder.
use faultline_ingest::{parse_with, Context, Format, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_records: 1000, ..Limits::default() };
    let ctx = Context { received_at: faultline::core::Timestamp::from_secs(1_715_682_780), default_service: None };
    let _ = parse_with(Format::PrometheusText, data, &limits, &ctx);
    let _ = parse_with(Format::PrometheusRemoteWrite, data, &limits, &ctx);
    if let Ok(compressed) = snap::raw::Encoder::new().compress_vec(data) {
        if let Ok(batch) = parse_with(Format::PrometheusRemoteWrite, &compressed, &limits, &ctx) {
            assert!(batch.counts().records() <= limits.max_records);
        }
    }
});
