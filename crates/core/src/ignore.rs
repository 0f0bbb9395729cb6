//! Operation names that are never traced: `agent_ignore_suffix` and `agent_trace_ignore_path`.
//!
//! Upstream compiles both options into one Python regex, `<suffix part>|<path part>`, and
//! tests it with `re.match` against every span's operation name. This module reproduces
//! that regex's answers without a regex engine:
//!
//! * suffix part `^.+(?:s1|s2|...)$`: at least one character before one of the (stripped)
//!   suffixes. An empty entry (an empty option, or a stray comma) therefore ignores every
//!   non-empty operation name, exactly as upstream does.
//! * path part `^(?:p1|p2|...)$`, one alternative per comma-separated Ant pattern. Inside a
//!   pattern, `/**/` matches `/` followed by any run of `x/` groups (segments may be empty),
//!   `**` matches zero or more non-empty segments joined by `/`, `*` any run of non-`/`
//!   characters, `?` one non-`/` character; all else is literal. Whitespace is stripped from
//!   each piece between `/**/` separators (not from the pattern as a whole). An empty
//!   option gives the alternative `^(?:)$`, which ignores the empty operation name.
//! * Python's `.` does not match `\n`, and `$` also matches just before a final `\n`.
//!   Both quirks are kept, so results agree on every string.
//!
//! Path patterns become small position automata (Glushkov construction) simulated with
//! bitsets: linear in the operation name, and allocation-free for patterns of up to 256
//! automaton positions.

/// Upstream's default `agent_ignore_suffix`, trailing space included.
pub const DEFAULT_IGNORE_SUFFIX: &str = ".jpg,.jpeg,.js,.css,.png,.bmp,.gif,.ico,.mp3,.mp4,.html,.svg ";

/// Scratch bitset words kept on the stack when matching.
const INLINE_WORDS: usize = 4;

/// Names at least this long run with remembered steps even for small automata.
const CACHE_FROM_LEN: usize = 512;
/// Steps remembered per match before the memory is started over.
const MAX_CACHED_STEPS: usize = 4096;
/// The state "nothing consumed yet" in a [`StepCache`].
const AT_START: u32 = u32::MAX;

/// Position sets met while matching one name, and the steps between them.
#[derive(Debug, Default)]
struct StepCache {
    sets: Vec<Vec<u64>>,
    ids: std::collections::HashMap<Vec<u64>, u32>,
    edges: std::collections::HashMap<(u32, char), u32>,
    /// Steps computed rather than looked up (for tests).
    computed: usize,
}

impl StepCache {
    fn intern(&mut self, set: &[u64]) -> u32 {
        if let Some(&id) = self.ids.get(set) {
            return id;
        }
        let id = u32::try_from(self.sets.len()).unwrap_or(AT_START - 1);
        self.sets.push(set.to_vec());
        self.ids.insert(set.to_vec(), id);
        id
    }

    fn set(&self, id: u32) -> &[u64] {
        self.sets.get(id as usize).map_or(&[], Vec::as_slice)
    }
}

/// Compiled ignore rules; cheap to query from many threads.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    suffixes: Vec<String>,
    /// Bitmap of the last bytes of the suffixes, so most names are rejected with one lookup;
    /// `None` when a suffix is empty (then every byte qualifies).
    suffix_last_bytes: Option<[u64; 4]>,
    /// Bitmap of the last two bytes of every suffix, the second filter (names ending in 'p'
    /// pass the first for `.bmp`); `None` when a suffix is shorter than two bytes.
    suffix_tails: Option<Box<[u64; 1024]>>,
    paths: Vec<PathPattern>,
}

impl Default for IgnoreRules {
    /// Upstream defaults: no ignore path, the default suffix list.
    fn default() -> Self {
        Self::new("", DEFAULT_IGNORE_SUFFIX)
    }
}

