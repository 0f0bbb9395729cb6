//! The bounded queue of finished segments between the application threads and the sender.
//!
//! Producers encode each segment straight into one shared buffer, behind the 5-byte header
//! of a gRPC message (compression flag 0, length big-endian), under a mutex that only they
//! and, once per batch, the sender take. So a segment costs no allocation of its own and
//! nothing is freed on another thread than the one that allocated it (which glibc's malloc
//! pays for with a lock per free), and the sender takes everything queued in one step
//! instead of one channel operation per segment.
//!
//! The capacity bounds every segment the agent holds unsent, not only those still queued:
//! segments taken by the sender count until they are handed to the transport (see
//! [`Segments`]). Otherwise a slow backend would let batches pile up between the queue and the
//! connection, several queues' worth of memory that `agent_trace_reporter_max_buffer_size`
//! promises not to use.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Buf, Bytes};
use tokio::sync::Notify;

/// Bytes before each segment in the buffer: a gRPC message header.
pub const FRAME_HEADER: usize = 5;
/// The buffer that replaces a taken one is sized like it, up to this much.
const MAX_PREALLOCATED: usize = 4 * 1024 * 1024;

/// Segments that wait to be sent, at most `capacity` of them.
#[derive(Debug)]
pub struct SegmentQueue {
    pending: Mutex<Pending>,
    capacity: usize,
    /// How many segments wait, readable without the lock (checked for every new span).
    len: AtomicUsize,
    /// Segments taken but not handed to the transport yet; shared with the batches, which
    /// give their segments back as they go.
    unsent: Arc<AtomicUsize>,
    /// Bytes of the last batch taken: the size of the next buffer.
    last_batch: AtomicUsize,
    closed: AtomicBool,
    /// Wakes the sender early once `wake_threshold` segments wait.
    wake: Notify,
    wake_threshold: usize,
}

#[derive(Debug, Default)]
struct Pending {
    frames: Vec<u8>,
    count: usize,
}

/// Why a segment was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Full,
    /// Larger than a gRPC message can be (4 GiB).
    TooLarge,
}

impl SegmentQueue {
    #[must_use]
    pub fn new(capacity: usize, wake_threshold: usize) -> Self {
        Self {
            pending: Mutex::new(Pending::default()),
            capacity: capacity.max(1),
            len: AtomicUsize::new(0),
            unsent: Arc::new(AtomicUsize::new(0)),
            last_batch: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            wake_threshold: wake_threshold.max(1),
        }
    }

