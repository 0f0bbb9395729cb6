//! A span's data while it runs and until its segment is encoded: the fields of the wire's
//! `SpanObject`, except that a tag's key need not be an owned string. Nearly every tag
//! key is one of the constants of [`crate::tags`]; borrowing it saves an allocation and a
//! free per tag (four per database or cache call). The segment encoder writes this type
//! directly (`span_encoding`), byte for byte as prost writes the `SpanObject` that
//! [`SpanData::to_proto`] gives.

use std::borrow::Cow;

use sw_proto::v3::{KeyStringValuePair, Log, SegmentReference, SpanObject};

/// A tag's key: a constant of [`crate::tags`] (borrowed) or any other text (owned).
pub type TagKey = Cow<'static, str>;

/// One tag of a span.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tag {
    pub key: TagKey,
    pub value: String,
}

/// The fields of `SpanObject` (`proto/language-agent/Tracing.proto`), with [`Tag`]s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpanData {
    pub span_id: i32,
    pub parent_span_id: i32,
    pub start_time: i64,
    pub end_time: i64,
    pub refs: Vec<SegmentReference>,
    pub operation_name: String,
    pub peer: String,
    pub span_type: i32,
    pub span_layer: i32,
    pub component_id: i32,
    pub is_error: bool,
    pub tags: Vec<Tag>,
    pub logs: Vec<Log>,
    pub skip_analysis: bool,
}

impl SpanData {
    /// The same span as the wire type (tests, and whatever needs prost's message).
    #[must_use]
    pub fn to_proto(&self) -> SpanObject {
        SpanObject {
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            start_time: self.start_time,
            end_time: self.end_time,
            refs: self.refs.clone(),
            operation_name: self.operation_name.clone(),
            peer: self.peer.clone(),
            span_type: self.span_type,
            span_layer: self.span_layer,
            component_id: self.component_id,
            is_error: self.is_error,
            tags: self
                .tags
                .iter()
                .map(|t| KeyStringValuePair { key: t.key.clone().into_owned(), value: t.value.clone() })
                .collect(),
            logs: self.logs.clone(),
            skip_analysis: self.skip_analysis,
        }
    }

    /// The tags as (key, value) pairs, in order.
    #[must_use]
    pub fn tag_pairs(&self) -> Vec<(&str, &str)> {
        self.tags.iter().map(|t| (&*t.key, t.value.as_str())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_proto_keeps_every_field_and_tag() {
        let data = SpanData {
            span_id: 2,
            parent_span_id: 1,
            start_time: 10,
            end_time: 20,
            refs: vec![SegmentReference { trace_id: "t".into(), ..Default::default() }],
            operation_name: "op".into(),
            peer: "peer".into(),
            span_type: 1,
            span_layer: 2,
            component_id: 3,
            is_error: true,
            tags: vec![
                Tag { key: Cow::Borrowed(crate::tags::DB_TYPE), value: "mysql".into() },
                Tag { key: Cow::Owned("custom".into()), value: "v".into() },
            ],
            logs: vec![Log { time: 5, data: vec![] }],
            skip_analysis: true,
        };
        let proto = data.to_proto();
        assert_eq!((proto.span_id, proto.parent_span_id, proto.start_time, proto.end_time), (2, 1, 10, 20));
        assert_eq!((proto.operation_name.as_str(), proto.peer.as_str()), ("op", "peer"));
        assert_eq!((proto.span_type, proto.span_layer, proto.component_id), (1, 2, 3));
        assert!(proto.is_error && proto.skip_analysis);
        assert_eq!((proto.refs, proto.logs), (data.refs.clone(), data.logs.clone()));
        let tags: Vec<_> = proto.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        assert_eq!(tags, data.tag_pairs());
        assert_eq!(tags, vec![("db.type", "mysql"), ("custom", "v")]);
    }
}
