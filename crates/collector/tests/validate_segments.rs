//! Segment matching rules of the reference validator (§2.6).

mod validate_common;

use sw_collector::validate::{validate, ActualData, Semantics, ValidationError};
use sw_proto::v3::{SpanLayer, SpanType};
use validate_common::*;

const SCENARIO: &str = include_str!("data/validate/scenario.yml");
const SCENARIO_REFERENCE: &str = include_str!("data/validate/scenario_reference.yml");

#[test]
fn python_style_expectation_passes_in_both_semantics() {
    let actual = scenario();
    assert_eq!(validate(SCENARIO, &actual, Semantics::Legacy), Ok(()));
    assert_eq!(validate(SCENARIO, &actual, Semantics::Head), Ok(()));
}

#[test]
fn a_wrong_operation_name_names_service_segment_span_and_values() {
    let expected = SCENARIO.replacen("value: http://provider:9091/users", "value: http://provider:9091/user", 1);
    let message = fails(&expected, &scenario(), Semantics::Legacy);
    assert_mentions(
        &message,
        &[
            "segmentItems[service=provider] segment 0: no actual segment matched",
            "closest candidate failed at span[0].tags[1](http.url)",
            "expected 'http://provider:9091/user' but was 'http://provider:9091/users'",
            "actual segment 0 (provider-seg-1)",
        ],
    );
}

#[test]
fn service_lookup_is_exact_and_lists_what_arrived() {
    let expected = "segmentItems:\n- serviceName: Provider\n  segmentSize: 1\n";
    let err = validate(expected, &scenario(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::ServiceNotFound { section: "segmentItems", .. }));
    assert_mentions(&err.to_string(), &["'Provider'", "consumer, provider"]);
}

#[test]
fn services_not_mentioned_are_ignored() {
    let expected = "segmentItems:\n- serviceName: provider\n  segmentSize: 1\n";
    assert_eq!(check(expected, &scenario()), Ok(()));
}

#[test]
fn segment_size_is_an_expression_over_every_recorded_segment() {
    let actual = ActualData::build(&[provider_segment(), provider_segment()], &[], &[]);
    assert_eq!(check("segmentItems:\n- {serviceName: provider, segmentSize: 2}\n", &actual), Ok(()));
    assert_eq!(check("segmentItems:\n- {serviceName: provider, segmentSize: gt 1}\n", &actual), Ok(()));
    assert_eq!(check("segmentItems:\n- {serviceName: provider, segmentSize: ge 2}\n", &actual), Ok(()));
    let message = fails("segmentItems:\n- {serviceName: provider, segmentSize: 1}\n", &actual, Semantics::Legacy);
    assert_eq!(message, "segmentItems[service=provider] segmentSize: expected '1' but was '2'");
}

#[test]
fn absent_segments_only_checks_the_size() {
    let expected = "segmentItems:\n- serviceName: consumer\n  segmentSize: 1\n";
    assert_eq!(check(expected, &scenario()), Ok(()));
}

#[test]
fn absent_spans_match_any_segment_and_segment_id_is_never_compared() {
    let expected = "segmentItems:\n- serviceName: consumer\n  segments:\n  - segmentId: not-the-real-id\n";
    assert_eq!(check(expected, &scenario()), Ok(()));
}

#[test]
fn expecting_more_segments_than_arrived_fails_because_each_is_consumed_once() {
    let expected = "segmentItems:\n- serviceName: provider\n  segments:\n  - segmentId: a\n  - segmentId: b\n";
    let message = fails(expected, &scenario(), Semantics::Legacy);
    assert_mentions(&message, &["segment 1: no actual segment matched", "already matched by expected segment 0"]);
}

/// Two single-span segments for `svc`: `/a` arrives first, then `/b`.
fn two_segments() -> ActualData {
    let a = segment("svc", "seg-a", vec![span(0, -1, "/a", SpanType::Entry, SpanLayer::Http, 7001)]);
    let b = segment("svc", "seg-b", vec![span(0, -1, "/b", SpanType::Entry, SpanLayer::Http, 7001)]);
    ActualData::build(&[a, b], &[], &[])
}

#[test]
fn greedy_matching_lets_a_loose_expectation_consume_a_later_ones_segment() {
    // An assignment exists (loose -> /b, strict -> /a), but first fit without
    // backtracking gives /a to the loose expectation.
    let expected = r"
segmentItems:
- serviceName: svc
  segments:
  - spans:
    - operationName: not null
  - spans:
    - operationName: /a
";
    let message = fails(expected, &two_segments(), Semantics::Legacy);
    assert_mentions(
        &message,
        &[
            "segmentItems[service=svc] segment 1: no actual segment matched",
            "closest candidate failed at span[0].operationName: expected '/a' but was '/b'",
            "actual segment 0 (seg-a): already matched by expected segment 0",
            "actual segment 1 (seg-b): span[0].operationName",
        ],
    );
    // Listing the strict expectation first succeeds.
    let reordered = r"
segmentItems:
- serviceName: svc
  segments:
  - spans:
    - operationName: /a
  - spans:
    - operationName: not null
";
    assert_eq!(check(reordered, &two_segments()), Ok(()));
}

