//! One span's own rules, apart from its segment: start and stop count depth so that a
//! reused span (an entry span inherited by a framework, an exit span inherited by a client
//! library) finishes once; an entry span forgets component, layer, tags and logs on every
//! start (plugins set them inside the `with`); a no-op span records nothing.
//!
//! The span's data is kept in its wire form's shape ([`SpanData`]) while it runs, so that
//! finishing it is a move into its segment, not a conversion.

use sw_proto::v3::SpanLayer;

use crate::segment::{add_log, now_ms, set_tag};
use crate::span_data::{SpanData, TagKey};
use crate::span_kind::Kind;
use crate::tags;

/// A span's state: what it records and where it is in its life.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanState {
    /// The span in its wire form's shape; encoded into its segment when it finishes, and
    /// kept whole here for whoever reads it after (see
    /// [`crate::trace_context::TraceContext::finish`]).
    pub data: SpanData,
    pub kind: Kind,
    /// `start()` calls minus `stop()` calls; the span finishes when it returns to 0.
    pub depth: u32,
    /// Component an inner plugin must pass to reuse this exit span instead of nesting.
    pub inherit: Option<i32>,
    /// Records nothing: ignored, unsampled, over the span limit, or in a no-op context.
    pub noop: bool,
    pub finished: bool,
}

impl SpanState {
    /// A span that records.
    #[must_use]
    pub fn new(kind: Kind, data: SpanData) -> Self {
        Self { data, kind, depth: 0, inherit: None, noop: false, finished: false }
    }

    /// A span that records nothing but still takes part in the active stack, so that
    /// nothing under an ignored or unsampled span is traced either.
    #[must_use]
    pub fn noop(kind: Kind, op: String) -> Self {
        let data = SpanData { operation_name: op, span_id: -1, parent_span_id: -1, ..SpanData::default() };
        Self { data, kind, depth: 0, inherit: None, noop: true, finished: false }
    }

    /// One `start()`. True when this call started the span (its first start): it then has
    /// its start time and goes on the active stack.
    pub fn start(&mut self) -> bool {
        self.depth += 1;
        if self.kind == Kind::Entry {
            self.reset_entry();
        }
        if self.depth > 1 || self.finished {
            return false;
        }
        self.data.start_time = now_ms();
        true
    }

    /// One `stop()`. True when this call finished the span (depth back to 0): it then has
    /// its end time, leaves the active stack and goes to its segment.
    pub fn stop(&mut self) -> bool {
        if self.depth == 0 || self.finished {
            return false;
        }
        self.depth -= 1;
        if self.depth > 0 {
            return false;
        }
        self.finished = true;
        self.data.end_time = now_ms();
        true
    }

    fn reset_entry(&mut self) {
        self.data.component_id = 0;
        self.data.span_layer = SpanLayer::Unknown as i32;
        self.data.logs.clear();
        self.data.tags.clear();
    }

    /// Marks the span as an error with a `Traceback` log: `replace_logs` for an exception
    /// leaving the span (`raised()`, upstream replaces the logs), else appended (`log(ex)`).
    pub fn record_error(&mut self, traceback: String, replace_logs: bool) {
        if self.noop {
            return;
        }
        self.data.is_error = true;
        if replace_logs {
            self.data.logs.clear();
        }
        add_log(&mut self.data, now_ms(), vec![("Traceback".to_owned(), traceback)]);
    }

    /// Records a tag (see [`set_tag`] for overriding); nothing on a no-op span.
    pub fn tag(&mut self, key: impl Into<TagKey>, value: String, overridable: bool) {
        if !self.noop {
            set_tag(&mut self.data, key, value, overridable);
        }
    }

    /// `http.status_code`, and the error flag for 4xx and 5xx answers, as upstream's plugins.
    pub fn tag_http_status(&mut self, status: i64) {
        if self.noop {
            return;
        }
        if status >= 400 {
            self.data.is_error = true;
        }
        set_tag(&mut self.data, tags::HTTP_STATUS_CODE, itoa::Buffer::new().format(status).to_owned(), true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(span: &SpanState) -> Vec<(&str, &str)> {
        span.data.tag_pairs()
    }

    #[test]
    fn a_reused_span_finishes_on_its_last_stop_only() {
        let mut span = SpanState::new(Kind::Local, SpanData::default());
        assert!(span.start());
        let started = span.data.start_time;
        assert!(started > 0);
        assert!(!span.start());
        assert_eq!((span.depth, span.data.start_time), (2, started));
        assert!(!span.stop());
        assert!(!span.finished);
        assert!(span.stop());
        assert!(span.finished && span.data.end_time >= started);
        // Stopping or starting again does not bring it back.
        assert!(!span.stop());
        assert!(!span.start());
    }

    #[test]
    fn an_entry_span_forgets_component_layer_tags_and_logs_on_every_start() {
        let mut span = SpanState::new(Kind::Entry, SpanData::default());
        span.start();
        span.data.component_id = 7001;
        span.data.span_layer = SpanLayer::Http as i32;
        span.tag("k", "v".into(), true);
        span.record_error("boom".into(), false);
        span.start();
        assert_eq!((span.data.component_id, span.data.span_layer), (0, 0));
        assert!(span.data.tags.is_empty() && span.data.logs.is_empty());
        // An exit span keeps them.
        let mut exit = SpanState::new(Kind::Exit, SpanData::default());
        exit.start();
        exit.data.component_id = 7002;
        exit.start();
        assert_eq!(exit.data.component_id, 7002);
    }

    #[test]
    fn errors_replace_or_append_the_traceback_log() {
        let mut span = SpanState::new(Kind::Local, SpanData::default());
        span.record_error("first".into(), false);
        span.record_error("second".into(), false);
        assert_eq!(span.data.logs.len(), 2);
        span.record_error("raised".into(), true);
        assert!(span.data.is_error);
        let [log] = span.data.logs.as_slice() else { panic!("{:?}", span.data.logs) };
        assert_eq!((log.data[0].key.as_str(), log.data[0].value.as_str()), ("Traceback", "raised"));
    }

    #[test]
    fn http_status_tags_and_flags_errors_from_400() {
        let mut span = SpanState::new(Kind::Entry, SpanData::default());
        span.tag_http_status(302);
        assert!(!span.data.is_error);
        span.tag_http_status(404);
        assert!(span.data.is_error);
        assert_eq!(tags(&span), vec![("http.status_code", "404")]);
    }

    #[test]
    fn a_noop_span_records_nothing() {
        let mut span = SpanState::noop(Kind::Exit, "/x".into());
        assert!(span.start());
        span.tag("k", "v".into(), true);
        span.tag_http_status(500);
        span.record_error("boom".into(), true);
        assert!(span.stop());
        assert!(span.data.tags.is_empty() && span.data.logs.is_empty() && !span.data.is_error);
        assert_eq!((span.data.span_id, span.data.parent_span_id, span.data.operation_name.as_str()), (-1, -1, "/x"));
    }

    #[test]
    fn only_sql_parameters_repeat() {
        assert!(tags::overridable(tags::HTTP_URL));
        assert!(!tags::overridable(tags::DB_SQL_PARAMETERS));
    }
}
