//! Trace and segment ids: 32 lowercase hex characters, like upstream's `uuid1().hex`.
//!
//! Each thread keeps its own xoshiro256++ generator, seeded from the OS. Ids must be
//! unique, not secret (upstream's are time-based uuid1s), and a cryptographic generator
//! cost a third of the instructions of a whole span (two ids per segment). The seed is thrown
//! away after every `fork()`: a child inherits the parent's thread-local state byte for
//! byte, and without reseeding both processes would go on producing the same ids. A
//! `pthread_atfork` child handler (installed on first use, so no caller has to remember
//! it) counts forks; comparing that count is one atomic load per id, where asking the
//! kernel for the pid would be a system call per id.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// Length of an id.
pub const ID_LEN: usize = 32;

/// An id held in place: a segment's two ids cost no allocation (and no free) of their own.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Id([u8; ID_LEN]);

impl Id {
    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        debug_assert!(self.0.iter().all(u8::is_ascii_hexdigit));
        // SAFETY: only `to_hex` makes an Id (the field is private) and it writes nothing but
        // the ASCII digits 0-9a-f. Checking costs about 170 instructions per call in
        // `from_utf8`, and every segment reads both ids.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

impl std::fmt::Debug for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Forks this process went through (counted in every child).
static FORKS: AtomicU64 = AtomicU64::new(0);
static FORK_HANDLER: Once = Once::new();

extern "C" fn count_fork_in_child() {
    FORKS.fetch_add(1, Relaxed);
}

/// How many forks led to this process; changes in a child right after `fork()`.
fn fork_generation() -> u64 {
    FORK_HANDLER.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic, which is
        // async-signal-safe as the child side of fork requires.
        let status = unsafe { libc::pthread_atfork(None, None, Some(count_fork_in_child)) };
        debug_assert_eq!(status, 0, "pthread_atfork failed");
    });
    FORKS.load(Relaxed)
}

struct IdSource {
    generation: u64,
    rng: Xoshiro256,
}

impl IdSource {
    fn seeded(generation: u64) -> Self {
        Self { generation, rng: Xoshiro256::from_seed_source(&mut seed_rng(std::process::id())) }
    }
}

/// xoshiro256++ (Blackman and Vigna): 256 bits of state, period 2^256 - 1, a few
/// instructions per 64-bit output.
#[derive(Clone)]
struct Xoshiro256([u64; 4]);