#[test]
fn segments_with_another_span_count_are_skipped() {
    // consumer has 2 spans; a 1-span expectation can only match elsewhere.
    let extra =
        segment("consumer", "consumer-seg-2", vec![span(0, -1, "/health", SpanType::Entry, SpanLayer::Http, 7001)]);
    let actual = ActualData::build(&[consumer_segment(), extra], &[], &[]);
    let expected = "segmentItems:\n- serviceName: consumer\n  segments:\n  - spans:\n    - operationName: /health\n";
    assert_eq!(check(expected, &actual), Ok(()));

    let three = "segmentItems:\n- serviceName: consumer\n  segments:\n  - spans:\n    - {}\n    - {}\n    - {}\n";
    let message = fails(three, &actual, Semantics::Legacy);
    assert_mentions(
        &message,
        &[
            "actual segment 0 (consumer-seg-1): has 2 span(s), expected 3",
            "actual segment 1 (consumer-seg-2): has 1 span(s), expected 3",
        ],
    );
    assert!(!message.contains("closest candidate"), "no candidate was compared span by span:\n{message}");
}

#[test]
fn spans_are_compared_by_index_unless_head_falls_back_to_span_id() {
    // The consumer segment lists the exit span (id 1) first; this expectation
    // lists spans in spanId order.
    let expected = r"
segmentItems:
- serviceName: consumer
  segments:
  - spans:
    - {operationName: /users, spanId: 0, spanType: Entry, tags: [{key: http.method, value: GET}, {key: http.url, value: not null}, {key: http.status_code, value: '200'}]}
    - {operationName: /users, spanId: 1, spanType: Exit, tags: [{key: http.method, value: POST}, {key: http.url, value: not null}, {key: http.status_code, value: '200'}]}
";
    let message = fails(expected, &scenario(), Semantics::Legacy);
    assert_mentions(&message, &["span[0].spanId: expected '0' but was '1'"]);
    assert_eq!(validate(expected, &scenario(), Semantics::Head), Ok(()));
}

#[test]
fn head_fallback_still_reports_the_field_that_differs() {
    let expected = r"
segmentItems:
- serviceName: consumer
  segments:
  - spans:
    - {operationName: /wrong, spanId: 0}
    - {operationName: /users, spanId: 1}
";
    let message = fails(expected, &scenario(), Semantics::Head);
    assert_mentions(
        &message,
        &["span[0] (by spanId: actual span[1]).operationName: expected '/wrong' but was '/users'"],
    );
}

#[test]
fn every_span_field_is_compared_with_its_own_name() {
    let cases = [
        ("componentId: 7003", "span[0].componentId: expected '7003' but was '7001'"),
        ("startTime: 1", "span[0].startTime: expected '1' but was '1700000000000'"),
        ("endTime: lt 5", "span[0].endTime: expected 'lt 5' but was '1700000000100'"),
        ("parentSpanId: 0", "span[0].parentSpanId: expected '0' but was '-1'"),
        ("spanId: 1", "span[0].spanId: expected '1' but was '0'"),
        ("peer: consumer", "span[0].peer: expected 'consumer' but was 'consumer:50001'"),
        ("spanLayer: RPCFramework", "span[0].spanLayer: expected 'RPCFramework' but was 'Http'"),
        ("isError: true", "span[0].isError: expected 'true' but was 'false'"),
        ("spanType: Exit", "span[0].spanType: expected 'Exit' but was 'Entry'"),
        ("skipAnalysis: true", "span[0].skipAnalysis: expected 'true' but was 'false'"),
    ];
    for (field, fragment) in cases {
        let expected = format!(
            "segmentItems:\n- serviceName: provider\n  segments:\n  - spans:\n    - {field}\n      tags: [{{key: http.method, value: POST}}, {{key: http.url, value: not null}}, {{key: http.status_code, value: '200'}}]\n"
        );
        let message = fails(&expected, &scenario(), Semantics::Legacy);
        assert_mentions(&message, &[fragment]);
    }
}

#[test]
fn tags_are_order_sensitive_and_keys_compare_exactly() {
    let swapped = r"
segmentItems:
- serviceName: provider
  segments:
  - spans:
    - tags:
      - {key: http.url, value: not null}
      - {key: http.method, value: POST}
      - {key: http.status_code, value: '200'}
";
    let message = fails(swapped, &scenario(), Semantics::Legacy);
    assert_mentions(&message, &["span[0].tags[0].key: expected 'http.url' but was 'http.method'"]);
}

