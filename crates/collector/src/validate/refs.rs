//! Segment references: the loose check made while matching segments (pass 1)
//! and the full check made once every segment is matched (pass 2).

use super::actual::SegmentRef;
use super::error::Fail;
use super::expected::{text, ExpRef};
use super::expr::check;
use super::text::java_trim;
use super::Semantics;

/// Pass 1: same count, and every expected ref matches some actual ref on
/// parentEndpoint, parentService, networkAddress and refType (order does not
/// matter; two expected refs may match the same actual one).
pub(crate) fn loose(expected: &[ExpRef], actual: &[SegmentRef], semantics: Semantics) -> Result<(), Fail> {
    counts(expected, actual)?;
    for (i, want) in expected.iter().enumerate() {
        find_match(i, actual, |got| {
            check("parentEndpoint", text(&want.parent_endpoint), Some(&got.parent_endpoint), semantics)?;
            check("parentService", text(&want.parent_service), Some(&got.parent_service), semantics)?;
            check("networkAddress", text(&want.network_address), Some(&got.network_address), semantics)?;
            check("refType", text(&want.ref_type), Some(&got.ref_type), semantics)
        })?;
    }
    Ok(())
}

/// Pass 2: every expected ref matches some actual ref on all eight fields,
/// with `parentTraceSegmentId: ${service[i]}` resolved through `parents`.
pub(crate) fn strict(
    expected: &[ExpRef],
    actual: &[SegmentRef],
    parents: &ParentSegments,
    semantics: Semantics,
) -> Result<(), Fail> {
    counts(expected, actual)?;
    for (i, want) in expected.iter().enumerate() {
        let parent_id = resolve_parent_id(text(&want.parent_trace_segment_id), parents)
            .map_err(|f| f.within(&format!("refs[{i}]")))?;
        find_match(i, actual, |got| {
            let parent_span_id = got.parent_span_id.to_string();
            check("parentEndpoint", text(&want.parent_endpoint), Some(&got.parent_endpoint), semantics)?;
            check("networkAddress", text(&want.network_address), Some(&got.network_address), semantics)?;
            check("refType", text(&want.ref_type), Some(&got.ref_type), semantics)?;
            check("parentSpanId", text(&want.parent_span_id), Some(&parent_span_id), semantics)?;
            match &parent_id {
                ParentId::Expression(e) => {
                    check("parentTraceSegmentId", *e, Some(&got.parent_trace_segment_id), semantics)?
                }
                ParentId::Resolved { reference, id } => {
                    if *id != got.parent_trace_segment_id {
                        return Err(Fail::mismatch(
                            "parentTraceSegmentId",
                            format!("expected '{reference}' = '{id}' but was '{}'", got.parent_trace_segment_id),
                        ));
                    }
                }
            }
            check(
                "parentServiceInstance",
                text(&want.parent_service_instance),
                Some(&got.parent_service_instance),
                semantics,
            )?;
            check("parentService", text(&want.parent_service), Some(&got.parent_service), semantics)?;
            check("traceId", text(&want.trace_id), Some(&got.trace_id), semantics)
        })?;
    }
    Ok(())
}

fn counts(expected: &[ExpRef], actual: &[SegmentRef]) -> Result<(), Fail> {
    if actual.is_empty() {
        return Err(Fail::mismatch("refs", format!("expected {} ref(s) but the actual span has none", expected.len())));
    }
    if expected.len() != actual.len() {
        return Err(Fail::mismatch("refs", format!("expected {} ref(s) but was {}", expected.len(), actual.len())));
    }
    Ok(())
}

/// Succeeds if `compare` accepts some actual ref; otherwise reports why each
/// one was rejected. Evaluation errors abort at once.
fn find_match(
    index: usize,
    actual: &[SegmentRef],
    compare: impl Fn(&SegmentRef) -> Result<(), Fail>,
) -> Result<(), Fail> {
    let mut reasons = Vec::new();
    for (k, got) in actual.iter().enumerate() {
        match compare(got) {
            Ok(()) => return Ok(()),
            Err(Fail::Mismatch { at, message }) => {
                reasons.push(format!("actual ref {k}: {at}: {message}"));
            }
            Err(eval) => return Err(eval.within(&format!("refs[{index}]"))),
        }
    }
    Err(Fail::mismatch(&format!("refs[{index}]"), format!("no actual ref matched ({})", reasons.join("; "))))
}

/// Segment ids matched to each expected segment, per service, for
/// `${service[i]}` references.
#[derive(Debug, Default)]
pub(crate) struct ParentSegments {
    services: Vec<(String, Vec<String>)>,
}

impl ParentSegments {
    /// Records the matched ids of one expected item. Only the first item of
    /// a service counts, as in the reference tool's lookup.
    pub(crate) fn add(&mut self, service: &str, matched_ids: Vec<String>) {
        if !self.services.iter().any(|(s, _)| s == service) {
            self.services.push((service.to_owned(), matched_ids));
        }
    }

    fn resolve(&self, service: &str, index: usize) -> Result<&str, String> {
        let (_, ids) = self
            .services
            .iter()
            .find(|(s, _)| s == service)
            .ok_or_else(|| format!("service '{service}' has no expected segments in segmentItems"))?;
        ids.get(index)
            .map(String::as_str)
            .ok_or_else(|| format!("service '{service}' has only {} expected segment(s)", ids.len()))
    }
}

enum ParentId<'a> {
    Expression(Option<&'a str>),
    Resolved { reference: &'a str, id: String },
}

fn resolve_parent_id<'a>(expected: Option<&'a str>, parents: &ParentSegments) -> Result<ParentId<'a>, Fail> {
    let Some(reference) = expected else {
        return Ok(ParentId::Expression(None));
    };
    match parse_parent_reference(reference) {
        None => Ok(ParentId::Expression(Some(reference))),
        Some(Ok((service, index))) => match parents.resolve(&service, index) {
            Ok(id) => Ok(ParentId::Resolved { reference, id: id.to_owned() }),
            Err(reason) => Err(Fail::Eval {
                at: "parentTraceSegmentId".to_owned(),
                expression: reference.to_owned(),
                actual: "the matched segments".to_owned(),
                reason,
            }),
        },
        // Rejected when the document is read; kept as an error, not a panic.
        Some(Err(reason)) => Err(Fail::Eval {
            at: "parentTraceSegmentId".to_owned(),
            expression: reference.to_owned(),
            actual: "the matched segments".to_owned(),
            reason,
        }),
    }
}

/// `${service[i]}` → `Some(Ok((service, i)))`; text that is not wrapped in
/// `${` … `}` → `None` (an ordinary expression); a malformed reference →
/// `Some(Err(reason))`.
///
/// The reference tool treats text that merely starts with `${` *or* ends
/// with `}` as a reference; here both are required, so `{}`-terminated
/// literals stay literals.
pub(crate) fn parse_parent_reference(text: &str) -> Option<Result<(String, usize), String>> {
    let inner = java_trim(text).strip_prefix("${")?.strip_suffix('}')?;
    let parsed = inner
        .strip_suffix(']')
        .and_then(|body| body.split_once('['))
        .and_then(|(service, index)| Some((service.to_owned(), index.parse::<usize>().ok()?)));
    Some(parsed.ok_or_else(|| format!("'{text}' is not a segment reference of the form '${{service[index]}}'")))
}
