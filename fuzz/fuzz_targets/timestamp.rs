#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = faultline::core::Timestamp::parse(s) {
            // Whatever parses must print and re-parse to the same instant.
            assert_eq!(faultline::core::Timestamp::parse(&t.to_string()), Ok(t));
        }
    }
});