#[test]
fn absent_tags_mean_zero_tags() {
    let no_tags = "segmentItems:\n- serviceName: provider\n  segments:\n  - spans:\n    - operationName: /users\n";
    let message = fails(no_tags, &scenario(), Semantics::Legacy);
    assert_mentions(&message, &["span[0].tags: expected 0 tag(s) but was 3 [http.method, http.url, http.status_code]"]);
    // A span without tags matches an expectation without tags.
    let local = segment("svc", "seg", vec![span(0, -1, "local", SpanType::Local, SpanLayer::Unknown, 0)]);
    let actual = ActualData::build(&[local], &[], &[]);
    let expected = "segmentItems:\n- serviceName: svc\n  segments:\n  - spans:\n    - {operationName: local, spanLayer: Unknown, spanType: Local}\n";
    assert_eq!(check(expected, &actual), Ok(()));
}

#[test]
fn span_logs_are_always_compared() {
    let actual = ActualData::build(&[failing_provider_segment("bad-seg")], &[], &[]);
    let with_logs = r"
segmentItems:
- serviceName: provider
  segments:
  - spans:
    - operationName: /users
      isError: true
      tags:
      - {key: http.method, value: POST}
      - {key: http.url, value: not null}
      - {key: http.status_code, value: '500'}
      logs:
      - logEvent:
        - {key: event, value: error}
        - {key: error.kind, value: ValueError}
        - {key: message, value: boom}
        - {key: stack, value: not null}
";
    assert_eq!(check(with_logs, &actual), Ok(()));
    let wrong_value = with_logs.replace("value: boom", "value: bang");
    assert_mentions(
        &fails(&wrong_value, &actual, Semantics::Legacy),
        &["span[0].logs[0].logEvent[2](message): expected 'bang' but was 'boom'"],
    );
    let without_logs: String = with_logs.split("      logs:").next().unwrap_or_default().to_owned();
    assert_mentions(&fails(&without_logs, &actual, Semantics::Legacy), &["span[0].logs: expected 0 log(s) but was 1"]);
}

#[test]
fn parent_segment_reference_resolves_to_the_matched_segment() {
    // A health-check segment arrives first, so consumer's first *expected*
    // segment matches the second *actual* one.
    let health =
        segment("consumer", "health-seg", vec![span(0, -1, "/health", SpanType::Entry, SpanLayer::Http, 7001)]);
    let actual = ActualData::build(&[health, consumer_segment(), provider_segment()], &[], &[]);
    assert_eq!(check(SCENARIO_REFERENCE, &actual), Ok(()));

    // The provider's ref points at some other segment: the reference is
    // compared with the matched id, not accepted blindly.
    let mut provider = provider_segment();
    if let Some(r) = provider.spans.first_mut().and_then(|s| s.refs.first_mut()) {
        r.parent_trace_segment_id = "health-seg".to_owned();
    }
    let consumer = consumer_segment();
    let health =
        segment("consumer", "health-seg", vec![span(0, -1, "/health", SpanType::Entry, SpanLayer::Http, 7001)]);
    let actual = ActualData::build(&[health, consumer, provider], &[], &[]);
    let message = fails(SCENARIO_REFERENCE, &actual, Semantics::Legacy);
    assert_mentions(
        &message,
        &[
            "segmentItems[service=provider] segment 0 (actual provider-seg-1) span[0].refs[0]",
            "parentTraceSegmentId: expected '${consumer[0]}' = 'consumer-seg-1' but was 'health-seg'",
        ],
    );
}

