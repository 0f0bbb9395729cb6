//! Feed arbitrary bytes to every decoder that sees network or user input. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sw_core::correlation;
use sw_core::ignore::IgnoreRules;
use sw_core::sw8::{self, Incoming};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // sw8: a Valid result must survive re-encoding.
    if let Incoming::Valid(decoded) = sw8::decode_header(&text) {
        assert_eq!(sw8::decode(&sw8::encode(&decoded)), Ok(decoded));
    }
    let _ = sw8::decode(&text);

    // sw8-correlation: limits hold on whatever comes back.
    let max_elements = usize::from(data.first().copied().unwrap_or(3) % 8);
    let items = correlation::decode(&text, max_elements, 16);
    assert!(items.len() <= max_elements + 1);
    assert!(items.iter().all(|(_, v)| v.chars().count() <= 16));

    // Ignore rules: split the input into pattern, suffix list and operation name.
    let mut parts = text.splitn(3, '\u{0}');
    let (path, suffix, op) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let _ = IgnoreRules::new(path, suffix).is_ignored(op);
});