impl IgnoreRules {
    /// Build from the raw `agent_trace_ignore_path` and `agent_ignore_suffix` option values.
    pub fn new(ignore_path: &str, ignore_suffix: &str) -> Self {
        let suffixes: Vec<String> = ignore_suffix.split(',').map(|s| py_strip(s).to_owned()).collect();
        let mut last_bytes = [0u64; 4];
        let mut has_empty = false;
        for suffix in &suffixes {
            match suffix.as_bytes().last() {
                Some(&b) => last_bytes[usize::from(b / 64)] |= 1 << (b % 64),
                None => has_empty = true,
            }
        }
        let suffix_tails = suffixes.iter().map(|s| tail(s)).collect::<Option<Vec<u16>>>().map(|tails| {
            let mut bitmap = Box::new([0u64; 1024]);
            for tail in tails {
                bitmap[usize::from(tail / 64)] |= 1 << (tail % 64);
            }
            bitmap
        });
        let paths = ignore_path.split(',').map(PathPattern::compile).collect();
        Self { suffixes, suffix_last_bytes: (!has_empty).then_some(last_bytes), suffix_tails, paths }
    }

    /// True when spans with this operation name must not be traced.
    pub fn is_ignored(&self, op: &str) -> bool {
        self.suffix_matches(op) || self.paths.iter().any(|p| p.matches(op))
    }

    fn suffix_matches(&self, op: &str) -> bool {
        let hit = |s: &str| {
            if let (Some(bitmap), Some(&b)) = (&self.suffix_last_bytes, s.as_bytes().last()) {
                if bitmap[usize::from(b / 64)] & (1 << (b % 64)) == 0 {
                    return false;
                }
            }
            if let (Some(tails), Some(name_tail)) = (&self.suffix_tails, tail(s)) {
                if tails[usize::from(name_tail / 64)] & (1 << (name_tail % 64)) == 0 {
                    return false;
                }
            }
            self.suffixes.iter().any(|suffix| {
                // Comparing last bytes first skips most memcmp calls.
                s.len() > suffix.len()
                    && suffix.as_bytes().last().is_none_or(|b| s.as_bytes().last() == Some(b))
                    && s.ends_with(suffix.as_str())
                    && !s[..s.len() - suffix.len()].contains('\n')
            })
        };
        hit(op) || op.strip_suffix('\n').is_some_and(hit)
    }
}

/// The last two bytes of `s` as one number, if it has two.
fn tail(s: &str) -> Option<u16> {
    s.as_bytes().last_chunk::<2>().map(|&pair| u16::from_be_bytes(pair))
}

/// Python's `str.strip()`: Rust's `char::is_whitespace` plus the four ASCII separators
/// (U+001C..U+001F) that Python also counts as whitespace.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// What one automaton position consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Char(char),
    NotSlash,
}

/// A tiny regular-expression tree, just enough for the Ant translation.
enum Node {
    Leaf(Class),
    Seq(Vec<Node>),
    Repeat(Box<Node>),
    Optional(Box<Node>),
}

fn not_slash() -> Node {
    Node::Leaf(Class::NotSlash)
}

fn slash() -> Node {
    Node::Leaf(Class::Char('/'))
}

/// `(?:(?:[^/]+/)*[^/]+)?`, what upstream substitutes for `**`.
fn double_star() -> Node {
    let segment = || Node::Seq(vec![not_slash(), Node::Repeat(Box::new(not_slash()))]);
    Node::Optional(Box::new(Node::Seq(vec![Node::Repeat(Box::new(Node::Seq(vec![segment(), slash()]))), segment()])))
}

/// `/(?:[^/]*/)*`, what upstream substitutes for `/**/`.
fn slash_deep() -> Node {
    Node::Seq(vec![slash(), Node::Repeat(Box::new(Node::Seq(vec![Node::Repeat(Box::new(not_slash())), slash()])))])
}