#[test]
fn parent_segment_reference_out_of_range_is_an_error() {
    let expected = SCENARIO_REFERENCE.replace("${consumer[0]}", "${consumer[1]}");
    let err = validate(&expected, &scenario(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::Expression { .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["${consumer[1]}", "service 'consumer' has only 1 expected segment(s)"]);

    let unknown = SCENARIO_REFERENCE.replace("${consumer[0]}", "${nobody[0]}");
    assert_mentions(&fails(&unknown, &scenario(), Semantics::Legacy), &["service 'nobody' has no expected segments"]);
}

#[test]
fn not_null_parent_segment_id_keeps_working() {
    let expected = SCENARIO_REFERENCE.replace("${consumer[0]}", "not null");
    assert_eq!(check(&expected, &scenario()), Ok(()));
}

#[test]
fn ref_pass_two_checks_every_field() {
    let expected = SCENARIO_REFERENCE.replace("traceId: eq trace-1", "traceId: eq trace-2");
    let message = fails(&expected, &scenario(), Semantics::Legacy);
    assert_mentions(
        &message,
        &["span[0].refs[0]: no actual ref matched", "actual ref 0: traceId: expected 'eq trace-2' but was 'trace-1'"],
    );
    let instance =
        SCENARIO_REFERENCE.replace("parentServiceInstance: consumer-instance", "parentServiceInstance: other");
    assert_mentions(
        &fails(&instance, &scenario(), Semantics::Legacy),
        &["parentServiceInstance: expected 'other' but was 'consumer-instance'"],
    );
}

#[test]
fn ref_pass_one_rejects_the_candidate_during_matching() {
    let expected = SCENARIO_REFERENCE.replace("parentService: consumer", "parentService: gateway");
    let message = fails(&expected, &scenario(), Semantics::Legacy);
    assert_mentions(
        &message,
        &[
            "segmentItems[service=provider] segment 0: no actual segment matched",
            "span[0].refs[0]: no actual ref matched (actual ref 0: parentService: expected 'gateway' but was 'consumer')",
        ],
    );
}

/// A batch-consumer span with two refs from different producers.
fn batch_consumer() -> ActualData {
    let mut entry = span(0, -1, "mq/consume", SpanType::Entry, SpanLayer::Mq, 52);
    let mut from_a = cross_process_ref("producer-a", "seg-a", 1);
    from_a.parent_endpoint = "/send-a".to_owned();
    let mut from_b = cross_process_ref("producer-b", "seg-b", 2);
    from_b.parent_endpoint = "/send-b".to_owned();
    entry.refs = vec![from_a, from_b];
    ActualData::build(&[segment("worker", "worker-seg", vec![entry])], &[], &[])
}

fn batch_ref(service: &str, endpoint: &str) -> String {
    format!(
        "      - {{parentEndpoint: {endpoint}, networkAddress: not null, refType: CrossProcess, parentTraceSegmentId: not null, parentServiceInstance: not null, parentService: {service}, traceId: not null}}\n"
    )
}

#[test]
fn refs_are_order_insensitive() {
    let head =
        "segmentItems:\n- serviceName: worker\n  segments:\n  - spans:\n    - operationName: mq/consume\n      refs:\n";
    let reversed = format!("{head}{}{}", batch_ref("producer-b", "/send-b"), batch_ref("producer-a", "/send-a"));
    assert_eq!(check(&reversed, &batch_consumer()), Ok(()));
    // The reference tool lets two expected refs match the same actual ref.
    let twice = format!("{head}{}{}", batch_ref("producer-a", "/send-a"), batch_ref("producer-a", "/send-a"));
    assert_eq!(check(&twice, &batch_consumer()), Ok(()));
    // But the counts must agree.
    let one = format!("{head}{}", batch_ref("producer-a", "/send-a"));
    assert_mentions(&fails(&one, &batch_consumer(), Semantics::Legacy), &["span[0].refs: expected 1 ref(s) but was 2"]);
}

#[test]
fn expected_refs_on_a_span_without_refs_fail() {
    // The consumer's exit span has no refs.
    let expected = r"
segmentItems:
- serviceName: consumer
  segments:
  - spans:
    - operationName: /users
      spanId: 1
      tags:
      - {key: http.method, value: POST}
      - {key: http.url, value: not null}
      - {key: http.status_code, value: '200'}
      refs:
      - parentEndpoint: not null
        networkAddress: not null
        parentTraceSegmentId: not null
        parentServiceInstance: not null
        parentService: not null
        traceId: not null
    - spanId: 0
";
    let message = fails(expected, &scenario(), Semantics::Legacy);
    assert_mentions(&message, &["span[0].refs: expected 1 ref(s) but the actual span has none"]);
}

#[test]
fn unknown_enum_numbers_compare_as_numbers() {
    let mut odd = span(0, -1, "op", SpanType::Local, SpanLayer::Unknown, 0);
    odd.span_layer = 42;
    odd.span_type = 7;
    let actual = ActualData::build(&[segment("svc", "seg", vec![odd])], &[], &[]);
    let expected = "segmentItems:\n- serviceName: svc\n  segments:\n  - spans:\n    - {spanLayer: 42, spanType: '7'}\n";
    assert_eq!(check(expected, &actual), Ok(()));
}

#[test]
fn gt_on_a_text_field_is_an_evaluation_error_not_a_mismatch() {
    let expected = "segmentItems:\n- serviceName: provider\n  segments:\n  - spans:\n    - peer: gt 5\n";
    let err = validate(expected, &scenario(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::Expression { .. }), "{err:?}");
    assert_mentions(
        &err.to_string(),
        &[
            "segmentItems[service=provider] segment 0",
            "span[0].peer",
            "cannot evaluate 'gt 5' against 'consumer:50001'",
            "is not a number",
        ],
    );
}
