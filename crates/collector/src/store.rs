//! The bounded in-memory store behind every receiver and every query.
//!
//! Each kind of data sits in its own ring: when a ring is full, in items or in bytes held in
//! memory (see [`crate::held`]), the oldest item is dropped and counted, so memory stays
//! bounded however fast agents send. One mutex guards everything; every critical section is
//! a push or a scan, never I/O, and segments are decoded outside it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sw_proto::v3::{Event, InstancePingPkg, InstanceProperties, LogData, MeterData, SegmentObject, ThreadSnapshot};

use crate::config::StoreLimits;
use crate::held::{held, Heap};
use crate::profile_tasks::{ProfileTaskRecord, ProfileTaskSpec, TaskFinish};
use crate::ring::Ring;
use crate::segment_ring::SegmentRing;
use crate::wire::{segment_shape, Malformed};

/// Instances (service + instance name pairs) remembered; the least recently seen goes first.
pub const MAX_INSTANCES: usize = 10_000;
/// Events kept (agents rarely send them).
pub const MAX_EVENTS: usize = 10_000;
/// Profile tasks kept; tasks are created by people, so this is never reached in practice.
pub const MAX_TASKS: usize = 1_000;
/// Bytes the profile tasks may hold, finish reports included.
pub const MAX_TASK_BYTES: usize = 4 * 1024 * 1024;
/// Finish reports kept per task (one per instance that ran it, normally).
pub const MAX_FINISHES_PER_TASK: usize = 1_000;
/// Bytes one instance's record may hold (names and properties); properties beyond it are
/// dropped, and a report whose names alone exceed it is refused.
pub const MAX_INSTANCE_BYTES: usize = 64 * 1024;
/// Bytes all instance records together may hold; the least recently seen go first.
pub const MAX_INSTANCES_BYTES: usize = 32 * 1024 * 1024;

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
    /// Bytes held by `instances`.
    instances_bytes: usize,
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
    /// Held by the one reader decoding segments outside `inner`, so readers queue here
    /// instead of each taking a share of the pending segments.
    decoding: Mutex<()>,
    /// Settings handed to agents through configuration discovery (not persisted).
    pub configs: crate::dynamic_config::DynamicConfigs,
}

impl Store {
    /// An empty store with the given bounds.
    pub fn new(limits: StoreLimits) -> Self {
        let max_bytes = limits.max_bytes_per_kind;
        Self {
            limits,
            inner: Mutex::new(Inner {
                segments: SegmentRing::new(limits.max_segments, max_bytes),
                logs: Ring::new(limits.max_logs, max_bytes),
                meters: Ring::new(limits.max_meters, max_bytes),
                snapshots: Ring::new(limits.max_snapshots, max_bytes),
                events: Ring::new(MAX_EVENTS, max_bytes),
                tasks: Ring::new(MAX_TASKS, MAX_TASK_BYTES),
                instances: HashMap::new(),
                instances_bytes: 0,
                properties_stats: KindStats::default(),
                keep_alive_stats: KindStats::default(),
                finish_stats: KindStats::default(),
                resets: 0,
                generation: 0,
            }),
            decoding: Mutex::new(()),
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
        let shape = segment_shape(&segment)?;
        let mut inner = self.lock();
        inner.generation += 1;
        if shape.spans == 0 {
            inner.segments.ignore();
        } else {
            inner.segments.push_encoded(segment, shape.held_bound);
        }
        Ok(())
    }

    /// Records a segment received over HTTP: kept even without spans, as the mock collector does.
    pub fn add_segment(&self, segment: SegmentObject) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.segments.push(segment);
    }

    /// Records a log record.
    pub fn add_log(&self, log: LogData) {
        let size = held(&log);
        let mut inner = self.lock();
        inner.generation += 1;
        inner.logs.push(log, size);
    }

    /// Records a meter value for `service` (the caller resolves stream carry-over);
    /// a value with no metric set is counted and ignored.
    pub fn add_meter(&self, service: String, meter: MeterData) {
        let size = std::mem::size_of::<(String, MeterData)>() + service.heap() + meter.heap();
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
        let size = held(&snapshot);
        let mut inner = self.lock();
        inner.generation += 1;
        inner.snapshots.push(snapshot, size);
    }

    /// Records an event.
    pub fn add_event(&self, event: Event) {
        let size = held(&event);
        let mut inner = self.lock();
        inner.generation += 1;
        inner.events.push(event, size);
    }

