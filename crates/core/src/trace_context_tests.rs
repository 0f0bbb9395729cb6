//! The tracing rules, one test each (see the module documentation of `trace_context`).

use std::cell::Cell;

use prost::Message;
use sw_proto::v3::SegmentObject;

use super::*;
use crate::sw8::{decode_header, Incoming};

const ORIGIN: Origin<'static> = Origin { service: "svc", instance: "inst", sw8: None };

/// A policy with a sampling budget that counts how often it was asked.
struct TestPolicy {
    enabled: bool,
    ignored: &'static [&'static str],
    queue_full: bool,
    budget: Cell<u32>,
    asked: Cell<u32>,
}

impl Default for TestPolicy {
    fn default() -> Self {
        Self { enabled: true, ignored: &[], queue_full: false, budget: Cell::new(u32::MAX), asked: Cell::new(0) }
    }
}

impl Policy for TestPolicy {
    fn tracing_enabled(&self) -> bool {
        self.enabled
    }
    fn is_ignored(&self, op: &str) -> bool {
        self.ignored.contains(&op)
    }
    fn queue_full(&self) -> bool {
        self.queue_full
    }
    fn try_sample(&self) -> bool {
        self.asked.set(self.asked.get() + 1);
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }
}

fn caller() -> Sw8 {
    Sw8 {
        sampled: true,
        trace_id: "caller-trace".into(),
        parent_segment_id: "caller-segment".into(),
        parent_span_id: 3,
        parent_service: "up".into(),
        parent_service_instance: "up-1".into(),
        parent_endpoint: "/up".into(),
        address_used_at_client: "me:80".into(),
    }
}

fn new_span(context: &mut TraceContext, parent: Option<&mut SpanState>, o: Opening<'_>) -> SpanState {
    match context.open(parent, o, &TestPolicy::default()) {
        Opened::New { span, .. } => span,
        other => panic!("expected a new span, got {other:?}"),
    }
}

fn noop_reason(opened: Opened) -> NoopReason {
    match opened {
        Opened::Noop { span, reason } => {
            assert!(span.noop && span.data.span_id == -1);
            reason
        }
        other => panic!("expected a no-op span, got {other:?}"),
    }
}

fn start(context: &mut TraceContext, span: &mut SpanState) {
    assert!(span.start());
    context.started(span);
}

/// Stops `span`; the segment, decoded, when this finished it.
fn stop(context: &mut TraceContext, span: &mut SpanState) -> Option<SegmentObject> {
    assert!(span.stop());
    let mut sent = None;
    let finished = context.finish(span, |segment, last| {
        let mut buf = Vec::new();
        segment.encode(Some(last), ORIGIN.service, ORIGIN.instance, &mut buf);
        sent = Some(SegmentObject::decode(buf.as_slice()).unwrap());
    });
    assert_eq!(finished == Finished::SegmentDone, sent.is_some());
    sent
}

fn ops(segment: &SegmentObject) -> Vec<&str> {
    segment.spans.iter().map(|s| s.operation_name.as_str()).collect()
}

#[test]
fn an_entry_span_reuses_a_running_entry_parent_of_the_inherited_component() {
    let mut context = TraceContext::new(Limits::upstream());
    let mut server = new_span(&mut context, None, Opening::plain(Kind::Entry, "/raw".into()));
    start(&mut context, &mut server);
    server.data.component_id = 7001;
    let framework = Opening { inherit: Some(7001), ..Opening::plain(Kind::Entry, "/route".into()) };
    let opened = context.open(Some(&mut server), framework, &TestPolicy::default());
    assert!(matches!(opened, Opened::Reused { first_entry: true }), "{opened:?}");
    assert_eq!(server.data.operation_name, "/route");
    assert_eq!(context.primary_endpoint(), Some("/route"));
    // Another component nests instead.
    let other = Opening { inherit: Some(7002), ..Opening::plain(Kind::Entry, "/nested".into()) };
    let nested = new_span(&mut context, Some(&mut server), other);
    assert_eq!((nested.data.span_id, nested.data.parent_span_id), (1, 0));
    assert_eq!(context.primary_endpoint(), Some("/route"));
}

