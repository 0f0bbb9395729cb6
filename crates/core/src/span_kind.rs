//! Span kinds as the Python API numbers them, and as the wire numbers them.

use sw_proto::v3::SpanType;

/// Upstream's `skywalking.Kind`: Local=0, Entry=1, Exit=2. The wire's `SpanType` numbers
/// them Entry=0, Exit=1, Local=2 (upstream sends the kind by name, so that comes out
/// right there); [`Kind::wire`] maps one to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Local = 0,
    Entry = 1,
    Exit = 2,
}

impl Kind {
    /// The kind as `SpanObject.spanType`.
    #[must_use]
    pub fn wire(self) -> SpanType {
        match self {
            Kind::Entry => SpanType::Entry,
            Kind::Exit => SpanType::Exit,
            Kind::Local => SpanType::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_numbers_are_upstreams_and_wire_numbers_the_protocols() {
        assert_eq!([Kind::Local as i32, Kind::Entry as i32, Kind::Exit as i32], [0, 1, 2]);
        assert_eq!(Kind::Entry.wire() as i32, 0);
        assert_eq!(Kind::Exit.wire() as i32, 1);
        assert_eq!(Kind::Local.wire() as i32, 2);
    }
}
