//! Which partition a record goes to, as kafka-python's (and Java's) default partitioner
//! decides: a keyed record by murmur2 of its key, so every record with the same key lands
//! on the same partition as with the Python agent; an unkeyed one round robin.

/// Kafka's murmur2 (the Java client's `Utils.murmur2`, seed `0x9747b28c`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    #[allow(clippy::cast_possible_truncation)] // Java hashes the length as an int
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    #[allow(clippy::cast_possible_wrap)] // Java's int
    let hash = h as i32;
    hash
}

/// Index into the topic's partitions (sorted by id) for a record with `key`;
/// `round_robin` is the producer's counter for unkeyed records.
pub fn partition_index(key: Option<&[u8]>, partitions: usize, round_robin: &mut usize) -> usize {
    if partitions == 0 {
        return 0;
    }
    match key {
        #[allow(clippy::cast_sign_loss)] // masked positive, as Java's `toPositive`
        Some(key) => ((murmur2(key) & 0x7fff_ffff) as usize) % partitions,
        None => {
            *round_robin = round_robin.wrapping_add(1);
            *round_robin % partitions
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_known_values() {
        // The values Kafka's own client tests pin (UtilsTest.testMurmur2).
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58_897_971);
        assert_eq!(murmur2(b"abc"), 479_470_107);
    }

    #[test]
    fn keys_stick_to_a_partition_and_unkeyed_records_rotate() {
        let mut counter = 0;
        let first = partition_index(Some(b"segment-1"), 3, &mut counter);
        assert_eq!(partition_index(Some(b"segment-1"), 3, &mut counter), first);
        assert_eq!(counter, 0);
        let a = partition_index(None, 3, &mut counter);
        let b = partition_index(None, 3, &mut counter);
        assert_ne!(a, b);
        assert_eq!(partition_index(None, 0, &mut counter), 0);
    }
}
