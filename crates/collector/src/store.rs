//! The bounded in-memory store behind every receiver and every query.
//!
//! Each kind of data sits in its own ring: when a ring is full the oldest item is dropped and
//! counted, so memory stays bounded however fast agents send. One mutex guards everything;
//! every critical section is a push or a scan, never I/O.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use prost::Message;
use serde::{Deserialize, Serialize};
use sw_proto::v3::{Event, InstancePingPkg, InstanceProperties, LogData, MeterData, SegmentObject, ThreadSnapshot};

use crate::config::StoreLimits;
use crate::profile_tasks::{ProfileTaskRecord, ProfileTaskSpec, TaskFinish};
use crate::ring::Ring;
use crate::segment_ring::SegmentRing;
use crate::wire::{count_messages, Malformed};

/// The field of `SegmentObject` that holds its spans.
const SEGMENT_SPANS_FIELD: u32 = 3;

/// Instances (service + instance name pairs) remembered; the least recently seen goes first.
pub const MAX_INSTANCES: usize = 10_000;
/// Events kept (agents rarely send them).
pub const MAX_EVENTS: usize = 10_000;
/// Profile tasks kept; tasks are created by people, so this is never reached in practice.
pub const MAX_TASKS: usize = 1_000;
/// Encoded bytes kept per kind of data, on top of the item limits: a count limit alone would
/// let a few thousand maximum-size (4 MiB) messages take gigabytes.
pub const MAX_BYTES_PER_KIND: usize = 256 * 1024 * 1024;

/// Counters for one kind of data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStats {
    /// Items received and parsed (including ignored ones).
    pub received: u64,
    /// Items held right now.
    pub stored: u64,
    /// Items dropped because the store was full, in items or bytes (oldest first).
    pub evicted: u64,
    /// Requests or streams refused as malformed (an undecodable unary gRPC request is refused
    /// by the gRPC layer before it reaches the store, so it is not counted).
    pub rejected: u64,
    /// Items parsed but deliberately not kept (a segment without spans, a meter without a value).
    pub ignored: u64,
}

/// Every counter of the store, as served by `GET /api/stats`.
///
/// Counters are cumulative since start; a reset clears the data but not the counters
/// (only `stored` goes back to 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Trace segments.
    pub segments: KindStats,
    /// Log records.
    pub logs: KindStats,
    /// Meter values.
    pub meters: KindStats,
    /// Profile thread snapshots.
    pub snapshots: KindStats,
    /// Events.
    pub events: KindStats,
    /// Instance-properties reports (`stored` = instances known).
    pub instance_properties: KindStats,
    /// keepAlive pings.
    pub keep_alives: KindStats,
    /// Profile task finish reports.
    pub task_finishes: KindStats,
    /// Profile tasks created (`stored` = tasks held).
    pub profile_tasks: KindStats,
    /// How many times the store was reset.
    pub resets: u64,
}

/// The kinds of data a request can be rejected for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Trace segments.
    Segment,
    /// Log records.
    Log,
    /// Meter values.
    Meter,
    /// Profile thread snapshots.
    Snapshot,
    /// Events.
    Event,
    /// Instance properties.
    Properties,
    /// keepAlive pings.
    KeepAlive,
    /// Profile task finish reports.
    TaskFinish,
    /// Profile task creation.
    ProfileTask,
}

/// What the collector knows about one service instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    /// Service name.
    pub service: String,
    /// Instance name.
    pub instance: String,
    /// Layer from the latest report or ping (empty = OAP's `general`).
    pub layer: String,
    /// Properties from the latest `reportInstanceProperties`, in the order sent.
    pub properties: Vec<(String, String)>,
    /// When properties were last reported, epoch ms.
    pub properties_time: Option<i64>,
    /// When the last keepAlive arrived, epoch ms.
    pub last_keep_alive: Option<i64>,
    /// keepAlive pings received.
    pub keep_alive_count: u64,
    /// Last time anything arrived for this instance, epoch ms (used for eviction).
    pub last_seen: i64,
}