/// Translate one comma-separated Ant pattern, splitting in upstream's order:
/// `/**/`, then (after stripping) `**`, then `*`, then `?`.
fn translate(pattern: &str) -> (Node, String) {
    let mut seq = Vec::new();
    let mut prefix: Option<String> = None;
    for (i, p1) in pattern.split("/**/").enumerate() {
        if i > 0 {
            seq.push(slash_deep());
        }
        for (j, p2) in py_strip(p1).split("**").enumerate() {
            if j > 0 {
                seq.push(double_star());
            }
            for (k, p3) in p2.split('*').enumerate() {
                if k > 0 {
                    seq.push(Node::Repeat(Box::new(not_slash())));
                }
                for (l, literal) in p3.split('?').enumerate() {
                    if l > 0 {
                        seq.push(not_slash());
                    }
                    if prefix.is_none() {
                        // The literal text before the first wildcard; every match starts with it.
                        prefix = Some(literal.to_owned());
                    }
                    seq.extend(literal.chars().map(|c| Node::Leaf(Class::Char(c))));
                }
            }
        }
    }
    (Node::Seq(seq), prefix.unwrap_or_default())
}

/// First/last position sets and nullability of a subtree.
struct Summary {
    nullable: bool,
    first: Vec<usize>,
    last: Vec<usize>,
}

#[derive(Default)]
struct Builder {
    classes: Vec<Class>,
    follow: Vec<Vec<usize>>,
}

impl Builder {
    fn link(&mut self, from: &[usize], to: &[usize]) {
        for &q in from {
            self.follow[q].extend_from_slice(to);
        }
    }

    fn visit(&mut self, node: &Node) -> Summary {
        match node {
            Node::Leaf(class) => {
                let p = self.classes.len();
                self.classes.push(*class);
                self.follow.push(Vec::new());
                Summary { nullable: false, first: vec![p], last: vec![p] }
            }
            Node::Seq(items) => {
                let mut acc = Summary { nullable: true, first: Vec::new(), last: Vec::new() };
                for item in items {
                    let s = self.visit(item);
                    self.link(&acc.last, &s.first);
                    if acc.nullable {
                        acc.first.extend_from_slice(&s.first);
                    }
                    if s.nullable {
                        acc.last.extend_from_slice(&s.last);
                    } else {
                        acc.last = s.last;
                    }
                    acc.nullable &= s.nullable;
                }
                acc
            }
            Node::Repeat(inner) => {
                let s = self.visit(inner);
                self.link(&s.last, &s.first);
                Summary { nullable: true, ..s }
            }
            Node::Optional(inner) => Summary { nullable: true, ..self.visit(inner) },
        }
    }
}

/// One path alternative, compiled to a position automaton over bitsets.
#[derive(Debug, Clone)]
struct PathPattern {
    /// The whole pattern when it has no wildcard (the default, empty, one among them): then
    /// a name matches when it is this text, or this text and a newline, and the automaton
    /// (a few instructions per character of every span name) is not run.
    literal: Option<String>,
    /// Literal text every matching name starts with: cheap early rejection, and since the
    /// automaton's state after reading it is known, the simulation starts behind it.
    prefix: String,
    /// Position set after consuming `prefix` (unused when the prefix is empty).
    after_prefix: Vec<u64>,
    words: usize,
    /// `positions` rows of `words` words: positions that may follow each position.
    follow: Vec<u64>,
    first: Vec<u64>,
    last: Vec<u64>,
    nullable: bool,
    /// Positions that accept any character but `/`.
    not_slash: Vec<u64>,
    /// 128 rows of `words` words: positions that accept exactly this ASCII character.
    ascii: Vec<u64>,
    /// Positions that accept exactly one non-ASCII character (rare, so a list).
    other: Vec<(char, Vec<u64>)>,
}

fn to_bits(positions: &[usize], words: usize) -> Vec<u64> {
    let mut bits = vec![0u64; words];
    for &p in positions {
        bits[p / 64] |= 1 << (p % 64);
    }
    bits
}

