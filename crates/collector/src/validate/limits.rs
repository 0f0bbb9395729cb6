//! Limits on an expected-data document, checked before it is parsed.
//!
//! The YAML parser keeps, per flow level, a stack that it walks for every token, so deeply
//! nested documents cost time quadratic in the depth (100,000 `[` took 17.6 s of CPU). No
//! expected-data file nests more than a dozen levels; these limits leave ample room and
//! refuse the rest in one linear pass.

/// Largest expected-data document accepted (real ones are a few kilobytes).
pub const MAX_EXPECTED_BYTES: usize = 1024 * 1024;
/// Deepest `[`/`{` nesting accepted.
pub const MAX_FLOW_DEPTH: usize = 64;
/// Furthest column at which a line's content may start, after its indentation and any
/// `- ` / `? ` / `: ` indicators (each of which opens a level).
pub const MAX_BLOCK_COLUMN: usize = 400;

/// Why a document is refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooComplex {
    /// More than [`MAX_EXPECTED_BYTES`].
    #[error("expected data is {0} bytes; at most {MAX_EXPECTED_BYTES} are accepted")]
    TooLarge(usize),
    /// Flow collections nested deeper than [`MAX_FLOW_DEPTH`].
    #[error("expected data nests [ or {{ deeper than {MAX_FLOW_DEPTH} levels (line {0})")]
    FlowTooDeep(usize),
    /// Block content starting beyond [`MAX_BLOCK_COLUMN`].
    #[error("expected data is indented or nested beyond column {MAX_BLOCK_COLUMN} (line {0})")]
    BlockTooDeep(usize),
}

/// Checks `yaml` against the limits in one pass over its bytes.
pub fn check(yaml: &str) -> Result<(), TooComplex> {
    if yaml.len() > MAX_EXPECTED_BYTES {
        return Err(TooComplex::TooLarge(yaml.len()));
    }
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (number, line) in yaml.split('\n').enumerate() {
        let line_no = number + 1;
        let bytes = line.as_bytes();
        if quote.is_none() && depth == 0 {
            // Content starts after indentation and block indicators followed by a space.
            let mut at = 0;
            while at < bytes.len() {
                match bytes[at] {
                    b' ' | b'\t' => at += 1,
                    b'-' | b'?' | b':' if bytes.get(at + 1).is_none_or(|b| *b == b' ') => at += 1,
                    _ => break,
                }
            }
            if at > MAX_BLOCK_COLUMN && at < bytes.len() {
                return Err(TooComplex::BlockTooDeep(line_no));
            }
        }
        let mut prev = b' ';
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(b'"') if b == b'\\' => i += 1, // skip the escaped byte
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'#' if prev == b' ' || prev == b'\t' => break, // a comment runs to the end of the line
                    b'"' | b'\'' if matches!(prev, b' ' | b'\t' | b'[' | b'{' | b',' | b':' | b'-') => quote = Some(b),
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > MAX_FLOW_DEPTH {
                            return Err(TooComplex::FlowTooDeep(line_no));
                        }
                    }
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
            prev = b;
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        let doc = "segmentItems:\n- serviceName: 'a [b'\n  segmentSize: ge 1 # c [[[\n  segments:\n  - segmentId: not null\n    spans:\n    - {operationName: \"x\\\"[\", tags: [{key: k, value: v}]}\n";
        assert_eq!(check(doc), Ok(()));
        let data = include_str!("../../tests/data/validate/scenario.yml");
        assert_eq!(check(data), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        let flow = "[".repeat(100_000);
        assert_eq!(check(&flow), Err(TooComplex::FlowTooDeep(1)));
        let block = "- ".repeat(1_000) + "x";
        assert_eq!(check(&block), Err(TooComplex::BlockTooDeep(1)));
        let indented = format!("a:\n{}b: 1\n", " ".repeat(5_000));
        assert_eq!(check(&indented), Err(TooComplex::BlockTooDeep(2)));
        let big = "a: 1\n".repeat(MAX_EXPECTED_BYTES / 4);
        assert!(matches!(check(&big), Err(TooComplex::TooLarge(_))));
    }

    #[test]
    fn brackets_inside_quotes_and_comments_do_not_count() {
        let quoted = format!("a: '{}'\nb: \"{}\"\n# {}\n", "[".repeat(500), "{".repeat(500), "[".repeat(500));
        assert_eq!(check(&quoted), Ok(()));
    }
}