/// The data held by the store, borrowed for the length of a query.
#[derive(Debug)]
pub struct Data<'a> {
    /// Segments, oldest first.
    pub segments: &'a VecDeque<SegmentObject>,
    /// Logs, oldest first.
    pub logs: &'a VecDeque<LogData>,
    /// Meter values with the service they belong to (after stream carry-over), oldest first.
    pub meters: &'a VecDeque<(String, MeterData)>,
    /// Profile snapshots, oldest first.
    pub snapshots: &'a VecDeque<ThreadSnapshot>,
    /// Events, oldest first.
    pub events: &'a VecDeque<Event>,
    /// Known instances, keyed by (service, instance).
    pub instances: &'a HashMap<(String, String), InstanceRecord>,
    /// Profile tasks, oldest first.
    pub tasks: &'a VecDeque<ProfileTaskRecord>,
}

#[derive(Debug)]
struct Inner {
    segments: SegmentRing,
    logs: Ring<LogData>,
    meters: Ring<(String, MeterData)>,
    snapshots: Ring<ThreadSnapshot>,
    events: Ring<Event>,
    tasks: Ring<ProfileTaskRecord>,
    instances: HashMap<(String, String), InstanceRecord>,
    properties_stats: KindStats,
    keep_alive_stats: KindStats,
    finish_stats: KindStats,
    resets: u64,
    /// Bumped on every change, so persistence knows when there is something to write.
    generation: u64,
}

/// The collector's store: bounded rings of every kind of data plus the instance registry
/// and the profile tasks. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    limits: StoreLimits,
    inner: Mutex<Inner>,
    /// Settings handed to agents through configuration discovery (not persisted).
    pub configs: crate::dynamic_config::DynamicConfigs,
}

impl Store {
    /// An empty store with the given bounds (and [`MAX_BYTES_PER_KIND`]).
    pub fn new(limits: StoreLimits) -> Self {
        Self::with_byte_budget(limits, MAX_BYTES_PER_KIND)
    }

