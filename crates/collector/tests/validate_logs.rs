//! Log validation (§2.8).

mod validate_common;

use sw_collector::validate::{validate, ActualData, Semantics, ValidationError};
use sw_proto::v3::{log_data_body, JsonLog, LogData};
use validate_common::*;

const LOGS: &str = include_str!("data/validate/logs.yml");

fn logs() -> ActualData {
    ActualData::build(
        &[],
        &[],
        &[
            text_log("provider", "/users", "user created"),
            text_log("consumer", "/users", "calling provider"),
            text_log("provider", "/health", "ok"),
        ],
    )
}

#[test]
fn realistic_logs_pass_in_both_semantics() {
    assert_eq!(validate(LOGS, &logs(), Semantics::Legacy), Ok(()));
    assert_eq!(validate(LOGS, &logs(), Semantics::Head), Ok(()));
}

#[test]
fn logs_are_grouped_by_their_own_service() {
    let data = logs();
    let services: Vec<&str> = data.log_items.iter().map(|i| i.service_name.as_str()).collect();
    assert_eq!(services, ["provider", "consumer"]);
    assert_eq!(data.log_items[0].logs.len(), 2);
    let expected = "logItems:\n- {serviceName: consumer, logSize: 1}\n";
    assert_eq!(check(expected, &data), Ok(()));
}

/// The two provider entries of `LOGS` in the opposite order.
fn swapped() -> String {
    let (head, rest) = LOGS.split_at(LOGS.find("      - timestamp").unwrap_or(0));
    let second = rest.rfind("      - timestamp").unwrap_or(0);
    let (first_entry, second_entry) = rest.split_at(second);
    format!("{head}{second_entry}{first_entry}")
}

#[test]
fn legacy_compares_in_arrival_order_and_head_sorts_first() {
    let expected = swapped();
    assert_ne!(expected, LOGS);
    assert_mentions(
        &fails(&expected, &logs(), Semantics::Legacy),
        &["logItems[service=provider] logs[0] endpoint: expected '/health' but was '/users'"],
    );
    assert_eq!(validate(&expected, &logs(), Semantics::Head), Ok(()));
}

#[test]
fn head_sorts_expected_entries_by_their_raw_expressions() {
    // `not null` sorts after `/users`, so under HEAD the first expected entry
    // meets the actual `/health` log.
    let expected = LOGS.replace("endpoint: /health", "endpoint: not null");
    assert_eq!(validate(&expected, &logs(), Semantics::Legacy), Ok(()));
    assert_mentions(
        &fails(&expected, &logs(), Semantics::Head),
        &["logs[0] (sorted) endpoint: expected '/users' but was '/health'"],
    );
}

#[test]
fn the_number_of_logs_must_equal_whatever_log_size_says() {
    let expected = LOGS.replace("logSize: 2", "logSize: ge 1");
    assert_eq!(check(&expected, &logs()), Ok(()));
    let one: String = LOGS
        .split("      - timestamp: gt 0\n        endpoint: /health")
        .next()
        .unwrap_or_default()
        .replace("logSize: 2", "logSize: ge 1");
    assert_eq!(fails(&one, &logs(), Semantics::Legacy), "logItems[service=provider] logs: expected 1 log(s) but was 2");
    assert_eq!(
        fails(&LOGS.replace("logSize: 2", "logSize: 3"), &logs(), Semantics::Legacy),
        "logItems[service=provider] logSize: expected '3' but was '2'"
    );
}

#[test]
fn each_log_field_is_named_in_the_message() {
    let cases = [
        (
            "text: user created",
            "text: user deleted",
            "logs[0] body.content.text: expected 'user deleted' but was 'user created'",
        ),
        ("type: text", "type: json", "logs[0] body.type: expected 'json' but was 'text'"),
        ("spanId: 0", "spanId: 1", "logs[0] traceContext.spanId: expected '1' but was '0'"),
        ("value: ERROR", "value: INFO", "logs[0] tags.data[0](level): expected 'INFO' but was 'ERROR'"),
        ("key: level", "key: severity", "logs[0] tags.data[0].key: expected 'severity' but was 'level'"),
        ("layer: ''", "layer: GENERAL", "logs[0] layer: expected 'GENERAL' but was ''"),
        ("timestamp: gt 0", "timestamp: 5", "logs[0] timestamp: expected '5' but was '1700000000000'"),
    ];
    for (from, to, fragment) in cases {
        let expected = LOGS.replacen(from, to, 1);
        assert_ne!(expected, LOGS, "{from}");
        assert_mentions(&fails(&expected, &logs(), Semantics::Legacy), &[fragment]);
    }
}

fn json_log() -> ActualData {
    let mut log = text_log("svc", "/users", "");
    if let Some(body) = log.body.as_mut() {
        body.r#type = "json".to_owned();
        body.content = Some(log_data_body::Content::Json(JsonLog { json: "{\"msg\": \"hi\"}".to_owned() }));
    }
    ActualData::build(&[], &[], &[log])
}

#[test]
fn content_of_another_kind_is_a_missing_value() {
    let expected =
        |content: &str| format!("logItems:\n- serviceName: svc\n  logs:\n  - body:\n      content: {{{content}}}\n");
    assert_eq!(check(&expected("json: not blank"), &json_log()), Ok(()));
    assert_mentions(
        &fails(&expected("text: not null"), &json_log(), Semantics::Legacy),
        &["body.content.text: expected 'not null' but was null"],
    );
    // The Java tool throws a NullPointerException here.
    let err = validate(&expected("text: nq x"), &json_log(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::Expression { .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["body.content.text", "the actual value is absent"]);
    // Text is picked before json when both are written.
    assert_mentions(
        &fails(&expected("text: a, json: not null"), &json_log(), Semantics::Legacy),
        &["body.content.text"],
    );
}

#[test]
fn a_log_without_body_or_context_reads_as_defaults() {
    let bare = LogData { service: "svc".to_owned(), ..LogData::default() };
    let actual = ActualData::build(&[], &[], &[bare]);
    let expected = "logItems:\n- serviceName: svc\n  logs:\n  - body: {type: ''}\n    traceContext: {traceId: not null, spanId: 0}\n    tags: {data: []}\n";
    assert_eq!(check(expected, &actual), Ok(()));
    let content = "logItems:\n- serviceName: svc\n  logs:\n  - body: {content: {text: not null}}\n";
    assert_mentions(
        &fails(content, &actual, Semantics::Legacy),
        &["logs[0] body.content: expected text 'not null' but the actual log has no content"],
    );
    let blank = "logItems:\n- serviceName: svc\n  logs:\n  - body: {}\n    traceContext: {traceId: not blank}\n";
    assert_mentions(
        &fails(blank, &actual, Semantics::Legacy),
        &["traceContext.traceId: expected 'not blank' but was ''"],
    );
}

#[test]
fn absent_tags_or_data_are_not_checked() {
    let no_data = LOGS.replace(
        "        tags:\n          data:\n            - key: level\n              value: not null\n            - key: logger\n              value: app\n",
        "        tags: {}\n",
    );
    assert_ne!(no_data, LOGS);
    assert_eq!(check(&no_data, &logs()), Ok(()));
}

#[test]
fn unknown_log_service_is_reported() {
    let err = validate("logItems:\n- serviceName: nobody\n", &logs(), Semantics::Legacy).unwrap_err();
    assert!(matches!(err, ValidationError::ServiceNotFound { section: "logItems", .. }), "{err:?}");
}
