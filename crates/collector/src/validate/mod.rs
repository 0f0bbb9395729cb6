//! Expected-data validation compatible with apache/skywalking-agent-test-tool.
//!
//! [`ActualData`] is what the collector recorded, grouped like the reference
//! mock collector's `/receiveData`; [`validate`] checks an expected-data
//! YAML document against it with the reference validator's rules.
//!
//! Where the reference tool has a bug, this implementation does what the
//! tool intends instead:
//! * `parentTraceSegmentId: ${service[i]}` resolves to the id of the actual
//!   segment matched to the i-th expected segment of `service` (the tool
//!   compares the literal text because its setter assigns the field to
//!   itself). Only text that both starts with `${` and ends with `}` is a
//!   reference.
//! * Where the tool crashes (NullPointerException, NumberFormatException),
//!   [`validate`] returns an error that says why; malformed expectations
//!   (missing ref keys, `refs: []`, a log without `body`, a meter without a
//!   value) are rejected before any comparison.
//! * A document without any of `segmentItems`, `meterItems`, `logItems` is
//!   rejected instead of passing without checking anything.

mod actual;
mod dump;
mod error;
mod expected;
mod expr;
pub mod limits;
mod logs;
mod meters;
mod refs;
mod segments;
mod text;

pub use actual::{
    ActualData, KeyValue, Log, LogContent, LogItem, Meter, MeterItem, MeterTag, MeterValue, Segment, SegmentItem,
    SegmentRef, Span, TraceContext,
};
pub use error::{SegmentCandidate, ValidationError};
pub use expr::{EvalError, Expr};

/// Which version of the reference validator to follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// Commit 7f20775, the one the Python agent's CI pins: expressions split
    /// on single spaces, spans compared strictly by index, logs compared in
    /// arrival order.
    #[default]
    Legacy,
    /// The tool's current HEAD: prefix-based expressions with `start with` /
    /// `end with`, span lookup by spanId when the index fails, logs sorted
    /// before comparison.
    Head,
}

/// Checks `expected_yaml` against `actual`: segments, then meters, then
/// logs. Returns the first difference.
pub fn validate(expected_yaml: &str, actual: &ActualData, semantics: Semantics) -> Result<(), ValidationError> {
    let expected = expected::ExpectedData::parse(expected_yaml)?;
    segments::validate(&expected, actual, semantics)?;
    meters::validate(&expected, actual, semantics)?;
    logs::validate(&expected, actual, semantics)?;
    Ok(())
}
