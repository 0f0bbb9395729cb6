//! `ActualData` → the `/receiveData` YAML document.
//!
//! Written by hand rather than through serde so that numbers print exactly
//! as the validator compares them (`1.0`, `1.0E7`) and the document reads
//! back as valid expected data.

use super::actual::{
    ActualData, KeyValue, Log, LogItem, Meter, MeterItem, MeterValue, Segment, SegmentItem, SegmentRef, Span,
};
use super::text::java_double;

/// A YAML node; scalars are stored already rendered.
enum Node {
    Scalar(String),
    Map(Vec<(&'static str, Node)>),
    List(Vec<Node>),
}

impl ActualData {
    /// The §2.3 document: `segmentItems`, `meterItems`, `logItems`, each a
    /// list (`[]` when empty). Span `tags`, `logs` and `refs` are omitted
    /// when empty, as the reference collector omits them.
    pub fn to_yaml(&self) -> String {
        let root = vec![
            ("segmentItems", Node::List(self.segment_items.iter().map(segment_item).collect())),
            ("meterItems", Node::List(self.meter_items.iter().map(meter_item).collect())),
            ("logItems", Node::List(self.log_items.iter().map(log_item).collect())),
        ];
        let mut out = String::new();
        write_map(&mut out, &root, 0, false);
        out
    }
}

fn segment_item(item: &SegmentItem) -> Node {
    Node::Map(vec![
        ("serviceName", string(&item.service_name)),
        ("segmentSize", plain(item.segments.len())),
        ("segments", Node::List(item.segments.iter().map(segment).collect())),
    ])
}

fn segment(segment: &Segment) -> Node {
    Node::Map(vec![
        ("segmentId", string(&segment.segment_id)),
        ("spans", Node::List(segment.spans.iter().map(span).collect())),
    ])
}

fn span(span: &Span) -> Node {
    let mut fields = vec![
        ("operationName", string(&span.operation_name)),
        ("parentSpanId", plain(span.parent_span_id)),
        ("spanId", plain(span.span_id)),
        ("spanLayer", string(&span.span_layer)),
        ("startTime", plain(span.start_time)),
        ("endTime", plain(span.end_time)),
        ("componentId", plain(span.component_id)),
        ("isError", plain(span.is_error)),
        ("spanType", string(&span.span_type)),
        ("peer", string(&span.peer)),
        ("skipAnalysis", plain(span.skip_analysis)),
    ];
    if !span.tags.is_empty() {
        fields.push(("tags", key_values(&span.tags)));
    }
    if !span.logs.is_empty() {
        let logs = span.logs.iter().map(|event| Node::Map(vec![("logEvent", key_values(event))])).collect();
        fields.push(("logs", Node::List(logs)));
    }
    if !span.refs.is_empty() {
        fields.push(("refs", Node::List(span.refs.iter().map(segment_ref).collect())));
    }
    Node::Map(fields)
}

fn segment_ref(r: &SegmentRef) -> Node {
    Node::Map(vec![
        ("parentEndpoint", string(&r.parent_endpoint)),
        ("networkAddress", string(&r.network_address)),
        ("refType", string(&r.ref_type)),
        ("parentSpanId", plain(r.parent_span_id)),
        ("parentTraceSegmentId", string(&r.parent_trace_segment_id)),
        ("parentServiceInstance", string(&r.parent_service_instance)),
        ("parentService", string(&r.parent_service)),
        ("traceId", string(&r.trace_id)),
    ])
}

fn key_values(pairs: &[KeyValue]) -> Node {
    Node::List(pairs.iter().map(|p| Node::Map(vec![("key", string(&p.key)), ("value", string(&p.value))])).collect())
}

fn meter_item(item: &MeterItem) -> Node {
    Node::Map(vec![
        ("serviceName", string(&item.service_name)),
        ("meterSize", plain(item.meters.len())),
        ("meters", Node::List(item.meters.iter().map(meter).collect())),
    ])
}

fn meter(meter: &Meter) -> Node {
    let tags =
        meter.tags.iter().map(|t| Node::Map(vec![("name", string(&t.name)), ("value", string(&t.value))])).collect();
    let mut fields = vec![("meterId", Node::Map(vec![("name", string(&meter.name)), ("tags", Node::List(tags))]))];
    match &meter.value {
        MeterValue::Single(v) => fields.push(("singleValue", Node::Scalar(java_double(*v)))),
        MeterValue::Histogram { buckets, counts } => {
            let buckets = buckets.iter().map(|b| Node::Scalar(java_double(*b)));
            fields.push(("histogramBuckets", Node::List(buckets.collect())));
            fields.push(("histogramValues", Node::List(counts.iter().map(plain).collect())));
        }
    }
    Node::Map(fields)
}

fn log_item(item: &LogItem) -> Node {
    Node::Map(vec![
        ("serviceName", string(&item.service_name)),
        ("logSize", plain(item.logs.len())),
        ("logs", Node::List(item.logs.iter().map(log).collect())),
    ])
}

fn log(log: &Log) -> Node {
    let mut body = vec![("type", string(&log.body_type))];
    if let Some(content) = &log.content {
        let (key, value) = content.key_and_value();
        body.push(("content", Node::Map(vec![(key, string(value))])));
    }
    Node::Map(vec![
        ("timestamp", plain(log.timestamp)),
        ("endpoint", string(&log.endpoint)),
        ("body", Node::Map(body)),
        (
            "traceContext",
            Node::Map(vec![
                ("traceId", string(&log.trace_context.trace_id)),
                ("traceSegmentId", string(&log.trace_context.trace_segment_id)),
                ("spanId", plain(log.trace_context.span_id)),
            ]),
        ),
        ("tags", Node::Map(vec![("data", key_values(&log.tags))])),
        ("layer", string(&log.layer)),
    ])
}

fn plain(value: impl ToString) -> Node {
    Node::Scalar(value.to_string())
}

fn string(value: &str) -> Node {
    Node::Scalar(yaml_string(value))
}

/// Renders a string scalar: plain when that reads back as the same string
/// in any YAML loader, single-quoted when printable, else double-quoted.
pub(crate) fn yaml_string(s: &str) -> String {
    if is_safe_plain(s) {
        s.to_owned()
    } else if s.chars().all(|c| !c.is_control()) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        // JSON string syntax is valid YAML double-quoted syntax.
        serde_json::to_string(s).unwrap_or_else(|_| "''".to_owned())
    }
}

fn is_safe_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if looks_like_non_string(s) {
        return false;
    }
    // Anything that starts like a number, date or time is quoted: YAML 1.1
    // loaders (PyYAML) resolve `0b101`, `2001-12-14`, `1:30` to non-strings.
    let first_ok = first.is_ascii_alphabetic()
        || matches!(first, b'/' | b'_' | b'(' | b'$')
        || (first == b'-' && bytes.get(1).is_some_and(|b| !b.is_ascii_digit() && *b != b' ' && *b != b'.'));
    if !first_ok || bytes.last() == Some(&b' ') {
        return false;
    }
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b if b.is_ascii_alphanumeric() => true,
        b'/' | b'_' | b'.' | b'-' | b'+' | b'=' | b'(' | b')' | b'$' | b'^' | b';' | b'<' | b'>' | b'?' | b'@'
        | b'*' | b'!' | b'&' | b'%' | b'~' => true,
        // `: ` starts a mapping value; a colon inside `host:port` is fine.
        b':' => bytes.get(i + 1).is_some_and(|n| *n != b' '),
        b' ' => bytes.get(i + 1).is_some_and(|n| *n != b' '),
        _ => false,
    })
}

