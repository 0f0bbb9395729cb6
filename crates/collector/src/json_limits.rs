//! A bound on what parsing a JSON body will allocate, checked before parsing.
//!
//! Every JSON object or array in an agent's body becomes a struct or a vector: `{}` is two
//! bytes of JSON and a few hundred bytes parsed, so an 8 MiB body of empty spans would take
//! over a gigabyte while it is parsed, before the store's budget can say no. One pass
//! counts the containers outside strings and refuses bodies whose parsed form could exceed
//! [`MAX_PARSED_BYTES`].

/// What one object or array may cost parsed (the largest message struct with the
/// intermediate JSON form beside it, and vector growth), a generous bound.
pub const BYTES_PER_CONTAINER: usize = 640;
/// Most a request body may take once parsed.
pub const MAX_PARSED_BYTES: usize = 64 * 1024 * 1024;

/// A body whose parsed form would be too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the body holds {containers} JSON objects and arrays, which would take about {} MiB parsed; \
     at most {} MiB are accepted per request: send smaller batches",
    .containers * BYTES_PER_CONTAINER / (1024 * 1024),
    MAX_PARSED_BYTES / (1024 * 1024)
)]
pub struct TooManyContainers {
    /// Objects and arrays counted.
    pub containers: usize,
}

/// Counts the objects and arrays of `body` (outside strings) and refuses it when their
/// parsed size could exceed [`MAX_PARSED_BYTES`]. Malformed JSON passes: the parser says why.
pub fn check(body: &[u8]) -> Result<(), TooManyContainers> {
    let limit = MAX_PARSED_BYTES.saturating_sub(body.len() * 2) / BYTES_PER_CONTAINER;
    let mut containers = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'{' || b == b'[' {
            containers += 1;
        }
    }
    if containers > limit {
        Err(TooManyContainers { containers })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_containers_outside_strings() {
        assert_eq!(check(br#"[{"a":"{[{[","b":[1,2]}]"#), Ok(()));
        let spans = format!("[{{\"spans\":[{}{{}}]}}]", "{},".repeat(2_000_000));
        assert!(check(spans.as_bytes()).is_err(), "two million empty spans");
        let ok = format!("[{{\"spans\":[{}{{}}]}}]", "{},".repeat(10_000));
        assert_eq!(check(ok.as_bytes()), Ok(()));
        let escaped = format!("[\"\\\"{}\"]", "{".repeat(1_000_000));
        assert_eq!(check(escaped.as_bytes()), Ok(()), "an escaped quote does not end the string");
    }
}
