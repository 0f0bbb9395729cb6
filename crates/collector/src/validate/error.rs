//! The error a failed validation returns, worded for a person reading a
//! failing test, plus the internal failure type the comparisons pass up.

use std::fmt::Write as _;

/// Why a candidate actual segment did not match an expected segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCandidate {
    /// Index of the actual segment in arrival order.
    pub index: usize,
    /// Its `traceSegmentId`.
    pub segment_id: String,
    /// Short reason, e.g. `span[1].operationName: expected 'eq /a' but was '/b'`.
    pub reason: String,
    /// How many spans compared equal before the failure; used to pick the
    /// closest candidate (`None` when it was not compared span by span).
    pub(crate) progress: Option<usize>,
}

/// The first difference between expected and actual data, or a reason the
/// expected data cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    /// The expected document is not YAML of the expected shape.
    #[error("expected data is not valid: {0}")]
    Yaml(String),
    /// The expected document is YAML but cannot be evaluated (the Java tool
    /// would crash with a NullPointerException or similar here).
    #[error("invalid expected data at {at}: {reason}")]
    InvalidExpected {
        /// Where in the expected document.
        at: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// An expected item names a service that sent nothing of that kind.
    #[error("{section}: no actual data for service '{service}' (actual services: {})", list_or_none(.available))]
    ServiceNotFound {
        /// `segmentItems`, `meterItems` or `logItems`.
        section: &'static str,
        /// The expected service name.
        service: String,
        /// Services that did report in that section.
        available: Vec<String>,
    },
    /// A value, count or key differs.
    #[error("{at}: {message}")]
    Mismatch {
        /// Path of the compared value.
        at: String,
        /// `expected '...' but was '...'` or similar.
        message: String,
    },
    /// An expression could not be evaluated (`gt` on a non-number, `nq`
    /// against a missing value); the Java tool aborts with an exception here.
    #[error("{at}: cannot evaluate '{expression}' against {actual}: {reason}")]
    Expression {
        /// Path of the compared value.
        at: String,
        /// The expected expression as written.
        expression: String,
        /// The actual value, quoted, or `null`.
        actual: String,
        /// Why evaluation failed.
        reason: String,
    },
    /// Greedy matching found no actual segment for an expected segment.
    #[error("{}", render_segment_not_found(.service, *.index, .candidates))]
    SegmentNotFound {
        /// Service of the expected segment item.
        service: String,
        /// Index of the expected segment in the file.
        index: usize,
        /// Every actual segment of the service and why it was rejected.
        candidates: Vec<SegmentCandidate>,
    },
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn render_segment_not_found(service: &str, index: usize, candidates: &[SegmentCandidate]) -> String {
    let mut out = format!("segmentItems[service={service}] segment {index}: no actual segment matched");
    if candidates.is_empty() {
        out.push_str("; the service has no actual segments");
        return out;
    }
    // The candidate that got furthest span-wise is the most useful hint; the
    // earliest one wins a tie because it is what a reader finds first.
    let closest =
        candidates.iter().filter(|c| c.progress.is_some()).fold(None::<&SegmentCandidate>, |best, c| match best {
            Some(b) if b.progress >= c.progress => Some(b),
            _ => Some(c),
        });
    if let Some(c) = closest {
        let _ = write!(out, "; closest candidate failed at {}", c.reason);
    }
    out.push_str("\ncandidates:");
    for c in candidates {
        let _ = write!(out, "\n  actual segment {} ({}): {}", c.index, c.segment_id, c.reason);
    }
    out
}

/// A failed comparison below the top level; paths are relative and get
/// prefixed on the way up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fail {
    /// Values differ: keep looking (greedy matching tries the next segment).
    Mismatch { at: String, message: String },
    /// Evaluation impossible: abort everything, as the Java tool does.
    Eval { at: String, expression: String, actual: String, reason: String },
}

impl Fail {
    pub(crate) fn mismatch(at: &str, message: impl Into<String>) -> Self {
        Fail::Mismatch { at: at.to_owned(), message: message.into() }
    }

    /// Puts `prefix` in front of the path (`span[1]` + `operationName`).
    pub(crate) fn within(self, prefix: &str) -> Self {
        match self {
            Fail::Mismatch { at, message } => Fail::Mismatch { at: join_path(prefix, &at), message },
            Fail::Eval { at, expression, actual, reason } => {
                Fail::Eval { at: join_path(prefix, &at), expression, actual, reason }
            }
        }
    }

    /// One line: `path: message`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Fail::Mismatch { at, message } if at.is_empty() => message.clone(),
            Fail::Mismatch { at, message } => format!("{at}: {message}"),
            Fail::Eval { at, expression, actual, reason } => {
                format!("{at}: cannot evaluate '{expression}' against {actual}: {reason}")
            }
        }
    }

    /// Converts to the public error with a location in front (`location`
    /// and the relative path are separated by a space, e.g.
    /// `logItems[service=a] log 0 body.type`).
    pub(crate) fn into_error(self, location: &str) -> ValidationError {
        let locate = |at: String| {
            if at.is_empty() {
                location.to_owned()
            } else {
                format!("{location} {at}")
            }
        };
        match self {
            Fail::Mismatch { at, message } => ValidationError::Mismatch { at: locate(at), message },
            Fail::Eval { at, expression, actual, reason } => {
                ValidationError::Expression { at: locate(at), expression, actual, reason }
            }
        }
    }
}

fn join_path(prefix: &str, rest: &str) -> String {
    if rest.is_empty() {
        prefix.to_owned()
    } else if prefix.is_empty() || rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

/// Shorthand for "the expected document cannot be used".
pub(crate) fn invalid(at: impl Into<String>, reason: impl Into<String>) -> ValidationError {
    ValidationError::InvalidExpected { at: at.into(), reason: reason.into() }
}
