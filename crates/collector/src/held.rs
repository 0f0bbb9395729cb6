//! How many bytes a decoded value holds in memory: its own size plus everything it owns on
//! the heap.
//!
//! The store's byte budgets count this, not the encoded size: an empty span is 2 bytes on
//! the wire and about 150 decoded, so a budget of encoded bytes let a few messages of empty
//! spans take gigabytes. Vectors are counted by capacity, strings by capacity, so the figure
//! is what the allocator was asked for (its own per-allocation overhead aside).

use std::collections::HashMap;
use std::mem::size_of;

use sw_proto::v3::{
    log_data_body, meter_data, Event, InstanceProperties, KeyStringValuePair, Label, Log, LogData, MeterBucketValue,
    MeterData, SegmentObject, SegmentReference, SpanObject, ThreadSnapshot,
};

/// Bytes a value owns on the heap (not counting its own `size_of`).
pub trait Heap {
    /// Heap bytes owned.
    fn heap(&self) -> usize;
}

/// Bytes `value` holds: its own size plus its heap.
pub fn held<T: Heap>(value: &T) -> usize {
    size_of::<T>() + value.heap()
}

impl Heap for String {
    fn heap(&self) -> usize {
        self.capacity()
    }
}

impl<T: Heap> Heap for Vec<T> {
    fn heap(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(Heap::heap).sum::<usize>()
    }
}

impl<T: Heap> Heap for Option<T> {
    fn heap(&self) -> usize {
        self.as_ref().map_or(0, Heap::heap)
    }
}

impl<A: Heap, B: Heap> Heap for (A, B) {
    fn heap(&self) -> usize {
        self.0.heap() + self.1.heap()
    }
}

impl Heap for HashMap<String, String> {
    fn heap(&self) -> usize {
        // Buckets plus one control byte each; hashbrown keeps capacity a bit above len.
        self.capacity() * (size_of::<(String, String)>() + 1)
            + self.iter().map(|(k, v)| k.heap() + v.heap()).sum::<usize>()
    }
}

/// Plain values own nothing.
macro_rules! no_heap {
    ($($t:ty),*) => { $(impl Heap for $t { fn heap(&self) -> usize { 0 } })* };
}
no_heap!(MeterBucketValue);

impl Heap for KeyStringValuePair {
    fn heap(&self) -> usize {
        self.key.heap() + self.value.heap()
    }
}

impl Heap for Label {
    fn heap(&self) -> usize {
        self.name.heap() + self.value.heap()
    }
}

impl Heap for SegmentReference {
    fn heap(&self) -> usize {
        self.trace_id.heap()
            + self.parent_trace_segment_id.heap()
            + self.parent_service.heap()
            + self.parent_service_instance.heap()
            + self.parent_endpoint.heap()
            + self.network_address_used_at_peer.heap()
    }
}

impl Heap for Log {
    fn heap(&self) -> usize {
        self.data.heap()
    }
}

impl Heap for SpanObject {
    fn heap(&self) -> usize {
        self.refs.heap() + self.operation_name.heap() + self.peer.heap() + self.tags.heap() + self.logs.heap()
    }
}

impl Heap for SegmentObject {
    fn heap(&self) -> usize {
        self.trace_id.heap()
            + self.trace_segment_id.heap()
            + self.spans.heap()
            + self.service.heap()
            + self.service_instance.heap()
    }
}

impl Heap for LogData {
    fn heap(&self) -> usize {
        let body = self.body.as_ref().map_or(0, |b| {
            size_of_val(b)
                + b.r#type.heap()
                + match &b.content {
                    Some(log_data_body::Content::Text(t)) => t.text.heap(),
                    Some(log_data_body::Content::Json(j)) => j.json.heap(),
                    Some(log_data_body::Content::Yaml(y)) => y.yaml.heap(),
                    None => 0,
                }
        });
        let context =
            self.trace_context.as_ref().map_or(0, |c| size_of_val(c) + c.trace_id.heap() + c.trace_segment_id.heap());
        let tags = self.tags.as_ref().map_or(0, |t| size_of_val(t) + t.data.heap());
        self.service.heap()
            + self.service_instance.heap()
            + self.endpoint.heap()
            + self.layer.heap()
            + body
            + context
            + tags
    }
}

impl Heap for MeterData {
    fn heap(&self) -> usize {
        let metric = match &self.metric {
            Some(meter_data::Metric::SingleValue(v)) => v.name.heap() + v.labels.heap(),
            Some(meter_data::Metric::Histogram(h)) => h.name.heap() + h.labels.heap() + h.values.heap(),
            None => 0,
        };
        metric + self.service.heap() + self.service_instance.heap()
    }
}

impl Heap for ThreadSnapshot {
    fn heap(&self) -> usize {
        let stack = self.stack.as_ref().map_or(0, |s| size_of_val(s) + s.code_signatures.heap());
        self.task_id.heap() + self.trace_segment_id.heap() + stack
    }
}

impl Heap for Event {
    fn heap(&self) -> usize {
        let source = self
            .source
            .as_ref()
            .map_or(0, |s| size_of_val(s) + s.service.heap() + s.service_instance.heap() + s.endpoint.heap());
        self.uuid.heap() + source + self.name.heap() + self.message.heap() + self.parameters.heap() + self.layer.heap()
    }
}

impl Heap for InstanceProperties {
    fn heap(&self) -> usize {
        self.service.heap() + self.service_instance.heap() + self.properties.heap() + self.layer.heap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn empty_spans_count_far_more_than_their_wire_size() {
        let segment = SegmentObject { spans: vec![SpanObject::default(); 1000], ..SegmentObject::default() };
        let decoded = SegmentObject::decode(segment.encode_to_vec().as_slice()).expect("valid");
        assert_eq!(decoded.encoded_len(), 2000);
        assert!(held(&decoded) >= 1000 * size_of::<SpanObject>(), "{}", held(&decoded));
    }

    #[test]
    fn strings_count_their_capacity() {
        let pair = KeyStringValuePair { key: "k".repeat(100), value: String::with_capacity(50) };
        assert_eq!(held(&pair), size_of::<KeyStringValuePair>() + 150);
    }
}
