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
    /// Segments counted against `max_sampling_count` (upstream's total started count).
    sampled: i64,
    next_token: u64,
    /// When the sampler next visits the slots.
    pub next_dump_ms: i64,
    /// Whether a failed capture was already logged as a warning for this task.
    pub failure_logged: bool,
}

impl TaskContext {
    pub fn new(task: ProfileTask, max_parallel: usize, now_ms: i64) -> Self {
        let next_dump_ms = now_ms.saturating_add(task.dump_period_ms);
        Self {
            task,
            slots: (0..max_parallel).map(|_| None).collect(),
            sampled: 0,
            next_token: 0,
            next_dump_ms,
            failure_logged: false,
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
                *slot = None;
                true
            }
            None => false,
        }
    }

    /// The captures due at `now_ms`: every slot whose request has run longer than the
    /// threshold. A segment's first capture consumes budget; once the budget is spent, a
    /// segment that has not been sampled yet loses its slot instead.
    pub fn collect_due(&mut self, now_ms: i64) -> Vec<Job> {
        let threshold = self.task.min_duration_threshold_ms;
        let budget = self.task.max_sampling_count;
        let mut jobs = Vec::new();
        for (index, entry) in self.slots.iter_mut().enumerate() {
            let Some(slot) = entry else { continue };
            if now_ms.saturating_sub(slot.start_time_ms) <= threshold {
                continue;
            }
            let first = !slot.counted;
            if first {
                if self.sampled >= budget {
                    *entry = None;
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
                *entry = None;
            }
        }
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
        let mut ctx = TaskContext::new(task(5), 1, 0);
        assert_eq!(ctx.admit("a", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        let jobs = ctx.collect_due(10);
        assert_eq!(jobs.len(), 1);
        assert!(ctx.release("a"));
        assert_eq!(ctx.admit("b", "/e", 10, Arc::new(Nothing)), Admit::Taken);
        ctx.capture_failed(&jobs[0]);
        assert_eq!(ctx.occupied(), 1, "segment b keeps its slot");
    }

    #[test]
    fn a_failed_first_capture_gives_its_budget_back() {
        let mut ctx = TaskContext::new(task(1), 2, 0);
        assert_eq!(ctx.admit("a", "/e", 0, Arc::new(Nothing)), Admit::Taken);
        let jobs = ctx.collect_due(10);
        ctx.capture_failed(&jobs[0]);
        assert_eq!(ctx.admit("b", "/e", 10, Arc::new(Nothing)), Admit::Taken);
        assert_eq!(ctx.collect_due(20).len(), 1, "b may still be sampled");
    }
}