    /// Queues the segment that `encode` appends to the buffer it is given, without
    /// blocking on the sender (which holds the lock only to swap the buffer).
    pub fn push_with(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), Refused> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.count + self.unsent.load(Relaxed) >= self.capacity {
            return Err(Refused::Full);
        }
        let start = pending.frames.len();
        pending.frames.extend_from_slice(&[0; FRAME_HEADER]);
        encode(&mut pending.frames);
        let Ok(len) = u32::try_from(pending.frames.len() - start - FRAME_HEADER) else {
            pending.frames.truncate(start);
            return Err(Refused::TooLarge);
        };
        pending.frames[start + 1..start + FRAME_HEADER].copy_from_slice(&len.to_be_bytes());
        pending.count += 1;
        let count = pending.count;
        self.len.store(count, Relaxed);
        drop(pending);
        if count >= self.wake_threshold {
            // A stored permit when the sender is busy: it looks again as soon as it is done.
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Everything queued, oldest first; the queue is empty afterwards.
    pub fn take(&self) -> Segments {
        if self.len.load(Relaxed) == 0 {
            return Segments::default();
        }
        // Allocated before the lock is taken, so producers never wait for malloc.
        let fresh = Vec::with_capacity(self.last_batch.load(Relaxed).min(MAX_PREALLOCATED));
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let frames = std::mem::replace(&mut pending.frames, fresh);
        let count = std::mem::take(&mut pending.count);
        self.len.store(0, Relaxed);
        // Counted before the lock is released, so no producer sees the segments in neither.
        self.unsent.fetch_add(count, Relaxed);
        drop(pending);
        self.last_batch.store(frames.len(), Relaxed);
        Segments { frames: Bytes::from(frames), count, handed_on: 0, unsent: Some(self.unsent.clone()) }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a segment finished now would be refused.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len() + self.unsent.load(Relaxed) >= self.capacity
    }

    /// Segments taken by the sender and not yet handed to the transport.
    #[cfg(test)]
    fn unsent(&self) -> usize {
        self.unsent.load(Relaxed)
    }

    /// No more segments will come: the sender ends once it has sent what is queued.
    pub fn close(&self) {
        self.closed.store(true, Relaxed);
        self.wake.notify_one();
    }

    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// What the sender waits on between ticks.
    pub fn wake(&self) -> &Notify {
        &self.wake
    }
}

/// Segments taken out of the queue together, in the order they were queued; iterating
/// yields each one's `SegmentObject` bytes.
///
/// They count against the queue's capacity until yielded (or dropped unsent): yielding is
/// handing on, to a gRPC stream whose HTTP/2 window bounds what it buffers, or into an HTTP
/// or Kafka request of bounded size.
#[derive(Debug, Default)]
pub struct Segments {
    frames: Bytes,
    count: usize,
    /// Yielded but not yet given back to `unsent`: given back in steps of
    /// [`GIVE_BACK_EVERY`], so producers' reads of the counter rarely miss the cache.
    handed_on: usize,
    unsent: Option<Arc<AtomicUsize>>,
}

/// Segments yielded between two updates of the queue's unsent count.
const GIVE_BACK_EVERY: usize = 64;

impl Segments {
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn give_back(&mut self, n: usize) {
        if let Some(unsent) = &self.unsent {
            unsent.fetch_sub(n, Relaxed);
        }
    }
}

impl Drop for Segments {
    fn drop(&mut self) {
        // Dropped unsent (a failed stream, the agent stopping): they no longer take room.
        self.give_back(self.handed_on + self.count);
    }
}

impl Iterator for Segments {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.count == 0 {
            return None;
        }
        let header = self.frames.get(..FRAME_HEADER)?;
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if self.frames.len() < FRAME_HEADER + len {
            // Only `push_with` writes frames, so this is a bug; end rather than read garbage.
            log::error!("segment queue: a frame claims {len} bytes, {} remain", self.frames.len());
            let held = std::mem::take(&mut self.handed_on) + std::mem::take(&mut self.count);
            self.give_back(held);
            return None;
        }
        self.frames.advance(FRAME_HEADER);
        self.count -= 1;
        self.handed_on += 1;
        if self.handed_on >= GIVE_BACK_EVERY || self.count == 0 {
            let handed_on = std::mem::take(&mut self.handed_on);
            self.give_back(handed_on);
        }
        Some(self.frames.split_to(len))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.count, Some(self.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(queue: &SegmentQueue, bytes: &[u8]) -> Result<(), Refused> {
        queue.push_with(|buf| buf.extend_from_slice(bytes))
    }

    #[test]
    fn segments_come_out_in_order_with_their_bytes() {
        let queue = SegmentQueue::new(10, 10);
        push(&queue, b"first").unwrap();
        push(&queue, b"").unwrap();
        push(&queue, &[7; 300]).unwrap();
        assert_eq!(queue.len(), 3);
        let taken = queue.take();
        assert!(queue.is_empty());
        assert_eq!(taken.len(), 3);
        let segments: Vec<Bytes> = taken.collect();
        assert_eq!(segments, vec![Bytes::from_static(b"first"), Bytes::new(), Bytes::from(vec![7; 300])]);
        assert!(queue.take().is_empty());
    }

    #[test]
    fn frames_are_grpc_messages() {
        let queue = SegmentQueue::new(10, 10);
        push(&queue, b"ab").unwrap();
        let mut taken = queue.take();
        assert_eq!(taken.frames.as_ref(), &[0, 0, 0, 0, 2, b'a', b'b']);
        assert_eq!(taken.next().as_deref(), Some(&b"ab"[..]));
        assert_eq!(taken.next(), None);
    }

    #[test]
    fn a_full_queue_refuses_until_taken() {
        let queue = SegmentQueue::new(2, 10);
        push(&queue, b"1").unwrap();
        push(&queue, b"2").unwrap();
        assert!(queue.is_full());
        assert_eq!(push(&queue, b"3"), Err(Refused::Full));
        assert_eq!(queue.take().count(), 2);
        push(&queue, b"4").unwrap();
        assert_eq!(queue.take().collect::<Vec<_>>(), vec![Bytes::from_static(b"4")]);
    }

    #[test]
    fn taken_segments_take_room_until_handed_on() {
        let queue = SegmentQueue::new(3, 10);
        for n in [b"1", b"2", b"3"] {
            push(&queue, n).unwrap();
        }
        let mut taken = queue.take();
        assert!(queue.is_empty() && queue.is_full(), "taken but not sent: still held");
        assert_eq!((queue.unsent(), push(&queue, b"4")), (3, Err(Refused::Full)));
        assert_eq!(taken.next().as_deref(), Some(&b"1"[..]));
        // Given back in steps; the last segment of a batch gives back the rest.
        assert_eq!(taken.by_ref().count(), 2);
        assert_eq!(queue.unsent(), 0);
        push(&queue, b"5").unwrap();
        push(&queue, b"6").unwrap();
        let unsent = queue.take();
        assert_eq!(queue.unsent(), 2);
        drop(unsent);
        assert_eq!(queue.unsent(), 0, "a batch dropped unsent gives its room back");
        let long = SegmentQueue::new(200, 10);
        for _ in 0..150 {
            push(&long, b"x").unwrap();
        }
        let mut batch = long.take();
        batch.by_ref().take(GIVE_BACK_EVERY).for_each(drop);
        assert_eq!(long.unsent(), 150 - GIVE_BACK_EVERY);
        batch.next();
        drop(batch);
        assert_eq!(long.unsent(), 0);
    }

    #[test]
    fn producers_on_many_threads_lose_nothing() {
        let queue = std::sync::Arc::new(SegmentQueue::new(1_000_000, 64));
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000u32 {
                        queue.push_with(|buf| buf.extend_from_slice(&[&[t][..], &i.to_be_bytes()].concat())).unwrap();
                    }
                })
            })
            .collect();
        let mut seen = vec![Vec::new(); 4];
        let mut taken_total = 0;
        while taken_total < 20_000 {
            for segment in queue.take() {
                seen[usize::from(segment[0])].push(u32::from_be_bytes(segment[1..5].try_into().unwrap()));
                taken_total += 1;
            }
        }
        for thread in threads {
            thread.join().unwrap();
        }
        for per_thread in seen {
            assert_eq!(per_thread, (0..5_000).collect::<Vec<_>>(), "each producer's segments, in its order");
        }
    }

    #[test]
    fn past_the_threshold_the_sender_is_woken() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let queue = SegmentQueue::new(10, 2);
        push(&queue, b"1").unwrap();
        let woken = |queue: &SegmentQueue| {
            runtime.block_on(async {
                tokio::time::timeout(std::time::Duration::from_millis(20), queue.wake().notified()).await.is_ok()
            })
        };
        assert!(!woken(&queue));
        push(&queue, b"2").unwrap();
        assert!(woken(&queue));
        queue.close();
        assert!(woken(&queue) && queue.is_closed());
    }
}
