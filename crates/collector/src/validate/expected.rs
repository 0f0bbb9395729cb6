//! The expected-data document (`expectedData.yaml`, the `/dataValidate` body).
//!
//! Read leniently, like the reference tool's SnakeYAML beans: unknown keys
//! are ignored and every leaf is kept as the literal text of its scalar
//! (`0`, `false`, `1.0` stay "0", "false", "1.0"). A YAML null or an absent
//! key is `None`, meaning "not checked".

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::error::{invalid, ValidationError};
use super::refs::parse_parent_reference;

/// The literal text of one YAML scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf(pub(crate) String);

impl<'de> Deserialize<'de> for Leaf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_yaml hands any scalar to `deserialize_str` as its source
        // text; the numeric/bool arms only serve other deserializers.
        deserializer.deserialize_str(LeafVisitor)
    }
}

struct LeafVisitor;

impl Visitor<'_> for LeafVisitor {
    type Value = Leaf;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Leaf, E> {
        Ok(Leaf(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Leaf, E> {
        Ok(Leaf(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Leaf, E> {
        Ok(Leaf(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Leaf, E> {
        Ok(Leaf(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Leaf, E> {
        Ok(Leaf(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Leaf, E> {
        Ok(Leaf(v.to_string()))
    }
}

/// `Option<Leaf>` → `Option<&str>`.
pub(crate) fn text(leaf: &Option<Leaf>) -> Option<&str> {
    leaf.as_ref().map(|l| l.0.as_str())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a map with segmentItems, meterItems and/or logItems")]
pub(crate) struct ExpectedData {
    pub(crate) segment_items: Option<Vec<ExpSegmentItem>>,
    pub(crate) meter_items: Option<Vec<ExpMeterItem>>,
    pub(crate) log_items: Option<Vec<ExpLogItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a segment item (a map with serviceName, segmentSize, segments)")]
pub(crate) struct ExpSegmentItem {
    pub(crate) service_name: Option<Leaf>,
    pub(crate) segment_size: Option<Leaf>,
    pub(crate) segments: Option<Vec<ExpSegment>>,
}

/// `segmentId` is never compared by the reference tool, so it is not read.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a segment (a map with spans)")]
pub(crate) struct ExpSegment {
    pub(crate) spans: Option<Vec<ExpSpan>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a span (a map of span fields)")]
pub(crate) struct ExpSpan {
    pub(crate) operation_name: Option<Leaf>,
    pub(crate) parent_span_id: Option<Leaf>,
    pub(crate) span_id: Option<Leaf>,
    pub(crate) span_layer: Option<Leaf>,
    pub(crate) start_time: Option<Leaf>,
    pub(crate) end_time: Option<Leaf>,
    pub(crate) component_id: Option<Leaf>,
    pub(crate) is_error: Option<Leaf>,
    pub(crate) span_type: Option<Leaf>,
    pub(crate) peer: Option<Leaf>,
    pub(crate) skip_analysis: Option<Leaf>,
    pub(crate) tags: Option<Vec<ExpKeyValue>>,
    pub(crate) logs: Option<Vec<ExpLogEvent>>,
    pub(crate) refs: Option<Vec<ExpRef>>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a key/value map")]
pub(crate) struct ExpKeyValue {
    pub(crate) key: Option<Leaf>,
    pub(crate) value: Option<Leaf>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a span log (a map with logEvent)")]
pub(crate) struct ExpLogEvent {
    pub(crate) log_event: Option<Vec<ExpKeyValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a segment ref (a map of ref fields)")]
pub(crate) struct ExpRef {
    pub(crate) parent_endpoint: Option<Leaf>,
    pub(crate) network_address: Option<Leaf>,
    pub(crate) ref_type: Option<Leaf>,
    pub(crate) parent_span_id: Option<Leaf>,
    pub(crate) parent_trace_segment_id: Option<Leaf>,
    pub(crate) parent_service_instance: Option<Leaf>,
    pub(crate) parent_service: Option<Leaf>,
    pub(crate) trace_id: Option<Leaf>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a meter item (a map with serviceName, meterSize, meters)")]
pub(crate) struct ExpMeterItem {
    pub(crate) service_name: Option<Leaf>,
    pub(crate) meter_size: Option<Leaf>,
    pub(crate) meters: Option<Vec<ExpMeter>>,
}

/// `histogramValues` is ignored by the reference tool, so it is not read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a meter (a map with meterId and singleValue or histogramBuckets)")]
pub(crate) struct ExpMeter {
    pub(crate) meter_id: Option<ExpMeterId>,
    pub(crate) single_value: Option<Leaf>,
    pub(crate) histogram_buckets: Option<Vec<Option<Leaf>>>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a meter id (a map with name and tags)")]
pub(crate) struct ExpMeterId {
    pub(crate) name: Option<Leaf>,
    pub(crate) tags: Option<Vec<ExpMeterTag>>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a meter tag (a map with name and value)")]
pub(crate) struct ExpMeterTag {
    pub(crate) name: Option<Leaf>,
    pub(crate) value: Option<Leaf>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a log item (a map with serviceName, logSize, logs)")]
pub(crate) struct ExpLogItem {
    pub(crate) service_name: Option<Leaf>,
    pub(crate) log_size: Option<Leaf>,
    pub(crate) logs: Option<Vec<ExpLog>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a log (a map of log fields)")]
pub(crate) struct ExpLog {
    pub(crate) timestamp: Option<Leaf>,
    pub(crate) endpoint: Option<Leaf>,
    pub(crate) body: Option<ExpLogBody>,
    pub(crate) trace_context: Option<ExpTraceContext>,
    pub(crate) tags: Option<ExpLogTags>,
    pub(crate) layer: Option<Leaf>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a log body (a map with type and content)")]
pub(crate) struct ExpLogBody {
    #[serde(rename = "type")]
    pub(crate) body_type: Option<Leaf>,
    pub(crate) content: Option<ExpLogContent>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "log content (a map with text, json or yaml)")]
pub(crate) struct ExpLogContent {
    pub(crate) text: Option<Leaf>,
    pub(crate) json: Option<Leaf>,
    pub(crate) yaml: Option<Leaf>,
}

impl ExpLogContent {
    /// The first of text/json/yaml that is present, as the reference tool
    /// picks it.
    pub(crate) fn first(&self) -> Option<(&'static str, &str)> {
        [("text", &self.text), ("json", &self.json), ("yaml", &self.yaml)]
            .into_iter()
            .find_map(|(key, leaf)| text(leaf).map(|t| (key, t)))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a trace context (a map with traceId, traceSegmentId, spanId)")]
pub(crate) struct ExpTraceContext {
    pub(crate) trace_id: Option<Leaf>,
    pub(crate) trace_segment_id: Option<Leaf>,
    pub(crate) span_id: Option<Leaf>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "log tags (a map with data)")]
pub(crate) struct ExpLogTags {
    pub(crate) data: Option<Vec<ExpKeyValue>>,
}

impl ExpectedData {
    /// Parses the document and rejects what can never be evaluated, so a
    /// broken expectation fails the same way whatever the actual data is.
    pub(crate) fn parse(yaml: &str) -> Result<ExpectedData, ValidationError> {
        if yaml.trim().is_empty() {
            return Err(invalid("document", "the expected data is empty"));
        }
        let data: Option<ExpectedData> =
            serde_yaml::from_str(yaml).map_err(|e| ValidationError::Yaml(e.to_string()))?;
        let data = data.ok_or_else(|| invalid("document", "the expected data is null"))?;
        if data.segment_items.is_none() && data.meter_items.is_none() && data.log_items.is_none() {
            // The reference tool would pass such a file without checking
            // anything; that is almost always a typo in a top-level key.
            return Err(invalid(
                "document",
                "none of segmentItems, meterItems, logItems is present, so nothing would be checked",
            ));
        }
        data.check_shape()?;
        Ok(data)
    }

    fn check_shape(&self) -> Result<(), ValidationError> {
        for (i, item) in self.segment_items.iter().flatten().enumerate() {
            let at = format!("segmentItems[{i}]");
            require(&item.service_name, &at, "serviceName")?;
            for (s, segment) in item.segments.iter().flatten().enumerate() {
                for (p, span) in segment.spans.iter().flatten().enumerate() {
                    span.check_shape(&format!("{at}.segments[{s}].spans[{p}]"))?;
                }
            }
        }
        for (i, item) in self.meter_items.iter().flatten().enumerate() {
            let at = format!("meterItems[{i}]");
            require(&item.service_name, &at, "serviceName")?;
            for (m, meter) in item.meters.iter().flatten().enumerate() {
                meter.check_shape(&format!("{at}.meters[{m}]"))?;
            }
        }
        for (i, item) in self.log_items.iter().flatten().enumerate() {
            let at = format!("logItems[{i}]");
            require(&item.service_name, &at, "serviceName")?;
            for (l, log) in item.logs.iter().flatten().enumerate() {
                log.check_shape(&format!("{at}.logs[{l}]"))?;
            }
        }
        Ok(())
    }
}

fn require(leaf: &Option<Leaf>, at: &str, key: &str) -> Result<(), ValidationError> {
    match leaf {
        Some(_) => Ok(()),
        None => Err(invalid(at, format!("'{key}' is required"))),
    }
}

fn check_pairs(pairs: &[ExpKeyValue], at: &str) -> Result<(), ValidationError> {
    for (i, pair) in pairs.iter().enumerate() {
        require(&pair.key, &format!("{at}[{i}]"), "key")?;
    }
    Ok(())
}

/// Ref keys the reference tool dereferences unconditionally in its second
/// pass (a missing one is a NullPointerException there).
const REQUIRED_REF_KEYS: [&str; 6] =
    ["parentEndpoint", "networkAddress", "parentTraceSegmentId", "parentServiceInstance", "parentService", "traceId"];

impl ExpSpan {
    fn check_shape(&self, at: &str) -> Result<(), ValidationError> {
        if let Some(tags) = &self.tags {
            check_pairs(tags, &format!("{at}.tags"))?;
        }
        for (i, log) in self.logs.iter().flatten().enumerate() {
            let at = format!("{at}.logs[{i}]");
            let events = log.log_event.as_ref().ok_or_else(|| invalid(&at, "'logEvent' is required"))?;
            check_pairs(events, &format!("{at}.logEvent"))?;
        }
        match &self.refs {
            Some(refs) if refs.is_empty() => Err(invalid(
                format!("{at}.refs"),
                "'refs: []' can never match (an empty expected list still requires actual refs); \
                 omit 'refs' to leave them unchecked",
            )),
            Some(refs) => {
                for (i, r) in refs.iter().enumerate() {
                    r.check_shape(&format!("{at}.refs[{i}]"))?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl ExpRef {
    fn check_shape(&self, at: &str) -> Result<(), ValidationError> {
        let values = [
            &self.parent_endpoint,
            &self.network_address,
            &self.parent_trace_segment_id,
            &self.parent_service_instance,
            &self.parent_service,
            &self.trace_id,
        ];
        let missing: Vec<&str> =
            REQUIRED_REF_KEYS.iter().zip(values).filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
        if !missing.is_empty() {
            return Err(invalid(
                at,
                format!("missing required ref key(s): {} (write 'not null' to accept any value)", missing.join(", ")),
            ));
        }
        if let Some(Err(reason)) = text(&self.parent_trace_segment_id).and_then(parse_parent_reference) {
            return Err(invalid(format!("{at}.parentTraceSegmentId"), reason));
        }
        Ok(())
    }
}

impl ExpMeter {
    fn check_shape(&self, at: &str) -> Result<(), ValidationError> {
        let id = self.meter_id.as_ref().ok_or_else(|| invalid(at, "'meterId' is required"))?;
        require(&id.name, &format!("{at}.meterId"), "name")?;
        for (i, tag) in id.tags.iter().flatten().enumerate() {
            require(&tag.name, &format!("{at}.meterId.tags[{i}]"), "name")?;
        }
        if self.single_value.is_some() {
            return Ok(());
        }
        let buckets = self
            .histogram_buckets
            .as_ref()
            .ok_or_else(|| invalid(at, "a meter needs either 'singleValue' or 'histogramBuckets'"))?;
        match buckets.iter().position(Option::is_none) {
            Some(i) => Err(invalid(format!("{at}.histogramBuckets[{i}]"), "a bucket bound cannot be null")),
            None => Ok(()),
        }
    }
}

impl ExpLog {
    fn check_shape(&self, at: &str) -> Result<(), ValidationError> {
        let body = self
            .body
            .as_ref()
            .ok_or_else(|| invalid(at, "'body' is required ('body: {}' checks nothing inside it)"))?;
        if let Some(content) = &body.content {
            if content.first().is_none() {
                return Err(invalid(format!("{at}.body.content"), "content needs one of 'text', 'json', 'yaml'"));
            }
        }
        if let Some(data) = self.tags.as_ref().and_then(|t| t.data.as_ref()) {
            check_pairs(data, &format!("{at}.tags.data"))?;
        }
        Ok(())
    }
}