    /// An empty store that also keeps at most `max_bytes` of encoded data per kind.
    pub fn with_byte_budget(limits: StoreLimits, max_bytes: usize) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner {
                segments: SegmentRing::new(limits.max_segments, max_bytes),
                logs: Ring::new(limits.max_logs, max_bytes),
                meters: Ring::new(limits.max_meters, max_bytes),
                snapshots: Ring::new(limits.max_snapshots, max_bytes),
                events: Ring::new(MAX_EVENTS, max_bytes),
                tasks: Ring::new(MAX_TASKS, usize::MAX),
                instances: HashMap::new(),
                properties_stats: KindStats::default(),
                keep_alive_stats: KindStats::default(),
                finish_stats: KindStats::default(),
                resets: 0,
                generation: 0,
            }),
            configs: crate::dynamic_config::DynamicConfigs::default(),
        }
    }

    /// The bounds this store was created with.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain data behind, still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records an encoded segment received over gRPC, kept as it came and decoded when first
    /// read. Like the mock collector, a segment without spans is counted but not kept. A
    /// segment whose framing is broken is refused (the caller counts the rejection).
    pub fn add_grpc_segment(&self, segment: Bytes) -> Result<(), Malformed> {
        // Checked before locking: the lock is shared by every receiver.
        let spans = count_messages(&segment, SEGMENT_SPANS_FIELD)?;
        let mut inner = self.lock();
        inner.generation += 1;
        if spans == 0 {
            inner.segments.ignore();
        } else {
            inner.segments.push_encoded(segment);
        }
        Ok(())
    }

    /// Records a segment received over HTTP: kept even without spans, as the mock collector does.
    pub fn add_segment(&self, segment: SegmentObject) {
        let size = segment.encoded_len();
        let mut inner = self.lock();
        inner.generation += 1;
        inner.segments.push(segment, size);
    }

    /// Records a log record.
    pub fn add_log(&self, log: LogData) {
        let size = log.encoded_len();
        let mut inner = self.lock();
        inner.generation += 1;
        inner.logs.push(log, size);
    }

    /// Records a meter value for `service` (the caller resolves stream carry-over);
    /// a value with no metric set is counted and ignored.
    pub fn add_meter(&self, service: String, meter: MeterData) {
        let size = service.len() + meter.encoded_len();
        let mut inner = self.lock();
        inner.generation += 1;
        if meter.metric.is_none() {
            inner.meters.ignore();
        } else {
            inner.meters.push((service, meter), size);
        }
    }

    /// Records a profile thread snapshot.
    pub fn add_snapshot(&self, snapshot: ThreadSnapshot) {
        let size = snapshot.encoded_len();
        let mut inner = self.lock();
        inner.generation += 1;
        inner.snapshots.push(snapshot, size);
    }

    /// Records an event.
    pub fn add_event(&self, event: Event) {
        let size = event.encoded_len();
        let mut inner = self.lock();
        inner.generation += 1;
        inner.events.push(event, size);
    }

    /// Records an instance-properties report at `now_ms`.
    pub fn report_properties(&self, report: InstanceProperties, now_ms: i64) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.properties_stats.received += 1;
        let record = instance_entry(&mut inner, report.service, report.service_instance, now_ms);
        if !report.layer.is_empty() {
            record.layer = report.layer;
        }
        record.properties = report.properties.into_iter().map(|kv| (kv.key, kv.value)).collect();
        record.properties_time = Some(now_ms);
    }

    /// Records a keepAlive ping at `now_ms`.
    pub fn keep_alive(&self, ping: InstancePingPkg, now_ms: i64) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.keep_alive_stats.received += 1;
        let record = instance_entry(&mut inner, ping.service, ping.service_instance, now_ms);
        if !ping.layer.is_empty() {
            record.layer = ping.layer;
        }
        record.last_keep_alive = Some(now_ms);
        record.keep_alive_count += 1;
    }

    /// Stores a new profile task with a generated id and a create time that is at least
    /// `now_ms` and later than every other task's, so that an agent polling with the last
    /// create time it saw never misses a task created in the same millisecond.
    pub fn create_task(&self, spec: ProfileTaskSpec, now_ms: i64) -> ProfileTaskRecord {
        let mut inner = self.lock();
        inner.generation += 1;
        let newest = inner.tasks.items.iter().map(|t| t.create_time).max();
        let create_time = newest.map_or(now_ms, |n| now_ms.max(n.saturating_add(1)));
        let task = ProfileTaskRecord {
            id: format!("task-{create_time}-{}", inner.tasks.stats.received + 1),
            spec,
            create_time,
            finishes: Vec::new(),
        };
        inner.tasks.push(task.clone(), 0);
        task
    }

    /// Tasks for `service` created after `last_command_time`, oldest first.
    pub fn tasks_after(&self, service: &str, last_command_time: i64) -> Vec<ProfileTaskRecord> {
        self.read(|d| {
            d.tasks.iter().filter(|t| t.spec.service == service && t.create_time > last_command_time).cloned().collect()
        })
    }

    /// Records a task-finish report; returns false (and counts it ignored) when the task is unknown.
    pub fn finish_task(&self, task_id: &str, service_instance: String, now_ms: i64) -> bool {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.finish_stats.received += 1;
        match inner.tasks.items.iter_mut().find(|t| t.id == task_id) {
            Some(task) => {
                task.finishes.push(TaskFinish { service_instance, time: now_ms });
                true
            }
            None => {
                inner.finish_stats.ignored += 1;
                false
            }
        }
    }

    /// Counts a malformed request or stream of the given kind.
    pub fn reject(&self, kind: Kind) {
        let mut inner = self.lock();
        let stats = match kind {
            Kind::Segment => inner.segments.stats_mut(),
            Kind::Log => &mut inner.logs.stats,
            Kind::Meter => &mut inner.meters.stats,
            Kind::Snapshot => &mut inner.snapshots.stats,
            Kind::Event => &mut inner.events.stats,
            Kind::Properties => &mut inner.properties_stats,
            Kind::KeepAlive => &mut inner.keep_alive_stats,
            Kind::TaskFinish => &mut inner.finish_stats,
            Kind::ProfileTask => &mut inner.tasks.stats,
        };
        stats.rejected += 1;
    }

    /// Drops every item of every kind (segments, logs, meters, snapshots, events, instances,
    /// profile tasks); counters keep counting.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.resets += 1;
        inner.segments.clear();
        inner.logs.clear();
        inner.meters.clear();
        inner.snapshots.clear();
        inner.events.clear();
        inner.tasks.clear();
        inner.instances.clear();
    }

    /// Replaces everything with persisted contents (within this store's limits); loading
    /// does not count as receiving, so the counters start at zero.
    pub fn restore(&self, contents: crate::persist::Contents) {
        let mut inner = self.lock();
        inner.generation += 1;
        fn refill<T>(ring: &mut Ring<T>, items: Vec<T>, size: impl Fn(&T) -> usize) {
            ring.clear();
            for item in items {
                let n = size(&item);
                ring.push(item, n);
            }
            ring.stats = KindStats::default();
        }
        inner.segments.refill(contents.segments);
        refill(&mut inner.logs, contents.logs, Message::encoded_len);
        refill(&mut inner.meters, contents.meters, |(s, m)| s.len() + m.encoded_len());
        refill(&mut inner.snapshots, contents.snapshots, Message::encoded_len);
        refill(&mut inner.events, contents.events, Message::encoded_len);
        refill(&mut inner.tasks, contents.tasks, |_| 0);
        inner.instances = contents
            .instances
            .into_iter()
            .take(MAX_INSTANCES)
            .map(|r| ((r.service.clone(), r.instance.clone()), r))
            .collect();
    }

    /// Runs `f` over the data while holding the lock; keep `f` short.
    pub fn read<R>(&self, f: impl FnOnce(Data<'_>) -> R) -> R {
        let mut inner = self.lock();
        inner.segments.decode_pending();
        f(Data {
            segments: inner.segments.decoded(),
            logs: &inner.logs.items,
            meters: &inner.meters.items,
            snapshots: &inner.snapshots.items,
            events: &inner.events.items,
            instances: &inner.instances,
            tasks: &inner.tasks.items,
        })
    }

    /// A copy of the stored segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentObject> {
        self.read(|d| d.segments.iter().cloned().collect())
    }

    /// A copy of the stored logs, oldest first.
    pub fn logs(&self) -> Vec<LogData> {
        self.read(|d| d.logs.iter().cloned().collect())
    }

    /// A copy of the stored meter values with their services, oldest first.
    pub fn meters(&self) -> Vec<(String, MeterData)> {
        self.read(|d| d.meters.iter().cloned().collect())
    }

    /// A copy of the stored snapshots, oldest first.
    pub fn snapshots(&self) -> Vec<ThreadSnapshot> {
        self.read(|d| d.snapshots.iter().cloned().collect())
    }

    /// A copy of the stored events, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.read(|d| d.events.iter().cloned().collect())
    }

    /// The known instances, sorted by service then instance.
    pub fn instances(&self) -> Vec<InstanceRecord> {
        let mut all: Vec<InstanceRecord> = self.read(|d| d.instances.values().cloned().collect());
        all.sort_by(|a, b| (&a.service, &a.instance).cmp(&(&b.service, &b.instance)));
        all
    }

    /// A copy of the profile tasks, oldest first.
    pub fn tasks(&self) -> Vec<ProfileTaskRecord> {
        self.read(|d| d.tasks.iter().cloned().collect())
    }

    /// The current counters.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            segments: inner.segments.snapshot_stats(),
            logs: inner.logs.snapshot_stats(),
            meters: inner.meters.snapshot_stats(),
            snapshots: inner.snapshots.snapshot_stats(),
            events: inner.events.snapshot_stats(),
            instance_properties: KindStats { stored: inner.instances.len() as u64, ..inner.properties_stats },
            keep_alives: inner.keep_alive_stats,
            task_finishes: inner.finish_stats,
            profile_tasks: inner.tasks.snapshot_stats(),
            resets: inner.resets,
        }
    }

    /// A number that changes whenever the data changes.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }
}