#[test]
fn an_exit_span_is_reused_by_the_component_it_names() {
    let mut context = TraceContext::new(Limits::upstream());
    let outer = Opening { component: Some(7002), inherit: Some(7003), ..Opening::plain(Kind::Exit, "/a".into()) };
    let mut exit = new_span(&mut context, None, outer);
    assert_eq!(exit.inherit, Some(7003));
    start(&mut context, &mut exit);
    let inner = Opening { peer: "db:5432".into(), component: Some(7003), ..Opening::plain(Kind::Exit, "/b".into()) };
    assert!(matches!(context.open(Some(&mut exit), inner, &TestPolicy::default()), Opened::Reused { .. }));
    assert_eq!(
        (exit.data.operation_name.as_str(), exit.data.peer.as_str(), exit.data.component_id),
        ("/b", "db:5432", 7003)
    );
    // A different component opens a child exit span.
    let other = Opening { component: Some(7004), ..Opening::plain(Kind::Exit, "/c".into()) };
    assert_eq!(new_span(&mut context, Some(&mut exit), other).data.parent_span_id, exit.data.span_id);
}

#[test]
fn sampling_is_decided_once_on_the_first_span() {
    let policy = TestPolicy { budget: Cell::new(0), ..TestPolicy::default() };
    let mut context = TraceContext::new(Limits::upstream());
    assert_eq!(
        noop_reason(context.open(None, Opening::plain(Kind::Local, "a".into()), &policy)),
        NoopReason::Unsampled
    );
    assert_eq!(
        noop_reason(context.open(None, Opening::plain(Kind::Local, "b".into()), &policy)),
        NoopReason::Unsampled
    );
    assert_eq!(policy.asked.get(), 1);
    // A sampled context asks once too.
    let policy = TestPolicy { budget: Cell::new(1), ..TestPolicy::default() };
    let mut context = TraceContext::new(Limits::upstream());
    let mut root = match context.open(None, Opening::plain(Kind::Local, "a".into()), &policy) {
        Opened::New { span, .. } => span,
        other => panic!("{other:?}"),
    };
    start(&mut context, &mut root);
    assert!(matches!(
        context.open(Some(&mut root), Opening::plain(Kind::Local, "b".into()), &policy),
        Opened::New { .. }
    ));
    assert_eq!(policy.asked.get(), 1);
}

#[test]
fn a_caller_forces_sampling() {
    let policy = TestPolicy { budget: Cell::new(0), ..TestPolicy::default() };
    let mut context = TraceContext::new(Limits::upstream());
    let entry = Opening { caller: Some(caller()), ..Opening::plain(Kind::Entry, "/in".into()) };
    assert!(matches!(context.open(None, entry, &policy), Opened::New { first_entry: true, .. }));
    assert_eq!(policy.asked.get(), 0);
}

#[test]
fn past_the_span_limit_spans_are_noops_and_counted() {
    let limits = Limits { span_limit: 2, ..Limits::upstream() };
    let mut context = TraceContext::new(limits);
    let mut root = new_span(&mut context, None, Opening::plain(Kind::Entry, "/r".into()));
    start(&mut context, &mut root);
    let child = new_span(&mut context, Some(&mut root), Opening::plain(Kind::Local, "c".into()));
    assert_eq!(child.data.span_id, 1);
    let before = spans_over_limit();
    let opened = context.open(Some(&mut root), Opening::plain(Kind::Local, "over".into()), &TestPolicy::default());
    assert_eq!(noop_reason(opened), NoopReason::SpanLimit);
    assert!(spans_over_limit() > before);
    let segment = stop(&mut context, &mut root).unwrap();
    assert!(segment.is_size_limited);
}

