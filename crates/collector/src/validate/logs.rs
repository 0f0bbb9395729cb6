//! Log validation: service lookup, `logSize`, then logs by index (arrival
//! order; HEAD semantics sort both sides first).

use super::actual::{ActualData, Log};
use super::error::{Fail, ValidationError};
use super::expected::{text, ExpLog, ExpectedData};
use super::expr::check;
use super::segments::compare_pairs;
use super::Semantics;

pub(crate) fn validate(
    expected: &ExpectedData,
    actual: &ActualData,
    semantics: Semantics,
) -> Result<(), ValidationError> {
    let Some(items) = &expected.log_items else {
        return Ok(());
    };
    for item in items {
        let service = text(&item.service_name).unwrap_or_default();
        let actual_item = actual.log_items.iter().find(|a| a.service_name == service).ok_or_else(|| {
            ValidationError::ServiceNotFound {
                section: "logItems",
                service: service.to_owned(),
                available: actual.log_items.iter().map(|a| a.service_name.clone()).collect(),
            }
        })?;
        let location = format!("logItems[service={service}]");
        let size = actual_item.logs.len().to_string();
        check("logSize", text(&item.log_size), Some(&size), semantics).map_err(|f| f.into_error(&location))?;
        let Some(want_logs) = &item.logs else {
            continue;
        };
        if want_logs.len() != actual_item.logs.len() {
            return Err(ValidationError::Mismatch {
                at: format!("{location} logs"),
                message: format!("expected {} log(s) but was {}", want_logs.len(), actual_item.logs.len()),
            });
        }
        let mut want_order: Vec<&ExpLog> = want_logs.iter().collect();
        let mut got_order: Vec<&Log> = actual_item.logs.iter().collect();
        let label = if semantics == Semantics::Head {
            want_order.sort_by(|a, b| expected_key(a).cmp(&expected_key(b)));
            got_order.sort_by(|a, b| actual_key(a).cmp(&actual_key(b)));
            " (sorted)"
        } else {
            ""
        };
        for (i, (want, got)) in want_order.iter().zip(&got_order).enumerate() {
            compare_log(want, got, semantics).map_err(|f| f.into_error(&format!("{location} logs[{i}]{label}")))?;
        }
    }
    Ok(())
}

/// Sort key of HEAD: endpoint, body type, then text/json/yaml content, all
/// raw strings (expected expressions included); absent sorts first.
type SortKey<'a> = [Option<&'a str>; 5];

fn expected_key(log: &ExpLog) -> SortKey<'_> {
    let body = log.body.as_ref();
    let content = body.and_then(|b| b.content.as_ref());
    [
        text(&log.endpoint),
        body.and_then(|b| text(&b.body_type)),
        content.and_then(|c| text(&c.text)),
        content.and_then(|c| text(&c.json)),
        content.and_then(|c| text(&c.yaml)),
    ]
}

fn actual_key(log: &Log) -> SortKey<'_> {
    let (key, value) = match &log.content {
        Some(c) => {
            let (k, v) = c.key_and_value();
            (Some(k), Some(v))
        }
        None => (None, None),
    };
    let slot = |name: &str| if key == Some(name) { value } else { None };
    [Some(log.endpoint.as_str()), Some(log.body_type.as_str()), slot("text"), slot("json"), slot("yaml")]
}

/// Field order of the reference tool: timestamp, endpoint, body,
/// traceContext, tags, layer.
fn compare_log(want: &ExpLog, got: &Log, semantics: Semantics) -> Result<(), Fail> {
    let timestamp = got.timestamp.to_string();
    check("timestamp", text(&want.timestamp), Some(&timestamp), semantics)?;
    check("endpoint", text(&want.endpoint), Some(&got.endpoint), semantics)?;
    if let Some(body) = &want.body {
        check("body.type", text(&body.body_type), Some(&got.body_type), semantics)?;
        if let Some((key, expression)) = body.content.as_ref().and_then(|c| c.first()) {
            let Some(content) = &got.content else {
                return Err(Fail::mismatch(
                    "body.content",
                    format!("expected {key} '{expression}' but the actual log has no content"),
                ));
            };
            let (got_key, got_value) = content.key_and_value();
            // A content of another kind is a missing key (null) on the Java side.
            let actual = (got_key == key).then_some(got_value);
            check(&format!("body.content.{key}"), Some(expression), actual, semantics)?;
        }
    }
    if let Some(context) = &want.trace_context {
        let span_id = got.trace_context.span_id.to_string();
        check("traceContext.traceId", text(&context.trace_id), Some(&got.trace_context.trace_id), semantics)?;
        check(
            "traceContext.traceSegmentId",
            text(&context.trace_segment_id),
            Some(&got.trace_context.trace_segment_id),
            semantics,
        )?;
        check("traceContext.spanId", text(&context.span_id), Some(&span_id), semantics)?;
    }
    if let Some(data) = want.tags.as_ref().and_then(|t| t.data.as_ref()) {
        compare_pairs("tags.data", "tag", data, &got.tags, semantics)?;
    }
    check("layer", text(&want.layer), Some(&got.layer), semantics)
}