impl PathPattern {
    fn compile(pattern: &str) -> Self {
        let (node, prefix) = translate(pattern);
        let mut builder = Builder::default();
        let summary = builder.visit(&node);
        let words = builder.classes.len().div_ceil(64).max(1);
        let follow = builder.follow.iter().flat_map(|row| to_bits(row, words)).collect();
        let mut not_slash = vec![0u64; words];
        let mut ascii = vec![0u64; 128 * words];
        let mut other: Vec<(char, Vec<u64>)> = Vec::new();
        for (p, class) in builder.classes.iter().enumerate() {
            let (w, bit) = (p / 64, 1u64 << (p % 64));
            match *class {
                Class::NotSlash => not_slash[w] |= bit,
                Class::Char(c) if c.is_ascii() => ascii[c as usize * words + w] |= bit,
                Class::Char(c) => match other.iter_mut().find(|(x, _)| *x == c) {
                    Some((_, mask)) => mask[w] |= bit,
                    None => {
                        let mut mask = vec![0u64; words];
                        mask[w] |= bit;
                        other.push((c, mask));
                    }
                },
            }
        }
        // The prefix is the leading run of literal positions 0..n, so after reading it
        // the only live position is n - 1.
        let prefix_chars = prefix.chars().count();
        let after_prefix = match prefix_chars {
            0 => vec![0u64; words],
            n => to_bits(&[n - 1], words),
        };
        let literal = (!pattern.contains(['*', '?'])).then(|| py_strip(pattern).to_owned());
        Self {
            literal,
            prefix,
            after_prefix,
            words,
            follow,
            first: to_bits(&summary.first, words),
            last: to_bits(&summary.last, words),
            nullable: summary.nullable,
            not_slash,
            ascii,
            other,
        }
    }

    fn matches(&self, op: &str) -> bool {
        if let Some(literal) = &self.literal {
            return op == literal || op.strip_suffix('\n') == Some(literal.as_str());
        }
        // If `op` lacks the prefix, so does `op` minus a trailing newline.
        // (The emptiness test is not redundant: comparing an empty prefix still costs a
        // libc memcmp call, measured at ~80 ns here.)
        if !self.prefix.is_empty() && !op.starts_with(self.prefix.as_str()) {
            return false;
        }
        if self.words == 1 {
            self.run_one(op)
        } else if self.words <= INLINE_WORDS && op.len() <= CACHE_FROM_LEN {
            let mut cur = [0u64; INLINE_WORDS];
            let mut next = [0u64; INLINE_WORDS];
            self.run(op, &mut cur[..self.words], &mut next[..self.words])
        } else {
            self.run_cached(op, &mut StepCache::default())
        }
    }

    /// Where simulation starts: behind the prefix, if there is one. This never skips the
    /// end-of-name check before a final newline: a name minus that newline can only match
    /// if it starts with the prefix, so the newline lies after it.
    fn start(&self) -> Option<usize> {
        (!self.prefix.is_empty()).then_some(self.prefix.len())
    }

    /// [`Self::run`] for automata of at most 64 positions (nearly all), on plain `u64`s.
    fn run_one(&self, op: &str) -> bool {
        let (mut at_start, mut cur, start) = match self.start() {
            Some(start) => (false, self.after_prefix[0], start),
            None => (true, 0, 0),
        };
        let accepting = |at_start: bool, cur: u64| {
            if at_start {
                self.nullable
            } else {
                cur & self.last[0] != 0
            }
        };
        for (i, c) in op[start..].char_indices() {
            if c == '\n' && start + i + 1 == op.len() && accepting(at_start, cur) {
                return true;
            }
            let mut next = if at_start { self.first[0] } else { 0 };
            let mut rest = cur;
            while rest != 0 {
                next |= self.follow[rest.trailing_zeros() as usize];
                rest &= rest - 1;
            }
            let mut mask = if c.is_ascii() {
                self.ascii[c as usize]
            } else {
                self.other.iter().find(|(x, _)| *x == c).map_or(0, |(_, m)| m[0])
            };
            if c != '/' {
                mask |= self.not_slash[0];
            }
            cur = next & mask;
            if cur == 0 {
                return false;
            }
            at_start = false;
        }
        accepting(at_start, cur)
    }