#[test]
fn a_full_queue_an_ignored_name_a_noop_context_or_tracing_off_give_noops() {
    let cases = [
        (TestPolicy { queue_full: true, ..TestPolicy::default() }, NoopReason::QueueFull),
        (TestPolicy { ignored: &["/health"], ..TestPolicy::default() }, NoopReason::Ignored),
        (TestPolicy { enabled: false, ..TestPolicy::default() }, NoopReason::TracingDisabled),
    ];
    for (policy, reason) in cases {
        let mut context = TraceContext::new(Limits::upstream());
        let entry = Opening { caller: Some(caller()), ..Opening::plain(Kind::Entry, "/health".into()) };
        assert_eq!(noop_reason(context.open(None, entry, &policy)), reason);
        assert_eq!(policy.asked.get(), 0, "no sampling budget spent on {reason:?}");
        assert_eq!(context.id_refs(), ("", ""));
        // The refusal is per span: the next one is decided afresh.
        assert!(matches!(
            context.open(None, Opening::plain(Kind::Local, "ok".into()), &TestPolicy::default()),
            Opened::New { .. }
        ));
    }
    let mut noop = TraceContext::noop();
    let opened = noop.open(None, Opening::plain(Kind::Local, "x".into()), &TestPolicy::default());
    assert_eq!(noop_reason(opened), NoopReason::NoopContext);
    assert_eq!(noop.segment_info(), (String::new(), Vec::new()));
}

#[test]
fn the_segment_is_done_when_its_last_started_span_stops() {
    let mut context = TraceContext::new(Limits::upstream());
    let mut root = new_span(&mut context, None, Opening::plain(Kind::Entry, "/r".into()));
    start(&mut context, &mut root);
    let mut child = new_span(&mut context, Some(&mut root), Opening::plain(Kind::Local, "child".into()));
    let mut task = new_span(&mut context, Some(&mut root), Opening::plain(Kind::Local, "task".into()));
    start(&mut context, &mut child);
    start(&mut context, &mut task);
    assert!(stop(&mut context, &mut child).is_none());
    root.tag(crate::tags::HTTP_URL, "http://h/r".into(), true);
    // The parent stops while a task it started still runs: not done yet.
    assert!(stop(&mut context, &mut root).is_none());
    // What a caller reads after a span ended stays with it after it is archived.
    assert_eq!((root.data.operation_name.as_str(), root.data.span_id, root.data.parent_span_id), ("/r", 0, -1));
    assert_eq!(root.data.tag_pairs(), [("http.url", "http://h/r")]);
    assert!(root.data.end_time >= root.data.start_time && root.data.start_time > 0);
    // Opened under the task, started only after the segment was done.
    let mut late = new_span(&mut context, Some(&mut task), Opening::plain(Kind::Local, "late".into()));
    let segment = stop(&mut context, &mut task).expect("the last span finishes the segment");
    assert_eq!(ops(&segment), ["child", "/r", "task"]);
    assert_eq!(segment.spans[1].span_type, Kind::Entry.wire() as i32);
    assert_eq!(
        (segment.spans[1].tags[0].key.as_str(), segment.spans[1].tags[0].value.as_str()),
        ("http.url", "http://h/r")
    );
    assert_eq!(segment.trace_segment_id, context.ids().1);
    // The ids stay readable after the segment went.
    assert_eq!(context.segment_info().0, segment.trace_segment_id);
    // A span of a segment that was handed over is dropped.
    start(&mut context, &mut late);
    assert!(late.stop());
    assert_eq!(context.finish(&mut late, |_, _| panic!("sent twice")), Finished::Dropped);
}

#[test]
fn a_noop_span_neither_counts_nor_finishes_the_segment() {
    let mut context = TraceContext::new(Limits::upstream());
    let mut root = new_span(&mut context, None, Opening::plain(Kind::Local, "r".into()));
    start(&mut context, &mut root);
    let mut noop = SpanState::noop(Kind::Local, "n".into());
    start(&mut context, &mut noop);
    assert!(noop.stop());
    assert_eq!(context.finish(&mut noop, |_, _| panic!("a no-op finished the segment")), Finished::Dropped);
    assert_eq!(ops(&stop(&mut context, &mut root).unwrap()), ["r"]);
}

