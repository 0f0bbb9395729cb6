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

/// Length of an id returned by [`new_id`].
pub const ID_LEN: usize = 32;

const HEX: &[u8; 16] = b"0123456789abcdef";

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
    let generation = fork_generation();
    let bits = SOURCE
        .try_with(|cell| {
            let mut slot = cell.borrow_mut();
            let source = match slot.as_mut() {
                Some(source) if source.generation == generation => source,
                _ => slot.insert(IdSource::seeded(generation)),
            };
            next_u128(&mut source.rng)
        })
        // The thread-local is gone only while this thread is being torn down; a one-off
        // generator is slow but still unique.
        .unwrap_or_else(|_| next_u128(&mut Xoshiro256::from_seed_source(&mut seed_rng(std::process::id()))));
    to_hex(bits)
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

fn to_hex(bits: u128) -> String {
    // Filled in place from a table, then turned into a String once: this runs twice for
    // every segment, and pushing character by character costs three times as much.
    let mut out = [0u8; ID_LEN];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bits.to_be_bytes()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    String::from_utf8(out.to_vec()).unwrap_or_default() // always ASCII: the table holds only hex digits
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
        assert_eq!(to_hex(0), "0".repeat(32));
        assert_eq!(to_hex(u128::MAX), "f".repeat(32));
        assert_eq!(to_hex(0xab), format!("{}ab", "0".repeat(30)));
        assert_eq!(to_hex(0x1u128 << 124), format!("1{}", "0".repeat(31)));
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
            to_hex(next_u128(&mut copy))
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