    /// Simulate the automaton; `cur` holds the positions just consumed (`at_start` means
    /// nothing consumed yet).
    fn run<'a>(&self, op: &str, mut cur: &'a mut [u64], mut next: &'a mut [u64]) -> bool {
        let (mut at_start, start) = match self.start() {
            Some(start) => {
                cur.copy_from_slice(&self.after_prefix);
                (false, start)
            }
            None => (true, 0),
        };
        for (i, c) in op[start..].char_indices() {
            // Python's `$` also matches before a final newline.
            if c == '\n' && start + i + 1 == op.len() && self.accepting(at_start, cur) {
                return true;
            }
            if at_start {
                next.copy_from_slice(&self.first);
            } else {
                next.fill(0);
                for (w, &word) in cur.iter().enumerate() {
                    let mut rest = word;
                    while rest != 0 {
                        let q = w * 64 + rest.trailing_zeros() as usize;
                        rest &= rest - 1;
                        let row = &self.follow[q * self.words..(q + 1) * self.words];
                        for (n, f) in next.iter_mut().zip(row) {
                            *n |= f;
                        }
                    }
                }
            }
            if !self.keep_accepting(c, next) {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
            at_start = false;
        }
        self.accepting(at_start, cur)
    }

    /// [`Self::run`] with each step remembered: a step from a position set on a character is
    /// computed once (the union of the follow sets of every live position, which costs
    /// positions x words) and then looked up. Position sets repeat as the name goes on (in
    /// a long name a pattern's sets soon cycle), so a pathological pattern (hundreds of
    /// wildcards) over a long name costs a lookup per character instead of 710 ms per 8 KB.
    fn run_cached(&self, op: &str, cache: &mut StepCache) -> bool {
        let (mut cur, start) = match self.start() {
            Some(start) => (cache.intern(&self.after_prefix), start),
            None => (AT_START, 0),
        };
        let mut next = vec![0u64; self.words];
        for (i, c) in op[start..].char_indices() {
            if c == '\n' && start + i + 1 == op.len() && self.accepting(cur == AT_START, cache.set(cur)) {
                return true;
            }
            if let Some(&known) = cache.edges.get(&(cur, c)) {
                cur = known;
                continue;
            }
            cache.computed += 1;
            if cur == AT_START {
                next.copy_from_slice(&self.first);
            } else {
                next.fill(0);
                for (w, &word) in cache.set(cur).iter().enumerate() {
                    let mut rest = word;
                    while rest != 0 {
                        let q = w * 64 + rest.trailing_zeros() as usize;
                        rest &= rest - 1;
                        let row = &self.follow[q * self.words..(q + 1) * self.words];
                        for (n, f) in next.iter_mut().zip(row) {
                            *n |= f;
                        }
                    }
                }
            }
            if !self.keep_accepting(c, &mut next) {
                return false;
            }
            let to = cache.intern(&next);
            if cache.edges.len() >= MAX_CACHED_STEPS {
                // Bounded memory: start over, keeping the current set.
                let keep = cache.set(to).to_vec();
                *cache = StepCache { computed: cache.computed, ..StepCache::default() };
                cur = cache.intern(&keep);
                continue;
            }
            cache.edges.insert((cur, c), to);
            cur = to;
        }
        self.accepting(cur == AT_START, cache.set(cur))
    }

    /// Clear the positions in `set` that do not accept `c`; false when none is left.
    fn keep_accepting(&self, c: char, set: &mut [u64]) -> bool {
        let exact: Option<&[u64]> = if c.is_ascii() {
            let row = c as usize * self.words;
            Some(&self.ascii[row..row + self.words])
        } else {
            self.other.iter().find(|(x, _)| *x == c).map(|(_, mask)| mask.as_slice())
        };
        let mut any = false;
        for (w, word) in set.iter_mut().enumerate() {
            let mut mask = exact.map_or(0, |m| m[w]);
            if c != '/' {
                mask |= self.not_slash[w];
            }
            *word &= mask;
            any |= *word != 0;
        }
        any
    }

