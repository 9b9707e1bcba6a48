#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let svc = faultline::core::ServiceId::new("fuzz");
    let records = faultline::cluster::parse_text_log(&text, &svc, "fuzz.log", faultline::core::Timestamp(0));
    // Joining never invents content: every record's body comes from the input.
    assert!(records.len() <= text.lines().count().max(1));
});