/// Words a YAML 1.1 or 1.2 loader would turn into a bool or null (strings
/// starting like numbers never reach this check).
fn looks_like_non_string(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null")
        || s.parse::<f64>().is_ok()
}

fn write_map(out: &mut String, entries: &[(&str, Node)], indent: usize, inline_first: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        out.push_str(key);
        out.push(':');
        match value {
            Node::Scalar(s) => {
                out.push(' ');
                out.push_str(s);
                out.push('\n');
            }
            Node::Map(inner) if inner.is_empty() => out.push_str(" {}\n"),
            Node::Map(inner) => {
                out.push('\n');
                write_map(out, inner, indent + 2, false);
            }
            Node::List(items) => write_list_value(out, items, indent),
        }
    }
}

/// A list as a map value: `[]`, a flow list of scalars, or a block list at
/// the key's own indentation.
fn write_list_value(out: &mut String, items: &[Node], indent: usize) {
    if items.iter().all(|n| matches!(n, Node::Scalar(_))) {
        let scalars: Vec<&str> = items
            .iter()
            .filter_map(|n| match n {
                Node::Scalar(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        out.push_str(" [");
        out.push_str(&scalars.join(", "));
        out.push_str("]\n");
        return;
    }
    out.push('\n');
    for item in items {
        push_indent(out, indent);
        out.push_str("- ");
        match item {
            Node::Scalar(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Node::Map(inner) if inner.is_empty() => out.push_str("{}\n"),
            Node::Map(inner) => write_map(out, inner, indent + 2, true),
            // Not produced by this document's shape; keep it valid anyway.
            Node::List(_) => out.push_str("[]\n"),
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}