impl Xoshiro256 {
    fn from_seed_source(seed: &mut StdRng) -> Self {
        let mut state = [seed.next_u64(), seed.next_u64(), seed.next_u64(), seed.next_u64()];
        if state == [0; 4] {
            state[0] = 1; // the one state the generator cannot leave
        }
        Self(state)
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

thread_local! {
    static SOURCE: RefCell<Option<IdSource>> = const { RefCell::new(None) };
}

/// A new random id: 32 lowercase hex characters, unique across threads, processes and forks.
pub fn new_id() -> String {
    new_id_pair().0.as_str().to_owned()
}

/// Two new ids (a new segment's trace id and segment id) from one visit to the generator.
#[must_use]
pub fn new_id_pair() -> (Id, Id) {
    let generation = fork_generation();
    let (a, b) = SOURCE
        .try_with(|cell| {
            let mut slot = cell.borrow_mut();
            let source = match slot.as_mut() {
                Some(source) if source.generation == generation => source,
                _ => slot.insert(IdSource::seeded(generation)),
            };
            (next_u128(&mut source.rng), next_u128(&mut source.rng))
        })
        // The thread-local is gone only while this thread is being torn down; a one-off
        // generator is slow but still unique.
        .unwrap_or_else(|_| {
            let mut rng = Xoshiro256::from_seed_source(&mut seed_rng(std::process::id()));
            (next_u128(&mut rng), next_u128(&mut rng))
        });
    (to_hex(a), to_hex(b))
}

fn next_u128(rng: &mut Xoshiro256) -> u128 {
    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
}

/// Seed from the OS; if that fails (seccomp, very early boot), fall back to a mix of pid,
/// wall-clock nanoseconds and this thread's stack address, which still differs between
/// a parent and its forked child.
fn seed_rng(pid: u32) -> StdRng {
    match StdRng::try_from_os_rng() {
        Ok(rng) => rng,
        Err(_) => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let marker = 0u8;
            let addr = &marker as *const u8 as usize as u64;
            let seed = splitmix(u64::from(pid)) ^ splitmix(nanos as u64) ^ splitmix(addr);
            StdRng::seed_from_u64(seed)
        }
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `bits` as 32 lowercase hex digits, most significant first (as `format!("{bits:032x}")`).
fn to_hex(bits: u128) -> Id {
    // Eight digits at a time in a u64 rather than a table lookup per nibble: this runs twice
    // for every segment.
    let mut out = [0u8; ID_LEN];
    for (chunk, shift) in out.chunks_exact_mut(8).zip([96u32, 64, 32, 0]) {
        chunk.copy_from_slice(&hex8((bits >> shift) as u32));
    }
    Id(out)
}

/// The 8 hex digits of `value`, most significant first.
fn hex8(value: u32) -> [u8; 8] {
    // Spread the nibbles so that nibble k lands in the low half of byte k...
    let mut x = u64::from(value);
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // ...then add '0' to each, and 'a' - '0' - 10 more to those above 9 (adding 6 carries
    // into bit 4 exactly for the nibbles 10-15).
    let above_nine = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + 0x3030_3030_3030_3030 + above_nine * 0x27).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn format_is_32_lowercase_hex() {
        for _ in 0..1000 {
            let id = new_id();
            assert_eq!(id.len(), ID_LEN, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{id}");
        }
    }

    #[test]
    fn hex_encoding_is_big_endian_nibbles() {
        assert_eq!(to_hex(0).as_str(), "0".repeat(32));
        assert_eq!(to_hex(u128::MAX).as_str(), "f".repeat(32));
        assert_eq!(to_hex(0xab).as_str(), format!("{}ab", "0".repeat(30)));
        assert_eq!(to_hex(0x1u128 << 124).as_str(), format!("1{}", "0".repeat(31)));
    }

    #[test]
    fn hex_encoding_matches_format_for_every_digit_in_every_place() {
        let mut rng = Xoshiro256([5, 6, 7, 8]);
        let mut cases: Vec<u128> = (0..16u128).map(|d| d * 0x1111_1111_1111_1111_1111_1111_1111_1111).collect();
        cases.extend((0..32).map(|place| 0x9u128 << (4 * place)));
        cases.extend((0..10_000).map(|_| next_u128(&mut rng)));
        for bits in cases {
            assert_eq!(to_hex(bits).as_str(), format!("{bits:032x}"));
        }
    }

    #[test]
    fn a_pair_holds_two_different_ids() {
        let (a, b) = new_id_pair();
        assert_ne!(a, b);
        assert_eq!(format!("{a}").len(), ID_LEN);
    }

    #[test]
    fn unique_across_threads() {
        let handles: Vec<_> =
            (0..4).map(|_| std::thread::spawn(|| (0..25_000).map(|_| new_id()).collect::<Vec<_>>())).collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for id in handle.join().expect("id thread panicked") {
                assert!(seen.insert(id), "duplicate id");
            }
        }
        assert_eq!(seen.len(), 100_000);
    }

    #[test]
    fn reseeds_after_a_fork() {
        // Simulate what the at-fork handler does in a child, and check that the next id
        // does not continue the cached generator's sequence.
        let _ = new_id();
        let predicted = SOURCE.with(|cell| {
            let slot = cell.borrow();
            let mut copy = slot.as_ref().expect("source initialised by new_id").rng.clone();
            to_hex(next_u128(&mut copy)).as_str().to_owned()
        });
        count_fork_in_child();
        let actual = new_id();
        assert_ne!(actual, predicted);
        let generation = SOURCE.with(|cell| cell.borrow().as_ref().map(|s| s.generation));
        assert_eq!(generation, Some(FORKS.load(Relaxed)));
    }

    #[test]
    fn a_real_fork_gives_the_child_other_ids() {
        let _ = new_id();
        let mut pipe = [0; 2];
        // SAFETY: plain pipe/fork/read/write/_exit; the child only generates an id, writes
        // it and exits without running destructors.
        unsafe {
            assert_eq!(libc::pipe(pipe.as_mut_ptr()), 0);
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                let id = new_id();
                libc::write(pipe[1], id.as_ptr().cast(), id.len());
                libc::_exit(0);
            }
            let parent_next = new_id();
            let mut buffer = [0u8; ID_LEN];
            assert_eq!(libc::read(pipe[0], buffer.as_mut_ptr().cast(), ID_LEN), ID_LEN as isize);
            let mut status = 0;
            libc::waitpid(pid, &raw mut status, 0);
            let child_first = String::from_utf8_lossy(&buffer).into_owned();
            // Without reseeding, the child's first id would equal the parent's next one.
            assert_ne!(child_first, parent_next);
        }
    }

    #[test]
    fn xoshiro256pp_matches_the_reference_sequence() {
        // First outputs of the reference C implementation seeded with {1, 2, 3, 4}.
        let mut rng = Xoshiro256([1, 2, 3, 4]);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(first, vec![41_943_041, 58_720_359, 3_588_806_011_781_223]);
    }

    #[test]
    fn fallback_seed_differs_by_pid() {
        assert_ne!(splitmix(1), splitmix(2));
    }
}
