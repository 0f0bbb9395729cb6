//! Meter validation (§2.7).

mod validate_common;

use sw_collector::validate::{validate, ActualData, MeterValue, Semantics, ValidationError};
use validate_common::*;

const METERS: &str = include_str!("data/validate/meters.yml");

fn meters() -> ActualData {
    let labels = [("endpoint", "/users"), ("method", "GET")];
    ActualData::build(
        &[],
        &[
            single("svc", "python_request_count", &labels, 3.0),
            single("svc", "python_gauge", &[], 1.0),
            histogram("svc", "python_latency", &[(0.0, 0), (1.0, 2), (5.0, 1)]),
            single("svc", "python_request_count", &labels, 5.0),
        ],
        &[],
    )
}

#[test]
fn realistic_meters_pass_in_both_semantics() {
    assert_eq!(validate(METERS, &meters(), Semantics::Legacy), Ok(()));
    assert_eq!(validate(METERS, &meters(), Semantics::Head), Ok(()));
}

#[test]
fn a_later_value_replaces_the_earlier_one() {
    let expected = METERS.replace("singleValue: 5.0", "singleValue: 3.0");
    assert_eq!(
        fails(&expected, &meters(), Semantics::Legacy),
        "meterItems[service=svc] meters[0](python_request_count) singleValue: expected '3.0' but was '5.0'"
    );
    let expected = METERS.replace("meterSize: 3", "meterSize: 4");
    assert_eq!(
        fails(&expected, &meters(), Semantics::Legacy),
        "meterItems[service=svc] meterSize: expected '4' but was '3'"
    );
}

#[test]
fn single_values_print_as_java_doubles() {
    let expected = METERS.replace("singleValue: 5.0", "singleValue: 5");
    assert_mentions(&fails(&expected, &meters(), Semantics::Legacy), &["expected '5' but was '5.0'"]);
    let expected = METERS.replace("singleValue: 5.0", "singleValue: ge 5");
    assert_eq!(check(&expected, &meters()), Ok(()));
}

#[test]
fn absent_tags_never_match_and_the_message_says_so() {
    let expected = METERS.replacen("name: python_gauge\n          tags: []", "name: python_gauge", 1);
    assert_ne!(expected, METERS);
    let message = fails(&expected, &meters(), Semantics::Legacy);
    assert_mentions(&message, &["meters[1](python_gauge)", "write 'tags: []'"]);
}

#[test]
fn labels_compare_in_order() {
    let expected = METERS.replace(
        "            - name: endpoint\n              value: /users\n            - name: method\n              value: GET\n",
        "            - name: method\n              value: GET\n            - name: endpoint\n              value: /users\n",
    );
    assert_ne!(expected, METERS);
    let message = fails(&expected, &meters(), Semantics::Legacy);
    assert_mentions(
        &message,
        &[
            "no actual meter with labels [method=GET, endpoint=/users]",
            "actual label sets for this name: [endpoint=/users, method=GET]",
        ],
    );
}

#[test]
fn an_unknown_meter_name_is_reported() {
    let expected = METERS.replace("name: python_gauge", "name: python_gauges");
    assert_mentions(
        &fails(&expected, &meters(), Semantics::Legacy),
        &["meters[1](python_gauges)", "no actual meter has this name"],
    );
}

#[test]
fn histogram_buckets_compare_as_double_text() {
    let expected = METERS.replace("          - 0.0\n", "          - 0\n");
    assert_ne!(expected, METERS);
    assert_mentions(
        &fails(&expected, &meters(), Semantics::Legacy),
        &["meters[2](python_latency) histogramBuckets[0]: expected '0' but was '0.0'"],
    );
    let fewer = METERS.replace("          - 5.0\n", "");
    assert_mentions(
        &fails(&fewer, &meters(), Semantics::Legacy),
        &["histogramBuckets: expected 2 bucket(s) but was 3 [0.0, 1.0, 5.0]"],
    );
}

#[test]
fn large_bucket_bounds_use_java_scientific_notation() {
    let actual = ActualData::build(&[], &[histogram("svc", "h", &[(1e7, 1)])], &[]);
    let expected =
        "meterItems:\n- serviceName: svc\n  meters:\n  - meterId: {name: h, tags: []}\n    histogramBuckets: [1.0E7]\n";
    assert_eq!(check(expected, &actual), Ok(()));
}

#[test]
fn a_histogram_needs_one_positive_count() {
    let actual = ActualData::build(&[], &[histogram("svc", "python_latency", &[(0.0, 0), (1.0, 0), (5.0, 0)])], &[]);
    let expected = "meterItems:\n- serviceName: svc\n  meters:\n  - meterId: {name: python_latency, tags: []}\n    histogramBuckets: [0.0, 1.0, 5.0]\n";
    assert_mentions(&fails(expected, &actual, Semantics::Legacy), &["histogramValues: every bucket count is 0"]);
}

#[test]
fn value_kind_mismatches() {
    // Histogram expected, single value recorded.
    let expected = "meterItems:\n- serviceName: svc\n  meters:\n  - meterId: {name: python_gauge, tags: []}\n    histogramBuckets: [0.0]\n";
    assert_mentions(
        &fails(expected, &meters(), Semantics::Legacy),
        &["expected a histogram but the actual meter has a single value"],
    );
    // Single value expected, histogram recorded: the actual value is null.
    let not_null = "meterItems:\n- serviceName: svc\n  meters:\n  - meterId: {name: python_latency, tags: []}\n    singleValue: not null\n";
    assert_mentions(&fails(not_null, &meters(), Semantics::Legacy), &["singleValue: expected 'not null' but was null"]);
    let gt = not_null.replace("not null", "gt 0");
    let err = validate(&gt, &meters(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::Expression { .. }), "{err:?}");
}

#[test]
fn absent_meters_only_check_the_size_and_services_must_exist() {
    assert_eq!(check("meterItems:\n- {serviceName: svc, meterSize: ge 1}\n", &meters()), Ok(()));
    let err = validate("meterItems:\n- {serviceName: other}\n", &meters(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::ServiceNotFound { section: "meterItems", .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["'other'", "actual services: svc"]);
}

#[test]
fn meter_values_are_kept_as_recorded() {
    let data = meters();
    let item = &data.meter_items[0];
    assert_eq!(item.meters.len(), 3);
    assert_eq!(item.meters[0].value, MeterValue::Single(5.0));
}
