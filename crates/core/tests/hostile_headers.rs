//! Headers come from the network: decoding must never panic, whatever arrives, and what we
//! encode must decode back to the same values.

use proptest::prelude::*;
use sw_core::correlation;
use sw_core::ignore::IgnoreRules;
use sw_core::sw8::{self, Incoming, Sw8, Sw8Error, MAX_HEADER_LEN, NOOP_SW8};

/// Arbitrary bytes read the way a lenient HTTP layer would hand them over.
fn lossy_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..700).prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Text drawn from the header's own alphabet, so the decoder gets past its first checks.
fn near_valid_sw8() -> impl Strategy<Value = String> {
    "[01]?(-[A-Za-z0-9+/=]{0,12}){0,9}[ \t]?"
}

/// Any field value: dashes, colons, commas, unicode and the empty string included.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[-:,= a-zA-Zé日]{0,20}", Just(String::new()), Just("-".to_string()),]
}

fn sw8_value() -> impl Strategy<Value = Sw8> {
    (any::<bool>(), (field(), field(), 0..=i32::MAX), (field(), field(), field(), field())).prop_map(
        |(sampled, (trace, segment, span), (svc, inst, ep, peer))| Sw8 {
            sampled,
            trace_id: trace,
            parent_segment_id: segment,
            parent_span_id: span,
            parent_service: svc,
            parent_service_instance: inst,
            parent_endpoint: ep,
            address_used_at_client: peer,
        },
    )
}

fn first_empty_field(v: &Sw8) -> Option<usize> {
    [
        (1, &v.trace_id),
        (2, &v.parent_segment_id),
        (4, &v.parent_service),
        (5, &v.parent_service_instance),
        (6, &v.parent_endpoint),
        (7, &v.address_used_at_client),
    ]
    .into_iter()
    .find(|(_, s)| s.is_empty())
    .map(|(i, _)| i)
}

/// Checks that hold for every classification `decode_header` can return.
fn check_header_outcome(value: &str) -> Result<(), TestCaseError> {
    match sw8::decode_header(value) {
        Incoming::Absent => prop_assert!(value.trim().is_empty()),
        Incoming::Suppressed => prop_assert_eq!(value.trim(), NOOP_SW8),
        Incoming::Valid(decoded) => {
            // A valid header survives re-encoding unchanged.
            prop_assert_eq!(sw8::decode(&sw8::encode(&decoded)), Ok(decoded.clone()));
            prop_assert_eq!(sw8::decode(value), Ok(decoded));
        }
        Incoming::Malformed(err) => {
            // Oversized values are rejected before trimming, even if they are all blank.
            prop_assert!(!value.trim().is_empty() || value.len() > MAX_HEADER_LEN);
            prop_assert!(!err.to_string().is_empty());
            prop_assert_eq!(sw8::decode(value), Err(err));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sw8_decode_never_panics_on_any_string(value in any::<String>()) {
        let _ = sw8::decode(&value);
        check_header_outcome(&value)?;
    }

    #[test]
    fn sw8_decode_never_panics_on_lossy_bytes(value in lossy_text()) {
        let _ = sw8::decode(&value);
        check_header_outcome(&value)?;
    }

    #[test]
    fn sw8_decode_never_panics_on_near_valid_input(value in near_valid_sw8()) {
        check_header_outcome(&value)?;
    }

    #[test]
    fn sw8_mutated_headers_never_panic(v in sw8_value(), at in any::<usize>(), with in any::<char>()) {
        let mut chars: Vec<char> = sw8::encode(&v).chars().collect();
        let i = at % chars.len();
        chars[i] = with;
        let mutated: String = chars.into_iter().collect();
        check_header_outcome(&mutated)?;
    }

    #[test]
    fn sw8_round_trips(v in sw8_value()) {
        let encoded = sw8::encode(&v);
        let flag = if v.sampled { "1-" } else { "0-" };
        prop_assert!(encoded.starts_with(flag));
        prop_assert_eq!(encoded.split('-').count(), 8);
        let decoded = sw8::decode(&encoded);
        if encoded.len() > MAX_HEADER_LEN {
            prop_assert_eq!(decoded, Err(Sw8Error::TooLong { len: encoded.len() }));
        } else if let Some(index) = first_empty_field(&v) {
            prop_assert_eq!(decoded, Err(Sw8Error::EmptyField { index }));
            prop_assert!(matches!(sw8::decode_header(&encoded), Incoming::Malformed(_)));
        } else {
            prop_assert_eq!(decoded, Ok(v.clone()));
            prop_assert_eq!(sw8::decode_header(&encoded), Incoming::Valid(v));
        }
    }

    #[test]
    fn correlation_decode_never_panics(
        value in prop_oneof![any::<String>(), lossy_text(), "([A-Za-z0-9+/=]{0,8}[:,]?){0,12}"],
        max_elements in 0usize..6,
        max_len in 0usize..20,
    ) {
        let items = correlation::decode(&value, max_elements, max_len);
        prop_assert!(items.len() <= max_elements + 1);
        for (i, (key, val)) in items.iter().enumerate() {
            prop_assert!(val.chars().count() <= max_len);
            prop_assert!(key.chars().count() <= max_len);
            let unique = items[..i].iter().all(|(k, _)| k != key);
            prop_assert!(unique);
        }
    }

    #[test]
    fn correlation_round_trips(
        raw in proptest::collection::vec((field(), field()), 0..6),
    ) {
        // Dict semantics: keep the first occurrence of each key.
        let mut items: Vec<(String, String)> = Vec::new();
        for (k, v) in raw {
            if !items.iter().any(|(seen, _)| *seen == k) {
                items.push((k, v));
            }
        }
        // Keys are held to the value length limit too.
        let longest = items.iter().map(|(k, v)| k.chars().count().max(v.chars().count())).max().unwrap_or(0);
        let header = correlation::encode(&items);
        prop_assert_eq!(header.is_empty(), items.is_empty());
        prop_assert_eq!(correlation::decode(&header, items.len(), longest), items.clone());
        // With a max of n, n + 1 entries come back (upstream's off-by-one).
        if !items.is_empty() {
            let max = items.len() - 1;
            prop_assert_eq!(correlation::decode(&header, max, longest), items.clone());
        }
        if items.len() >= 2 {
            let max = items.len() - 2;
            prop_assert_eq!(correlation::decode(&header, max, longest), items[..max + 1].to_vec());
        }
    }

    #[test]
    fn ignore_rules_never_panic(
        path in prop_oneof![any::<String>(), "[/*?a ,.\n]{0,16}"],
        suffix in prop_oneof![any::<String>(), "[.a-z ,]{0,12}"],
        ops in proptest::collection::vec(prop_oneof![any::<String>(), "[/a.\n]{0,16}"], 1..8),
    ) {
        let rules = IgnoreRules::new(&path, &suffix);
        for op in ops {
            let _ = rules.is_ignored(&op);
        }
    }
}
