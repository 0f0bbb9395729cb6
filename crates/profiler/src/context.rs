//! The running task's slot table (upstream's ProfileTaskExecutionContext): which segments are
//! profiled, their snapshot sequences, and the task-wide sampling budget. Pure bookkeeping
//! behind the profiler's lock; stacks are captured elsewhere, without the lock.

use std::sync::Arc;

use crate::target::CaptureTarget;
use crate::task::ProfileTask;

/// Outcome of asking for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// The segment already holds a slot.
    Already,
    /// The segment took a free slot.
    Taken,
    /// Endpoint mismatch, no free slot or budget exhausted.
    Refused,
}

struct Slot {
    /// Distinguishes successive occupants of the same slot, so a capture that finishes after
    /// its segment left does not free the next occupant.
    token: u64,
    segment_id: String,
    start_time_ms: i64,
    target: Arc<dyn CaptureTarget>,
    next_sequence: i32,
    /// Whether this segment has consumed one unit of the task's sampling budget.
    counted: bool,
}

/// What a snapshot taken on the spot (a greenlet switch) may do, before its stack is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spot {
    /// The segment holds no slot (never had one, finished, or lost it to the budget now).
    NotProfiled,
    /// The request has not run longer than the threshold yet.
    TooEarly,
    /// Capture now; then [`TaskContext::take_sequence`] with this token.
    Capture { token: u64 },
}

/// One stack to capture, taken out of the table so the capture runs without the lock.
pub(crate) struct Job {
    index: usize,
    token: u64,
    /// Whether this is the segment's first capture (the one that consumed budget).
    first: bool,
    pub segment_id: String,
    pub sequence: i32,
    pub target: Arc<dyn CaptureTarget>,
}

pub(crate) struct TaskContext {
    pub task: ProfileTask,
    slots: Vec<Option<Slot>>,
    /// A segment older than this (ms since it started) loses its slot instead of being
    /// sampled (`agent_profile_duration`).
    max_segment_ms: i64,
    /// Segments counted against `max_sampling_count` (upstream's total started count).
    sampled: i64,
    next_token: u64,
    /// When the sampler next visits the slots.
    pub next_dump_ms: i64,
    /// Whether a failed capture was already logged as a warning for this task.
    pub failure_logged: bool,
    /// Segments whose slot was freed since the profiler last drained this list, so that
    /// it can tell its slot listener once the lock is released.
    released: Vec<String>,
}

impl TaskContext {
    pub fn new(task: ProfileTask, max_parallel: usize, max_segment_ms: i64, now_ms: i64) -> Self {
        let next_dump_ms = now_ms.saturating_add(task.dump_period_ms);
        Self {
            task,
            slots: (0..max_parallel).map(|_| None).collect(),
            max_segment_ms,
            sampled: 0,
            next_token: 0,
            next_dump_ms,
            failure_logged: false,
            released: Vec::new(),
        }
    }

    /// Whether the segment holds a slot.
    pub fn holds(&self, segment_id: &str) -> bool {
        self.slots.iter().flatten().any(|s| s.segment_id == segment_id)
    }

    /// The segments freed since the last call.
    pub fn drain_released(&mut self) -> Vec<String> {
        std::mem::take(&mut self.released)
    }

    /// Ends the task: every segment that still holds a slot, plus those freed and not yet
    /// drained.
    pub fn into_released(mut self) -> Vec<String> {
        let held = self.slots.iter_mut().filter_map(Option::take).map(|s| s.segment_id);
        let mut released = std::mem::take(&mut self.released);
        released.extend(held);
        released
    }

    /// Empties a slot and remembers whose it was.
    fn free(released: &mut Vec<String>, entry: &mut Option<Slot>) {
        if let Some(slot) = entry.take() {
            released.push(slot.segment_id);
        }
    }