#[test]
fn joining_a_caller_adopts_its_trace_replaces_correlation_and_refs_it() {
    let mut context = TraceContext::new(Limits::upstream());
    context.correlation.put("mine", Some("1"));
    let correlation = crate::correlation::encode(&[("k".into(), "v".into())]);
    let entry =
        Opening { caller: Some(caller()), correlation: &correlation, ..Opening::plain(Kind::Entry, "/in".into()) };
    let mut span = new_span(&mut context, None, entry);
    assert_eq!(context.id_refs().0, "caller-trace");
    assert_eq!(context.correlation.items(), [("k".to_owned(), "v".to_owned())]);
    let [reference] = span.data.refs.as_slice() else { panic!("{:?}", span.data.refs) };
    assert_eq!(reference.ref_type, RefType::CrossProcess as i32);
    assert_eq!(
        (reference.parent_trace_segment_id.as_str(), reference.parent_span_id, reference.parent_endpoint.as_str()),
        ("caller-segment", 3, "/up")
    );
    assert_eq!(reference.network_address_used_at_peer, "me:80");
    // An empty correlation header keeps the context's; the same caller twice is one ref.
    context.extract(&mut span, caller(), "");
    assert_eq!(context.correlation.len(), 1);
    assert_eq!(span.data.refs.len(), 1);
}

#[test]
fn a_snapshot_continued_elsewhere_is_a_cross_thread_ref() {
    let mut parent = TraceContext::new(Limits::upstream());
    let mut entry = new_span(&mut parent, None, Opening::plain(Kind::Entry, "/orders".into()));
    start(&mut parent, &mut entry);
    parent.correlation.put("user", Some("7"));
    let snapshot = parent.capture(&entry).unwrap();
    assert!(snapshot.is_valid());
    assert_eq!((snapshot.span_id, snapshot.endpoint.as_str()), (0, "/orders"));

    let mut worker = TraceContext::new(Limits::upstream());
    let mut local = new_span(&mut worker, None, Opening::plain(Kind::Local, "job".into()));
    worker.continued(&mut local, &snapshot, ORIGIN);
    let [reference] = local.data.refs.as_slice() else { panic!("{:?}", local.data.refs) };
    assert_eq!(reference.ref_type, RefType::CrossThread as i32);
    assert_eq!(
        (reference.parent_trace_segment_id.as_str(), reference.parent_endpoint.as_str()),
        (snapshot.segment_id.as_str(), "/orders")
    );
    assert_eq!((reference.parent_service.as_str(), reference.parent_service_instance.as_str()), ("svc", "inst"));
    assert_eq!(worker.id_refs().0, parent.id_refs().0);
    assert_eq!(worker.correlation.get("user"), Some("7"));
    // Its own segment's snapshot, an invalid one or a no-op span add nothing.
    parent.continued(&mut entry, &snapshot, ORIGIN);
    worker.continued(&mut local, &Snapshot::default(), ORIGIN);
    let mut noop = SpanState::noop(Kind::Local, String::new());
    worker.continued(&mut noop, &snapshot, ORIGIN);
    assert!(entry.data.refs.is_empty() && noop.data.refs.is_empty());
    assert_eq!(local.data.refs.len(), 1);
    assert!(parent.capture(&noop).is_none());
}