    /// Records an instance-properties report at `now_ms`. Properties beyond
    /// [`MAX_INSTANCE_BYTES`] are dropped (and logged); a report whose names alone exceed it
    /// is refused and counted as rejected.
    pub fn report_properties(&self, report: InstanceProperties, now_ms: i64) -> Result<(), TooLarge> {
        let names = report.service.len() + report.service_instance.len() + report.layer.len();
        if names > MAX_INSTANCE_BYTES / 2 {
            self.lock().properties_stats.rejected += 1;
            log::warn!("instance properties refused: names of {names} bytes");
            return Err(TooLarge { what: "service, instance and layer names", limit: MAX_INSTANCE_BYTES / 2 });
        }
        let mut room = MAX_INSTANCE_BYTES - names;
        let total = report.properties.len();
        let mut properties = Vec::new();
        for kv in report.properties {
            let size = std::mem::size_of::<(String, String)>() + kv.key.len() + kv.value.len();
            if size > room {
                break;
            }
            room -= size;
            properties.push((kv.key, kv.value));
        }
        if properties.len() < total {
            log::warn!(
                "instance properties of {}/{}: kept {} of {total}, the rest exceed {MAX_INSTANCE_BYTES} bytes",
                report.service,
                report.service_instance,
                properties.len()
            );
        }
        let mut inner = self.lock();
        inner.generation += 1;
        inner.properties_stats.received += 1;
        update_instance(&mut inner, report.service, report.service_instance, now_ms, |record| {
            if !report.layer.is_empty() {
                record.layer = report.layer;
            }
            record.properties = properties;
            record.properties_time = Some(now_ms);
        });
        Ok(())
    }