    pub fn occupied(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn admit(
        &mut self,
        segment_id: &str,
        endpoint: &str,
        start_time_ms: i64,
        target: Arc<dyn CaptureTarget>,
    ) -> Admit {
        if self.slots.iter().flatten().any(|s| s.segment_id == segment_id) {
            return Admit::Already;
        }
        if endpoint != self.task.endpoint_name || self.sampled >= self.task.max_sampling_count {
            return Admit::Refused;
        }
        let Some(free) = self.slots.iter_mut().find(|s| s.is_none()) else {
            return Admit::Refused;
        };
        self.next_token += 1;
        *free = Some(Slot {
            token: self.next_token,
            segment_id: segment_id.to_owned(),
            start_time_ms,
            target,
            next_sequence: 0,
            counted: false,
        });
        Admit::Taken
    }

    /// Frees the segment's slot; returns whether it held one.
    pub fn release(&mut self, segment_id: &str) -> bool {
        match self.slots.iter_mut().find(|s| s.as_ref().is_some_and(|s| s.segment_id == segment_id)) {
            Some(slot) => {
                Self::free(&mut self.released, slot);
                true
            }
            None => false,
        }
    }

    /// The captures due at `now_ms`: every slot whose request has run longer than the
    /// threshold. A slot whose request has run longer than the per-segment maximum is freed
    /// instead. A segment's first capture consumes budget; once the budget is spent, a
    /// segment that has not been sampled yet loses its slot instead.
    pub fn collect_due(&mut self, now_ms: i64) -> Vec<Job> {
        let threshold = self.task.min_duration_threshold_ms;
        let budget = self.task.max_sampling_count;
        let max_age = self.max_segment_ms;
        let mut jobs = Vec::new();
        for (index, entry) in self.slots.iter_mut().enumerate() {
            let Some(slot) = entry else { continue };
            let age = now_ms.saturating_sub(slot.start_time_ms);
            if age > max_age {
                Self::free(&mut self.released, entry);
                continue;
            }
            if age <= threshold {
                continue;
            }
            let first = !slot.counted;
            if first {
                if self.sampled >= budget {
                    Self::free(&mut self.released, entry);
                    continue;
                }
                self.sampled += 1;
                slot.counted = true;
            }
            let sequence = slot.next_sequence;
            slot.next_sequence = slot.next_sequence.saturating_add(1);
            jobs.push(Job {
                index,
                token: slot.token,
                first,
                segment_id: slot.segment_id.clone(),
                sequence,
                target: Arc::clone(&slot.target),
            });
        }
        jobs
    }

    /// A capture did not produce a snapshot: the slot is freed (if the same segment still
    /// holds it), and a first capture gives its budget back, since no snapshot was taken.
    pub fn capture_failed(&mut self, job: &Job) {
        if job.first {
            self.sampled -= 1;
        }
        if let Some(entry) = self.slots.get_mut(job.index) {
            if entry.as_ref().is_some_and(|s| s.token == job.token) {
                Self::free(&mut self.released, entry);
            }
        }
    }

    /// First step of a snapshot taken on the spot: whether the segment's stack is worth
    /// reading at `now_ms`. Same rules as [`TaskContext::collect_due`] (longer than the
    /// threshold; a segment not sampled yet loses its slot once the budget is spent), but
    /// nothing is counted until [`TaskContext::take_sequence`], after a capture succeeded.
    pub fn check_spot(&mut self, segment_id: &str, now_ms: i64) -> Spot {
        let threshold = self.task.min_duration_threshold_ms;
        let over_budget = self.sampled >= self.task.max_sampling_count;
        let Some(entry) = self.slots.iter_mut().find(|s| s.as_ref().is_some_and(|s| s.segment_id == segment_id)) else {
            return Spot::NotProfiled;
        };
        let Some(slot) = entry.as_ref() else { return Spot::NotProfiled };
        let age = now_ms.saturating_sub(slot.start_time_ms);
        if age > self.max_segment_ms {
            Self::free(&mut self.released, entry);
            return Spot::NotProfiled;
        }
        if age <= threshold {
            return Spot::TooEarly;
        }
        if !slot.counted && over_budget {
            Self::free(&mut self.released, entry);
            return Spot::NotProfiled;
        }
        Spot::Capture { token: slot.token }
    }

    /// Second step, once the stack was read: the snapshot's sequence number, taken from the
    /// same counter as the sampler's, and the budget unit for the segment's first snapshot.
    /// None when the slot changed hands meanwhile or the budget ran out in between.
    pub fn take_sequence(&mut self, token: u64) -> Option<i32> {
        let budget = self.task.max_sampling_count;
        let entry = self.slots.iter_mut().find(|s| s.as_ref().is_some_and(|s| s.token == token))?;
        let slot = entry.as_mut()?;
        if !slot.counted {
            if self.sampled >= budget {
                Self::free(&mut self.released, entry);
                return None;
            }
            self.sampled += 1;
            slot.counted = true;
        }
        let sequence = slot.next_sequence;
        slot.next_sequence = slot.next_sequence.saturating_add(1);
        Some(sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::CaptureError;

    struct Nothing;
    impl CaptureTarget for Nothing {
        fn capture(&self, _: usize) -> Result<Vec<String>, CaptureError> {
            Ok(Vec::new())
        }
    }

    /// No per-segment maximum in the tests that are not about it.
    const NO_MAX: i64 = i64::MAX;

    fn task(max_sampling_count: i64) -> ProfileTask {
        ProfileTask {
            task_id: "t".into(),
            serial_number: "s".into(),
            endpoint_name: "/e".into(),
            duration_min: 1,
            min_duration_threshold_ms: 0,
            dump_period_ms: 10,
            max_sampling_count,
            start_time_ms: 0,
            create_time_ms: 0,
        }
    }

    #[test]
    fn a_late_failure_does_not_free_the_next_occupant() {
        let mut ctx = TaskContext::new(task(5), 1, NO_MAX, 0);
        assert_eq!(ctx.admit("a", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        let jobs = ctx.collect_due(10);
        assert_eq!(jobs.len(), 1);
        assert!(ctx.release("a"));
        assert_eq!(ctx.admit("b", "/e", 10, Arc::new(Nothing)), Admit::Taken);
        ctx.capture_failed(&jobs[0]);
        assert_eq!(ctx.occupied(), 1, "segment b keeps its slot");
    }

    #[test]
    fn freed_slots_are_listed_once() {
        let mut ctx = TaskContext::new(task(1), 3, NO_MAX, 0);
        for segment in ["a", "b", "c"] {
            assert_eq!(ctx.admit(segment, "/e", 0, Arc::new(Nothing)), Admit::Taken);
        }
        assert!(ctx.release("a"));
        assert!(!ctx.release("a"));
        let jobs = ctx.collect_due(10);
        assert_eq!(jobs.len(), 1, "budget 1: b is sampled, c loses its slot");
        assert_eq!(ctx.drain_released(), vec!["a", "c"]);
        assert!(ctx.drain_released().is_empty());
        assert_eq!(ctx.into_released(), vec!["b"]);
    }

    #[test]
    fn a_spot_snapshot_shares_the_sequence_and_the_budget() {
        let mut ctx = TaskContext::new(task(1), 2, NO_MAX, 0);
        assert_eq!(ctx.admit("a", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        assert_eq!(ctx.admit("b", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        assert_eq!(ctx.check_spot("a", 0), Spot::TooEarly, "not longer than the threshold yet");
        let Spot::Capture { token } = ctx.check_spot("a", 1) else { panic!("a is due") };
        assert_eq!(ctx.take_sequence(token), Some(0));
        assert_eq!(
            ctx.collect_due(5).iter().map(|j| (j.segment_id.as_str(), j.sequence)).collect::<Vec<_>>(),
            [("a", 1)]
        );
        assert_eq!(ctx.check_spot("b", 6), Spot::NotProfiled, "budget spent by a: b is dropped");
        assert_eq!(ctx.drain_released(), vec!["b"]);
        assert_eq!(ctx.check_spot("zzz", 6), Spot::NotProfiled);
        assert_eq!(ctx.check_spot("a", 6), Spot::Capture { token });
        assert_eq!(ctx.take_sequence(token), Some(2));
        assert!(ctx.release("a"));
        assert_eq!(ctx.take_sequence(token), None, "the slot's occupant left during the capture");
    }

    #[test]
    fn a_segment_older_than_the_maximum_loses_its_slot_to_the_next_request() {
        let mut ctx = TaskContext::new(task(5), 1, 1_000, 0);
        assert_eq!(ctx.admit("old", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        assert_eq!(ctx.collect_due(1_000).len(), 1, "exactly at the maximum it is still sampled");
        assert!(ctx.collect_due(1_001).is_empty(), "past it, it is not");
        assert_eq!(ctx.drain_released(), vec!["old"]);
        assert_eq!(ctx.occupied(), 0);
        assert_eq!(ctx.admit("next", "/e", 1_001, Arc::new(Nothing)), Admit::Taken, "the slot is free again");
        assert_eq!(ctx.check_spot("next", 2_001), Spot::Capture { token: 2 });
        assert_eq!(ctx.check_spot("next", 2_002), Spot::NotProfiled, "a switch past the maximum frees it too");
        assert_eq!(ctx.drain_released(), vec!["next"]);
    }

    #[test]
    fn a_failed_first_capture_gives_its_budget_back() {
        let mut ctx = TaskContext::new(task(1), 2, NO_MAX, 0);
        assert_eq!(ctx.admit("a", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        let jobs = ctx.collect_due(10);
        ctx.capture_failed(&jobs[0]);
        assert_eq!(ctx.admit("b", "/e", 10, Arc::new(Nothing)), Admit::Taken);
        assert_eq!(ctx.collect_due(20).len(), 1, "b may still be sampled");
    }
}
