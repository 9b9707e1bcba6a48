#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = faultline::protocol::mine_lines(data, &mut out, true, &Default::default());
    out.clear();
    let _ = faultline::protocol::detect_csv(data, &mut out, "fuzz", &Default::default());
});