#[test]
fn a_context_following_a_finished_span_refs_it_from_its_first_span() {
    let mut parent = TraceContext::new(Limits::upstream());
    let mut entry = new_span(&mut parent, None, Opening::plain(Kind::Entry, "/orders".into()));
    start(&mut parent, &mut entry);
    stop(&mut parent, &mut entry).unwrap();
    let mut child = TraceContext::following(Limits::upstream(), &parent, &entry, ORIGIN);
    let mut first = new_span(&mut child, None, Opening::plain(Kind::Local, "task".into()));
    let [reference] = first.data.refs.as_slice() else { panic!("{:?}", first.data.refs) };
    assert_eq!(reference.ref_type, RefType::CrossThread as i32);
    assert_eq!(
        (reference.parent_trace_segment_id.as_str(), reference.parent_endpoint.as_str()),
        (parent.ids().1.as_str(), "/orders")
    );
    assert_eq!(child.id_refs().0, parent.id_refs().0);
    start(&mut child, &mut first);
    let second = new_span(&mut child, Some(&mut first), Opening::plain(Kind::Local, "more".into()));
    assert!(second.data.refs.is_empty());
    // A no-op span gives no reference.
    let empty =
        TraceContext::following(Limits::upstream(), &parent, &SpanState::noop(Kind::Local, String::new()), ORIGIN);
    assert!(empty.pending_ref.is_none());
}

#[test]
fn the_primary_endpoint_is_the_first_entry_span_else_the_first_span() {
    let mut context = TraceContext::new(Limits::upstream());
    let mut local = new_span(&mut context, None, Opening::plain(Kind::Local, "work".into()));
    assert_eq!(context.primary_endpoint(), Some("work"));
    start(&mut context, &mut local);
    let mut entry = new_span(&mut context, Some(&mut local), Opening::plain(Kind::Entry, "/in".into()));
    assert_eq!(context.primary_endpoint(), Some("/in"));
    start(&mut context, &mut entry);
    new_span(&mut context, Some(&mut entry), Opening::plain(Kind::Entry, "/second".into()));
    assert_eq!(context.primary_endpoint(), Some("/in"));
}

#[test]
fn exit_spans_send_the_segment_endpoint_and_others_cannot_inject() {
    let mut context = TraceContext::new(Limits::upstream());
    context.correlation.put("k", Some("v"));
    let mut entry = new_span(&mut context, None, Opening::plain(Kind::Entry, "/in".into()));
    start(&mut context, &mut entry);
    let exit = Opening { peer: "down:80".into(), ..Opening::plain(Kind::Exit, "/down".into()) };
    let exit = new_span(&mut context, Some(&mut entry), exit);
    let (value, correlation) = context.headers(&exit, ORIGIN).unwrap();
    let Incoming::Valid(sent) = decode_header(&value) else { panic!("{value}") };
    assert_eq!((sent.trace_id.as_str(), sent.parent_segment_id.as_str()), context.id_refs());
    assert_eq!(
        (sent.parent_span_id, sent.parent_endpoint.as_str(), sent.address_used_at_client.as_str()),
        (1, "/in", "down:80")
    );
    assert_eq!((sent.parent_service.as_str(), sent.parent_service_instance.as_str()), ("svc", "inst"));
    assert_eq!(crate::correlation::decode(&correlation, 3, 128), [("k".to_owned(), "v".to_owned())]);
    assert_eq!(context.headers(&entry, ORIGIN), Err(NotAnExitSpan));
    let noop = SpanState::noop(Kind::Entry, String::new());
    assert_eq!(context.headers(&noop, ORIGIN), Ok((sw8::NOOP_SW8.to_owned(), String::new())));
}

#[test]
fn create_time_is_the_first_span_start_or_the_first_question() {
    let mut context = TraceContext::new(Limits::upstream());
    let mut span = new_span(&mut context, None, Opening::plain(Kind::Local, "a".into()));
    start(&mut context, &mut span);
    assert_eq!(context.create_time(), span.data.start_time);
    let mut asked = TraceContext::new(Limits::upstream());
    let first = asked.create_time();
    assert!(first > 0);
    let mut later = SpanState::new(Kind::Local, SpanData { start_time: first + 10, ..SpanData::default() });
    asked.started(&later);
    assert_eq!(asked.create_time(), first);
    later.finished = true;
}