    /// Records a keepAlive ping at `now_ms`; refused like a report whose names are too long.
    pub fn keep_alive(&self, ping: InstancePingPkg, now_ms: i64) -> Result<(), TooLarge> {
        let names = ping.service.len() + ping.service_instance.len() + ping.layer.len();
        if names > MAX_INSTANCE_BYTES / 2 {
            self.lock().keep_alive_stats.rejected += 1;
            log::warn!("keepAlive refused: names of {names} bytes");
            return Err(TooLarge { what: "service, instance and layer names", limit: MAX_INSTANCE_BYTES / 2 });
        }
        let mut inner = self.lock();
        inner.generation += 1;
        inner.keep_alive_stats.received += 1;
        update_instance(&mut inner, ping.service, ping.service_instance, now_ms, |record| {
            if !ping.layer.is_empty() {
                record.layer = ping.layer;
            }
            record.last_keep_alive = Some(now_ms);
            record.keep_alive_count += 1;
        });
        Ok(())
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
        let size = task_size(&task);
        inner.tasks.push(task.clone(), size);
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
            Some(task) if task.finishes.len() >= MAX_FINISHES_PER_TASK || service_instance.len() > 1024 => {
                inner.finish_stats.rejected += 1;
                log::warn!(
                    "task finish report for {task_id} refused: too many reports, or the instance name is too long"
                );
                false
            }
            Some(task) => {
                // Finish reports are small and capped per task, so they are not charged
                // against the tasks' budget one by one; MAX_FINISHES_PER_TASK bounds them.
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
        inner.instances_bytes = 0;
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
        refill(&mut inner.logs, contents.logs, held);
        refill(&mut inner.meters, contents.meters, |(s, m)| {
            std::mem::size_of::<(String, MeterData)>() + s.heap() + m.heap()
        });
        refill(&mut inner.snapshots, contents.snapshots, held);
        refill(&mut inner.events, contents.events, held);
        refill(&mut inner.tasks, contents.tasks, task_size);
        inner.instances.clear();
        inner.instances_bytes = 0;
        for record in contents.instances {
            let size = record_size(&record);
            if size > MAX_INSTANCE_BYTES
                || inner.instances.len() >= MAX_INSTANCES
                || inner.instances_bytes + size > MAX_INSTANCES_BYTES
            {
                continue;
            }
            inner.instances_bytes += size;
            inner.instances.insert((record.service.clone(), record.instance.clone()), record);
        }
    }

    /// Runs `f` over the data while holding the lock; keep `f` short. Segments received
    /// before the call are decoded first, without holding the lock, so receivers keep
    /// storing while a large backlog decodes.
    pub fn read<R>(&self, f: impl FnOnce(Data<'_>) -> R) -> R {
        {
            let _one_decoder = self.decoding.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let batch = self.lock().segments.take_pending();
            if let Some(batch) = batch {
                let decoded = batch.decode();
                self.lock().segments.merge(decoded);
            }
        }
        let inner = self.lock();
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

/// A request refused because a value exceeds a size limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} exceed {limit} bytes")]
pub struct TooLarge {
    /// What was too large.
    pub what: &'static str,
    /// The limit, in bytes.
    pub limit: usize,
}

/// Bytes an instance record holds, its key in the map included.
fn record_size(r: &InstanceRecord) -> usize {
    std::mem::size_of::<((String, String), InstanceRecord)>()
        + 2 * (r.service.len() + r.instance.len())
        + r.layer.len()
        + r.properties.iter().map(|(k, v)| std::mem::size_of::<(String, String)>() + k.len() + v.len()).sum::<usize>()
}

/// Bytes a profile task holds (without its finish reports, which are capped per task).
fn task_size(t: &ProfileTaskRecord) -> usize {
    std::mem::size_of::<ProfileTaskRecord>() + t.id.len() + t.spec.service.len() + t.spec.endpoint_name.len()
}

/// Applies `change` to the record for (service, instance), created if needed, then evicts
/// the least recently seen instances while the registry is over its count or byte limit.
fn update_instance(
    inner: &mut Inner,
    service: String,
    instance: String,
    now_ms: i64,
    change: impl FnOnce(&mut InstanceRecord),
) {
    let key = (service, instance);
    let record = instance_entry(inner, key.clone(), now_ms);
    let before = record_size(record);
    change(record);
    let after = record_size(record);
    inner.instances_bytes = inner.instances_bytes - before + after;
    while inner.instances.len() > MAX_INSTANCES || inner.instances_bytes > MAX_INSTANCES_BYTES {
        let oldest =
            inner.instances.iter().filter(|(k, _)| **k != key).min_by_key(|(_, r)| r.last_seen).map(|(k, _)| k.clone());
        let Some(oldest) = oldest else { break };
        if let Some(gone) = inner.instances.remove(&oldest) {
            inner.instances_bytes -= record_size(&gone);
            inner.properties_stats.evicted += 1;
        }
    }
}

/// The record for `key`, created (and counted in the registry's bytes) if needed.
fn instance_entry(inner: &mut Inner, key: (String, String), now_ms: i64) -> &mut InstanceRecord {
    let Inner { instances, instances_bytes, .. } = inner;
    let record = instances.entry(key).or_insert_with_key(|(service, instance)| {
        let record = InstanceRecord {
            service: service.clone(),
            instance: instance.clone(),
            layer: String::new(),
            properties: Vec::new(),
            properties_time: None,
            last_keep_alive: None,
            keep_alive_count: 0,
            last_seen: now_ms,
        };
        *instances_bytes += record_size(&record);
        record
    });
    record.last_seen = now_ms;
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
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
        StoreLimits { max_segments: n, max_logs: n, max_meters: n, max_snapshots: n, ..StoreLimits::default() }
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
        let one = crate::wire::segment_shape(&segment("a", 1).encode_to_vec()).expect("valid").held_bound;
        let store = Store::new(StoreLimits { max_bytes_per_kind: 2 * one + one / 2, ..limits(100) });
        for id in ["a", "b", "c"] {
            add(&store, segment(id, 1));
        }
        let ids: Vec<String> = store.segments().into_iter().map(|s| s.trace_segment_id).collect();
        assert_eq!(ids, ["b", "c"]);
        // Larger than the whole budget: dropped on arrival, nothing else lost.
        add(&store, segment("huge", 500));
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
            .keep_alive(InstancePingPkg { service: "s".into(), service_instance: "i".into(), layer: String::new() }, 7)
            .expect("small");
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
        store
            .report_properties(
                InstanceProperties {
                    service: "s".into(),
                    service_instance: "i".into(),
                    properties: vec![sw_proto::v3::KeyStringValuePair {
                        key: "language".into(),
                        value: "python".into(),
                    }],
                    layer: "GENERAL".into(),
                },
                10,
            )
            .expect("small");
        store
            .keep_alive(InstancePingPkg { service: "s".into(), service_instance: "i".into(), layer: String::new() }, 20)
            .expect("small");
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

#[cfg(test)]
mod size_limits {
    use super::*;
    use sw_proto::v3::KeyStringValuePair;

    fn report(service: &str, instance: &str, properties: usize, value_len: usize) -> InstanceProperties {
        InstanceProperties {
            service: service.into(),
            service_instance: instance.into(),
            properties: (0..properties)
                .map(|i| KeyStringValuePair { key: format!("k{i}"), value: "v".repeat(value_len) })
                .collect(),
            layer: String::new(),
        }
    }

    #[test]
    fn properties_beyond_the_record_limit_are_dropped() {
        let store = Store::new(StoreLimits::default());
        store.report_properties(report("s", "i", 100, 8 * 1024), 1).expect("names are short");
        let record = &store.instances()[0];
        assert!(record.properties.len() < 8, "{} properties kept", record.properties.len());
        assert!(record_size(record) <= MAX_INSTANCE_BYTES + 1024);
    }

    #[test]
    fn huge_names_are_refused_and_counted() {
        let store = Store::new(StoreLimits::default());
        let long = "x".repeat(MAX_INSTANCE_BYTES);
        assert!(store.report_properties(report(&long, "i", 0, 0), 1).is_err());
        let ping = InstancePingPkg { service: "s".into(), service_instance: long, layer: String::new() };
        assert!(store.keep_alive(ping, 1).is_err());
        assert!(store.instances().is_empty());
        let stats = store.stats();
        assert_eq!((stats.instance_properties.rejected, stats.keep_alives.rejected), (1, 1));
    }

    #[test]
    fn the_registry_stays_within_its_byte_budget() {
        let store = Store::new(StoreLimits::default());
        // 2,000 instances of ~60 KiB each would be 120 MiB.
        for i in 0..2_000 {
            store.report_properties(report("s", &format!("i{i}"), 7, 8 * 1024), i).expect("ok");
        }
        let inner = store.lock();
        assert!(inner.instances_bytes <= MAX_INSTANCES_BYTES, "{}", inner.instances_bytes);
        let counted: usize = inner.instances.values().map(record_size).sum();
        assert_eq!(counted, inner.instances_bytes);
        assert!(inner.instances.contains_key(&("s".to_owned(), "i1999".to_owned())), "the newest is kept");
    }
}
