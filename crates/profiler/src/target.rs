//! What one profiled request is: something whose current stack can be read. The profiler
//! does not know whether it is an OS thread, a greenlet or an asyncio task.

/// Why a stack could not be captured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The thread, greenlet or task is gone; its slot is freed quietly.
    #[error("the profiled thread, greenlet or task has ended")]
    Ended,
    /// Reading the stack failed; logged, and only this slot is freed.
    #[error("stack capture failed: {0}")]
    Failed(String),
}

/// The execution unit serving one profiled request.
///
/// `capture` is called from the sampler thread, never while the profiler holds a lock, so an
/// implementation may take the GIL or other locks of its own. The profiler may drop its last
/// reference to a target while holding its lock, so `Drop` must not call back into it.
pub trait CaptureTarget: Send + Sync {
    /// The current stack as code signatures (see [`code_signature`]), outermost frame first.
    ///
    /// At most `max_depth` frames: when the stack is deeper, keep the `max_depth` frames
    /// nearest the running code (the innermost ones), still ordered outermost first, as
    /// [`cut_stack`] does; the frames that say what the request is busy with are worth more
    /// than the server's dispatch frames. Returns `Err(CaptureError::Ended)` once the
    /// thread, greenlet or task no longer exists.
    fn capture(&self, max_depth: usize) -> Result<Vec<String>, CaptureError>;
}

/// Cuts a stack (outermost frame first) to its `max_depth` innermost frames, keeping the
/// order. Upstream drops the innermost frames instead; those are the ones that matter.
pub fn cut_stack(mut frames_outermost_first: Vec<String>, max_depth: usize) -> Vec<String> {
    let excess = frames_outermost_first.len().saturating_sub(max_depth);
    if excess > 0 {
        frames_outermost_first.drain(..excess);
    }
    frames_outermost_first
}

/// Upstream's code signature of a Python frame: filename, a dot, the function name, a colon,
/// a space and the line number, e.g. `/app/provider.py.artist: 12`. The backend shows it
/// as it is, so the format must match for existing dashboards and habits.
pub fn code_signature(filename: &str, function: &str, line: i32) -> String {
    format!("{filename}.{function}: {line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    #[test]
    fn a_deep_stack_keeps_its_innermost_frames_in_order() {
        assert_eq!(cut_stack(frames(5), 2), vec!["f3", "f4"]);
    }

    #[test]
    fn a_stack_within_the_limit_is_untouched() {
        assert_eq!(cut_stack(frames(3), 3), frames(3));
        assert_eq!(cut_stack(frames(2), 500), frames(2));
        assert!(cut_stack(frames(4), 0).is_empty());
    }

    #[test]
    fn code_signature_matches_upstream_format() {
        assert_eq!(code_signature("/app/provider.py", "artist", 12), "/app/provider.py.artist: 12");
        assert_eq!(code_signature("<string>", "<module>", 1), "<string>.<module>: 1");
    }
}
