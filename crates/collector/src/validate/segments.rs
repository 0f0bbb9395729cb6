//! Segment validation: service lookup, `segmentSize`, greedy first-fit
//! matching of expected segments to actual ones, then the strict ref pass.

use super::actual::{ActualData, KeyValue, Segment, SegmentItem, Span};
use super::error::{Fail, SegmentCandidate, ValidationError};
use super::expected::{text, ExpKeyValue, ExpSegment, ExpSegmentItem, ExpSpan, ExpectedData};
use super::expr::check;
use super::refs::{self, ParentSegments};
use super::Semantics;

/// One expected segment and what it matched.
struct Matched<'a> {
    expected: &'a ExpSegment,
    actual: &'a Segment,
    /// For each expected span, the index of the actual span it matched.
    span_map: Vec<usize>,
}

/// One expected item whose segments all matched.
struct MatchedItem<'a> {
    location: String,
    segments: Vec<Matched<'a>>,
}

pub(crate) fn validate(
    expected: &ExpectedData,
    actual: &ActualData,
    semantics: Semantics,
) -> Result<(), ValidationError> {
    let Some(items) = &expected.segment_items else {
        return Ok(());
    };
    let mut matched_items = Vec::new();
    let mut parents = ParentSegments::default();
    for item in items {
        let service = text(&item.service_name).unwrap_or_default();
        let actual_item = actual.segment_items.iter().find(|a| a.service_name == service).ok_or_else(|| {
            ValidationError::ServiceNotFound {
                section: "segmentItems",
                service: service.to_owned(),
                available: actual.segment_items.iter().map(|a| a.service_name.clone()).collect(),
            }
        })?;
        let location = format!("segmentItems[service={service}]");
        let count = actual_item.segments.len().to_string();
        check("segmentSize", text(&item.segment_size), Some(&count), semantics).map_err(|f| f.into_error(&location))?;
        let segments = match_item(item, actual_item, service, &location, semantics)?;
        parents.add(service, segments.iter().map(|m| m.actual.segment_id.clone()).collect());
        matched_items.push(MatchedItem { location, segments });
    }
    for item in &matched_items {
        verify_refs(item, &parents, semantics)?;
    }
    Ok(())
}

/// Greedy first fit: each expected segment takes the first actual segment,
/// in arrival order, that no earlier expectation took and whose spans
/// compare equal. No backtracking, as in the reference tool.
fn match_item<'a>(
    item: &'a ExpSegmentItem,
    actual_item: &'a SegmentItem,
    service: &str,
    location: &str,
    semantics: Semantics,
) -> Result<Vec<Matched<'a>>, ValidationError> {
    let Some(expected_segments) = &item.segments else {
        return Ok(Vec::new());
    };
    let mut taken_by: Vec<Option<usize>> = vec![None; actual_item.segments.len()];
    let mut matched = Vec::with_capacity(expected_segments.len());
    for (e, expected) in expected_segments.iter().enumerate() {
        let mut candidates = Vec::new();
        let mut found = None;
        for (k, candidate) in actual_item.segments.iter().enumerate() {
            let rejected = |reason: String, progress: Option<usize>| SegmentCandidate {
                index: k,
                segment_id: candidate.segment_id.clone(),
                reason,
                progress,
            };
            if let Some(earlier) = taken_by[k] {
                candidates.push(rejected(format!("already matched by expected segment {earlier}"), None));
                continue;
            }
            let Some(spans) = &expected.spans else {
                found = Some((k, Vec::new()));
                break;
            };
            match compare_spans(spans, &candidate.spans, semantics) {
                Ok(span_map) => {
                    found = Some((k, span_map));
                    break;
                }
                Err(SpanFail::Count) => candidates
                    .push(rejected(format!("has {} span(s), expected {}", candidate.spans.len(), spans.len()), None)),
                Err(SpanFail::At { progress, fail: fail @ Fail::Mismatch { .. } }) => {
                    candidates.push(rejected(fail.describe(), Some(progress)));
                }
                Err(SpanFail::At { fail, .. }) => {
                    return Err(fail.into_error(&format!(
                        "{location} segment {e} (comparing actual segment {k}, {})",
                        candidate.segment_id
                    )));
                }
            }
        }
        let Some((k, span_map)) = found else {
            return Err(ValidationError::SegmentNotFound { service: service.to_owned(), index: e, candidates });
        };
        taken_by[k] = Some(e);
        matched.push(Matched { expected, actual: &actual_item.segments[k], span_map });
    }
    Ok(matched)
}

enum SpanFail {
    /// Different number of spans: skipped silently by the reference tool.
    Count,
    /// A span differs; `progress` spans compared equal before it.
    At { progress: usize, fail: Fail },
}