    fn accepting(&self, at_start: bool, cur: &[u64]) -> bool {
        if at_start {
            self.nullable
        } else {
            cur.iter().zip(&self.last).any(|(c, l)| c & l != 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(pattern: &str) -> IgnoreRules {
        // A suffix that never matches, so only the path part decides.
        IgnoreRules::new(pattern, "\u{0}never\u{0}")
    }

    fn check(pattern: &str, cases: &[(&str, bool)]) {
        let rules = path(pattern);
        for &(op, expected) in cases {
            assert_eq!(rules.is_ignored(op), expected, "pattern {pattern:?}, op {op:?}");
        }
    }

    // Every case of upstream's tests/unit/test_ant_matcher.py.
    #[test]
    fn upstream_ant_cases() {
        check("/eureka/*", &[("/eureka/apps", true), ("/eureka/", true), ("/eureka/apps/", false)]);
        check("/eureka/*/", &[("/eureka/apps/", true), ("/eureka/", false), ("/eureka/apps/list", false)]);
        check("/eureka/**", &[("/eureka/", true), ("/eureka/apps/test", true), ("/eureka/apps/test/", false)]);
        check("eureka/apps/?", &[("eureka/apps/list", false), ("eureka/apps/", false), ("eureka/apps/a", true)]);
        check(
            "eureka/**/lists",
            &[
                ("eureka/apps/lists", true),
                ("eureka/apps/test/lists", true),
                ("eureka/apps/test/", false),
                ("eureka/apps/test", false),
            ],
        );
        check(
            "eureka/**/test/**",
            &[
                ("eureka/apps/test/list", true),
                ("eureka/apps/foo/test/list/bar", true),
                ("eureka/apps/foo/test/list/bar/", false),
                ("eureka/apps/test/list", true),
                // `/**/` may match a lone `/`. (An older version of upstream's test, written
                // for the pre-regex matcher, expected false here; the regex says true.)
                ("eureka/test/list", true),
            ],
        );
        check(
            "/eureka/**/b/**/*.txt",
            &[("/eureka/a/aa/aaa/b/bb/bbb/xxxxxx.txt", true), ("/eureka/a/aa/aaa/b/bb/bbb/xxxxxx", false)],
        );
    }

    #[test]
    fn brief_cases() {
        check("eureka/*/**/test/**", &[("eureka/test/list", false)]);
    }

    #[test]
    fn slash_double_star_slash_allows_empty_and_repeated_segments() {
        check(
            "/a/**/b",
            &[
                ("/a/b", true),
                ("/a/x/b", true),
                ("/a//b", true),
                ("/a/x//y/b", true),
                ("/ab", false),
                ("/a/x/b/", false),
            ],
        );
    }

    #[test]
    fn double_star_needs_whole_non_empty_segments() {
        check("/a**", &[("/a", true), ("/abc", true), ("/ab/c", true), ("/a/", false), ("/a//b", false)]);
        check("**", &[("", true), ("x", true), ("x/y", true), ("/x", false), ("x/", false)]);
        check("***", &[("", true), ("a/b", true), ("a/b/", false)]);
    }

    #[test]
    fn star_and_question_stay_within_a_segment() {
        check("/a/*.css", &[("/a/x.css", true), ("/a/.css", true), ("/a/b/x.css", false)]);
        check("/?", &[("/x", true), ("/é", true), ("//", false), ("/", false), ("/xy", false)]);
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        check(
            "/a.b+(c)|[d]^$\\{1}",
            &[("/a.b+(c)|[d]^$\\{1}", true), ("/aXb+(c)|[d]^$\\{1}", false), ("/a.bb(c)", false)],
        );
    }

    #[test]
    fn several_patterns_and_whitespace() {
        let rules = path(" /health , /metrics/** ,/x/**/ y ");
        assert!(rules.is_ignored("/health"));
        assert!(rules.is_ignored("/metrics/a/b"));
        assert!(rules.is_ignored("/x/y"));
        assert!(rules.is_ignored("/x/q/y"));
        assert!(!rules.is_ignored("/healthz"));
        assert!(!rules.is_ignored(" /health"));
        // Internal whitespace is literal.
        assert!(path("/a b").is_ignored("/a b"));
        assert!(!path("/a b").is_ignored("/ab"));
    }

    #[test]
    fn strips_python_whitespace() {
        // U+001F counts as whitespace for Python's str.strip but not for Rust's trim.
        assert!(path("\u{1f}/a\u{3000}").is_ignored("/a"));
    }

    #[test]
    fn empty_path_option_ignores_only_the_empty_name() {
        let rules = path("");
        assert!(rules.is_ignored(""));
        assert!(rules.is_ignored("\n"));
        assert!(!rules.is_ignored("/"));
        assert!(!rules.is_ignored(" "));
        // A stray comma adds the same empty alternative.
        assert!(path("/a,").is_ignored(""));
    }

    #[test]
    fn dollar_matches_before_a_final_newline() {
        check("/a", &[("/a\n", true), ("/a\n\n", false), ("/a\nb", false)]);
        check("/a/*", &[("/a/b\n", true), ("/a/\n", true), ("/a/b\nc", true), ("/a/b\n/", false)]);
    }

    #[test]
    fn default_suffixes() {
        let rules = IgnoreRules::default();
        for op in ["/a.jpg", "x.js", "/static/app.css", "/i.svg", "/favicon.ico", "/x.html"] {
            assert!(rules.is_ignored(op), "{op}");
        }
        // At least one character before the suffix; case-sensitive; whole suffix only.
        for op in [".jpg", "/a.JPG", "/a.jpg/x", "/a.svg ", "/api/users", "/a.json", "/"] {
            assert!(!rules.is_ignored(op), "{op}");
        }
        assert!(rules.is_ignored("/a.png\n"));
        assert!(!rules.is_ignored("/a\nb.png"));
        assert!(!rules.is_ignored("\n.png"));
    }

    #[test]
    fn literal_patterns_match_as_the_automaton_does() {
        let names = ["", "\n", "/a", "/a\n", "/a\n\n", "/ab", "/a/", "a", " /a", "/a ", "/é", "/é\n", "\n/a"];
        for pattern in ["", "/a", " /a ", "/é", "/a\n", "\n"] {
            let fast = PathPattern::compile(pattern);
            assert!(fast.literal.is_some(), "{pattern:?}");
            let automaton = PathPattern { literal: None, ..PathPattern::compile(pattern) };
            for name in names {
                assert_eq!(fast.matches(name), automaton.matches(name), "{pattern:?} on {name:?}");
            }
        }
        assert!(PathPattern::compile("/a/*").literal.is_none());
        assert!(PathPattern::compile("/a?").literal.is_none());
    }

    #[test]
    fn names_sharing_only_a_suffix_last_byte_are_traced() {
        let rules = IgnoreRules::default();
        for op in ["op", "/a.mp", "/bmp", "/a.gs", "/x.xml"] {
            assert!(!rules.is_ignored(op), "{op}");
        }
        assert!(rules.is_ignored("/x.bmp"));
        // One-byte and multi-byte suffixes: the two-byte filter must not hide them.
        let rules = IgnoreRules::new("/never", "x,é");
        assert!(rules.is_ignored("ax"));
        assert!(rules.is_ignored("café"));
        assert!(!rules.is_ignored("cafe"));
    }

    #[test]
    fn suffix_entries_are_stripped_and_literal() {
        let rules = IgnoreRules::new("/never", " .txt , a+b ");
        assert!(rules.is_ignored("x.txt"));
        assert!(rules.is_ignored("xa+b"));
        assert!(!rules.is_ignored("xaab"));
        assert!(!rules.is_ignored("x.txt "));
    }

    #[test]
    fn empty_suffix_entry_ignores_every_non_empty_name() {
        // Upstream's `^.+(?:)$`: an empty option or a trailing comma ignores everything
        // that has at least one character and no inner newline.
        for suffix in ["", ".jpg,", " "] {
            let rules = IgnoreRules::new("/never", suffix);
            assert!(rules.is_ignored("/api/users"), "{suffix:?}");
            assert!(rules.is_ignored("x\n"), "{suffix:?}");
            assert!(!rules.is_ignored("a\nb"), "{suffix:?}");
        }
    }

    #[test]
    fn two_word_patterns() {
        // 70 literal positions plus wildcards: more than 64 positions, fewer than 256.
        let stem = "s".repeat(70);
        let rules = path(&format!("/{stem}/**/x/*"));
        assert!(rules.is_ignored(&format!("/{stem}/x/y")));
        assert!(rules.is_ignored(&format!("/{stem}/a/b/x/")));
        assert!(!rules.is_ignored(&format!("/{stem}/x/y/z")));
        assert!(!rules.is_ignored(&format!("/{stem}x/y")));
        let tail = path(&format!("**/{stem}?"));
        assert!(tail.is_ignored(&format!("a/b/{stem}é")));
        assert!(!tail.is_ignored(&format!("a/b/{stem}")));
    }

    #[test]
    fn newlines_inside_patterns() {
        // Stripping removes a trailing newline from the pattern itself.
        check("/a\n", &[("/a", true), ("/a\n", true), ("/a\n\n", false)]);
        check("/a\nb", &[("/a\nb", true), ("/a\nb\n", true), ("/a\nb\n\n", false), ("/a\n", false)]);
        check("/a\n*", &[("/a\n", true), ("/a\nb\n", true), ("/a\n/", false)]);
    }

    #[test]
    fn wide_patterns_use_the_heap_path() {
        let long = format!("/{}/*", "x".repeat(400));
        let rules = path(&long);
        assert!(rules.is_ignored(&format!("/{}/end", "x".repeat(400))));
        assert!(!rules.is_ignored(&format!("/{}/end/", "x".repeat(400))));
    }

    #[test]
    fn long_names_do_not_blow_up() {
        // Backtracking regex engines go polynomial/exponential here; the automaton is linear.
        let rules = path("*a*a*a*a*a*a*a*a*b");
        let op = "a".repeat(50_000);
        let start = std::time::Instant::now();
        assert!(!rules.is_ignored(&op));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn a_pathological_pattern_costs_a_lookup_per_character() {
        // Hundreds of wildcards: every step of the automaton touches hundreds of positions.
        let patterns =
            [format!("/{}b", "*a".repeat(300)), format!("/{}x", "**/".repeat(200)), "/**/".repeat(150) + "x"];
        let name = format!("/{}", "a/".repeat(4096));
        for pattern in &patterns {
            let rules = path(pattern);
            let compiled = &rules.paths[0];
            assert!(compiled.words > INLINE_WORDS, "{pattern}: {} words", compiled.words);
            let mut cache = StepCache::default();
            let started = std::time::Instant::now();
            let matched = compiled.run_cached(&name, &mut cache);
            let cached_time = started.elapsed();
            let mut plain_cur = vec![0u64; compiled.words];
            let mut plain_next = vec![0u64; compiled.words];
            let started = std::time::Instant::now();
            assert_eq!(matched, compiled.run(&name, &mut plain_cur, &mut plain_next), "{pattern}");
            eprintln!("{} positions: {cached_time:?} remembered, {:?} plain", compiled.words * 64, started.elapsed());
            // Steps computed grow with the pattern (sets still changing), not with the name.
            assert!(cache.computed < 2 * compiled.words * 64, "{pattern}: {} steps computed", cache.computed);
        }
    }

    #[test]
    fn remembered_steps_agree_with_plain_ones() {
        let name_parts = ["/a", "/b/", "/ab/c", "/x.y/", "/a//b", "/\u{e9}/"];
        let patterns = ["/**/b", "/a/**/*.y", "/*/**/c", "/a?/**", "/**/*b*/**", "/\u{e9}/**"];
        for pattern in patterns {
            let compiled = &path(&format!("{pattern},{}", "/z*".repeat(40))).paths[0];
            for a in name_parts {
                for b in name_parts {
                    let name = format!("{a}{b}{a}\n");
                    if !name.starts_with(compiled.prefix.as_str()) {
                        continue; // `matches` stops before running either
                    }
                    let mut cur = vec![0u64; compiled.words];
                    let mut next = vec![0u64; compiled.words];
                    let plain = compiled.run(&name, &mut cur, &mut next);
                    assert_eq!(compiled.run_cached(&name, &mut StepCache::default()), plain, "{pattern} {name:?}");
                }
            }
        }
    }
}