/// The record for (service, instance), created if needed; evicts the least recently seen
/// instance when the registry is full.
fn instance_entry(inner: &mut Inner, service: String, instance: String, now_ms: i64) -> &mut InstanceRecord {
    let key = (service, instance);
    if !inner.instances.contains_key(&key) && inner.instances.len() >= MAX_INSTANCES {
        let oldest = inner.instances.iter().min_by_key(|(_, r)| r.last_seen).map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            inner.instances.remove(&oldest);
            inner.properties_stats.evicted += 1;
        }
    }
    let record = inner.instances.entry(key.clone()).or_insert_with(|| InstanceRecord {
        service: key.0,
        instance: key.1,
        layer: String::new(),
        properties: Vec::new(),
        properties_time: None,
        last_keep_alive: None,
        keep_alive_count: 0,
        last_seen: now_ms,
    });
    record.last_seen = now_ms;
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use sw_proto::v3::SpanObject;

    fn segment(id: &str, spans: usize) -> SegmentObject {
        SegmentObject {
            trace_segment_id: id.to_owned(),
            spans: vec![SpanObject::default(); spans],
            ..SegmentObject::default()
        }
    }

    fn add(store: &Store, segment: SegmentObject) {
        store.add_grpc_segment(segment.encode_to_vec().into()).expect("well formed");
    }

    fn limits(n: usize) -> StoreLimits {
        StoreLimits { max_segments: n, max_logs: n, max_meters: n, max_snapshots: n }
    }

    #[test]
    fn oldest_segments_are_evicted_and_counted() {
        let store = Store::new(limits(2));
        for id in ["a", "b", "c"] {
            add(&store, segment(id, 1));
        }
        let ids: Vec<String> = store.segments().into_iter().map(|s| s.trace_segment_id).collect();
        assert_eq!(ids, ["b", "c"]);
        let stats = store.stats().segments;
        assert_eq!((stats.received, stats.stored, stats.evicted), (3, 2, 1));
    }

    #[test]
    fn zero_span_grpc_segments_are_counted_not_kept() {
        let store = Store::new(limits(5));
        add(&store, segment("empty", 0));
        store.add_segment(segment("http-empty", 0));
        let ids: Vec<String> = store.segments().into_iter().map(|s| s.trace_segment_id).collect();
        assert_eq!(ids, ["http-empty"]);
        assert_eq!(store.stats().segments.ignored, 1);
        assert_eq!(store.stats().segments.received, 2);
    }

    #[test]
    fn byte_budget_evicts_too() {
        let one = segment("a", 1).encoded_len();
        let store = Store::with_byte_budget(limits(100), 2 * one);
        for id in ["a", "b", "c"] {
            add(&store, segment(id, 1));
        }
        let ids: Vec<String> = store.segments().into_iter().map(|s| s.trace_segment_id).collect();
        assert_eq!(ids, ["b", "c"]);
        // Larger than the whole budget: dropped on arrival, nothing else lost.
        add(&store, segment("huge", 50));
        assert_eq!(store.segments().len(), 2);
        assert_eq!(store.stats().segments.evicted, 2);
    }

    #[test]
    fn zero_limit_keeps_nothing() {
        let store = Store::new(limits(0));
        add(&store, segment("a", 1));
        assert!(store.segments().is_empty());
        assert_eq!(store.stats().segments.evicted, 1);
    }

    #[test]
    fn reset_clears_data_but_keeps_counters() {
        let store = Store::new(limits(5));
        add(&store, segment("a", 1));
        store
            .keep_alive(InstancePingPkg { service: "s".into(), service_instance: "i".into(), layer: String::new() }, 7);
        store.reset();
        assert!(store.segments().is_empty());
        assert!(store.instances().is_empty());
        let stats = store.stats();
        assert_eq!(stats.segments.received, 1);
        assert_eq!(stats.segments.stored, 0);
        assert_eq!(stats.resets, 1);
    }

    #[test]
    fn keep_alive_and_properties_merge_into_one_instance() {
        let store = Store::new(limits(5));
        store.report_properties(
            InstanceProperties {
                service: "s".into(),
                service_instance: "i".into(),
                properties: vec![sw_proto::v3::KeyStringValuePair { key: "language".into(), value: "python".into() }],
                layer: "GENERAL".into(),
            },
            10,
        );
        store.keep_alive(
            InstancePingPkg { service: "s".into(), service_instance: "i".into(), layer: String::new() },
            20,
        );
        let all = store.instances();
        assert_eq!(all.len(), 1);
        let rec = &all[0];
        assert_eq!(rec.properties, [("language".to_owned(), "python".to_owned())]);
        assert_eq!(rec.layer, "GENERAL");
        assert_eq!(rec.properties_time, Some(10));
        assert_eq!(rec.last_keep_alive, Some(20));
        assert_eq!(rec.keep_alive_count, 1);
    }
}