/// Compares spans by index. Under HEAD semantics a failing index is retried
/// against the actual span whose spanId equals the expected spanId.
fn compare_spans(expected: &[ExpSpan], actual: &[Span], semantics: Semantics) -> Result<Vec<usize>, SpanFail> {
    if expected.len() != actual.len() {
        return Err(SpanFail::Count);
    }
    let mut span_map = Vec::with_capacity(expected.len());
    for (i, (want, got)) in expected.iter().zip(actual).enumerate() {
        let at = format!("span[{i}]");
        let result = match compare_span(want, got, semantics) {
            Ok(()) => Ok(i),
            Err(fail @ Fail::Mismatch { .. }) if semantics == Semantics::Head => {
                match fallback_by_span_id(want, got, actual) {
                    Some(j) => compare_span(want, &actual[j], semantics)
                        .map(|()| j)
                        .map_err(|f| f.within(&format!("{at} (by spanId: actual span[{j}])"))),
                    None => Err(fail.within(&at)),
                }
            }
            Err(fail) => Err(fail.within(&at)),
        };
        match result {
            Ok(j) => span_map.push(j),
            Err(fail) => return Err(SpanFail::At { progress: i, fail }),
        }
    }
    Ok(span_map)
}

/// The actual span to try instead when the expected spanId is a literal
/// different from the span at the same index.
fn fallback_by_span_id(want: &ExpSpan, got: &Span, actual: &[Span]) -> Option<usize> {
    let wanted_id = text(&want.span_id)?;
    if wanted_id == got.span_id.to_string() {
        return None;
    }
    actual.iter().position(|s| s.span_id.to_string() == wanted_id)
}

/// Per-field comparison in the reference tool's order; tags and logs are
/// always compared (absent means none), refs only when present (pass 1).
fn compare_span(want: &ExpSpan, got: &Span, semantics: Semantics) -> Result<(), Fail> {
    let fields: [(&str, Option<&str>, String); 11] = [
        ("operationName", text(&want.operation_name), got.operation_name.clone()),
        ("componentId", text(&want.component_id), got.component_id.to_string()),
        ("startTime", text(&want.start_time), got.start_time.to_string()),
        ("endTime", text(&want.end_time), got.end_time.to_string()),
        ("parentSpanId", text(&want.parent_span_id), got.parent_span_id.to_string()),
        ("spanId", text(&want.span_id), got.span_id.to_string()),
        ("peer", text(&want.peer), got.peer.clone()),
        ("spanLayer", text(&want.span_layer), got.span_layer.clone()),
        ("isError", text(&want.is_error), got.is_error.to_string()),
        ("spanType", text(&want.span_type), got.span_type.clone()),
        ("skipAnalysis", text(&want.skip_analysis), got.skip_analysis.to_string()),
    ];
    for (field, expected, actual) in &fields {
        check(field, *expected, Some(actual), semantics)?;
    }
    compare_pairs("tags", "tag", want.tags.as_deref().unwrap_or(&[]), &got.tags, semantics)?;
    let want_logs = want.logs.as_deref().unwrap_or(&[]);
    if want_logs.len() != got.logs.len() {
        return Err(Fail::mismatch("logs", format!("expected {} log(s) but was {}", want_logs.len(), got.logs.len())));
    }
    for (i, (want_log, got_log)) in want_logs.iter().zip(&got.logs).enumerate() {
        let events = want_log.log_event.as_deref().unwrap_or(&[]);
        compare_pairs(&format!("logs[{i}].logEvent"), "field", events, got_log, semantics)?;
    }
    if let Some(want_refs) = &want.refs {
        refs::loose(want_refs, &got.refs, semantics)?;
    }
    Ok(())
}

/// Same count, by index, key exact, value by expression.
pub(crate) fn compare_pairs(
    at: &str,
    noun: &str,
    expected: &[ExpKeyValue],
    actual: &[KeyValue],
    semantics: Semantics,
) -> Result<(), Fail> {
    if expected.len() != actual.len() {
        let keys: Vec<&str> = actual.iter().map(|kv| kv.key.as_str()).collect();
        return Err(Fail::mismatch(
            at,
            format!("expected {} {noun}(s) but was {} [{}]", expected.len(), actual.len(), keys.join(", ")),
        ));
    }
    for (i, (want, got)) in expected.iter().zip(actual).enumerate() {
        let key = text(&want.key).unwrap_or_default();
        if key != got.key {
            return Err(Fail::mismatch(&format!("{at}[{i}].key"), format!("expected '{key}' but was '{}'", got.key)));
        }
        check(&format!("{at}[{i}]({key})"), text(&want.value), Some(&got.value), semantics)?;
    }
    Ok(())
}

/// Pass 2 over one matched item: every expected ref against the refs of
/// the actual span its span matched.
fn verify_refs(item: &MatchedItem<'_>, parents: &ParentSegments, semantics: Semantics) -> Result<(), ValidationError> {
    for (e, matched) in item.segments.iter().enumerate() {
        let spans = matched.expected.spans.as_deref().unwrap_or(&[]);
        for (i, (want, &j)) in spans.iter().zip(&matched.span_map).enumerate() {
            let Some(want_refs) = &want.refs else {
                continue;
            };
            let Some(got) = matched.actual.spans.get(j) else {
                continue;
            };
            refs::strict(want_refs, &got.refs, parents, semantics).map_err(|f| {
                f.within(&format!("span[{i}]"))
                    .into_error(&format!("{} segment {e} (actual {})", item.location, matched.actual.segment_id))
            })?;
        }
    }
    Ok(())
}
