//! Optional persistence of the store to one file, so a collector restarted with the same
//! `--persist FILE` shows what it had before.
//!
//! Format: the magic line `sw-collector-store v1\n`, then records of
//! `[kind: u8][length: u32 little-endian][payload]`. Protocol messages are stored as protobuf,
//! instance records and profile tasks (which have no protobuf form) as JSON. The whole file
//! is rewritten (to a temporary file, then renamed) when the store changed, so it never
//! holds more than the store's limits.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use sw_proto::v3::{Event, LogData, MeterData, SegmentObject, ThreadSnapshot};

use crate::profile_tasks::ProfileTaskRecord;
use crate::store::{InstanceRecord, Store};

const MAGIC: &[u8] = b"sw-collector-store v1\n";

const SEGMENT: u8 = 1;
const LOG: u8 = 2;
const METER: u8 = 3;
const SNAPSHOT: u8 = 4;
const EVENT: u8 = 5;
const INSTANCE: u8 = 6;
const TASK: u8 = 7;

/// Why the persistence file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file exists but was not written by this collector; it is left untouched.
    #[error("not a sw-collector store file (refusing to overwrite it)")]
    NotAStoreFile,
}

/// Everything the file holds, in store order.
#[derive(Debug, Default)]
pub struct Contents {
    /// Segments, oldest first.
    pub segments: Vec<SegmentObject>,
    /// Logs, oldest first.
    pub logs: Vec<LogData>,
    /// Meter values; each `MeterData.service` holds the service it was recorded under.
    pub meters: Vec<(String, MeterData)>,
    /// Profile snapshots, oldest first.
    pub snapshots: Vec<ThreadSnapshot>,
    /// Events, oldest first.
    pub events: Vec<Event>,
    /// Known instances.
    pub instances: Vec<InstanceRecord>,
    /// Profile tasks, oldest first.
    pub tasks: Vec<ProfileTaskRecord>,
}

fn put(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    out.push(kind);
    // Payloads are bounded by the gRPC message limit, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Encodes the whole store.
pub fn encode(store: &Store) -> Vec<u8> {
    store.read(|d| {
        let mut out = MAGIC.to_vec();
        for s in d.segments {
            put(&mut out, SEGMENT, &s.encode_to_vec());
        }
        for l in d.logs {
            put(&mut out, LOG, &l.encode_to_vec());
        }
        for (service, m) in d.meters {
            let mut m = m.clone();
            m.service.clone_from(service);
            put(&mut out, METER, &m.encode_to_vec());
        }
        for s in d.snapshots {
            put(&mut out, SNAPSHOT, &s.encode_to_vec());
        }
        for e in d.events {
            put(&mut out, EVENT, &e.encode_to_vec());
        }
        for i in d.instances.values() {
            if let Ok(json) = serde_json::to_vec(i) {
                put(&mut out, INSTANCE, &json);
            }
        }
        for t in d.tasks {
            if let Ok(json) = serde_json::to_vec(t) {
                put(&mut out, TASK, &json);
            }
        }
        out
    })
}

/// Decodes a file's bytes. A damaged record is skipped and a truncated tail ends the
/// reading, each with a warning: what was saved before the damage is still worth having.
pub fn decode(bytes: &[u8]) -> Result<Contents, PersistError> {
    let mut rest = bytes.strip_prefix(MAGIC).ok_or(PersistError::NotAStoreFile)?;
    let mut c = Contents::default();
    while !rest.is_empty() {
        let Some((&kind, after)) = rest.split_first() else {
            break;
        };
        let Some((len, after)) = after.split_first_chunk::<4>() else {
            ::log::warn!("persisted store: truncated record header, ignoring the tail");
            break;
        };
        let len = u32::from_le_bytes(*len) as usize;
        if after.len() < len {
            ::log::warn!("persisted store: truncated record, ignoring the tail");
            break;
        }
        let (payload, after) = after.split_at(len);
        rest = after;
        let ok = match kind {
            SEGMENT => SegmentObject::decode(payload).map(|v| c.segments.push(v)).is_ok(),
            LOG => LogData::decode(payload).map(|v| c.logs.push(v)).is_ok(),
            METER => MeterData::decode(payload).map(|v| c.meters.push((v.service.clone(), v))).is_ok(),
            SNAPSHOT => ThreadSnapshot::decode(payload).map(|v| c.snapshots.push(v)).is_ok(),
            EVENT => Event::decode(payload).map(|v| c.events.push(v)).is_ok(),
            INSTANCE => serde_json::from_slice(payload).map(|v| c.instances.push(v)).is_ok(),
            TASK => serde_json::from_slice(payload).map(|v| c.tasks.push(v)).is_ok(),
            _ => false,
        };
        if !ok {
            ::log::warn!("persisted store: skipped a damaged record of kind {kind}");
        }
    }
    Ok(c)
}

/// Loads `path` into `store`; a missing file is an empty store.
pub fn load(path: &Path, store: &Store) -> Result<(), PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    store.restore(decode(&bytes)?);
    Ok(())
}

/// Writes the whole store to `path` (through a temporary file, so a crash mid-write leaves
/// the previous file intact).
pub fn save(path: &Path, store: &Store) -> Result<(), PersistError> {
    let bytes = encode(store);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Saves every `every` when the store changed, and once more when `stop` completes.
///
/// `saved` is the store generation already on disk (read before this task was spawned, so a
/// change made before the task first runs is not mistaken for the saved state).
pub async fn periodically(
    path: PathBuf,
    store: Arc<Store>,
    mut saved: u64,
    every: Duration,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(every) => {}
        }
        let now = store.generation();
        if now != saved {
            save_logged(&path, &store).await;
            saved = now;
        }
    }
    if store.generation() != saved {
        save_logged(&path, &store).await;
    }
}

async fn save_logged(path: &Path, store: &Arc<Store>) {
    let (path, store) = (path.to_owned(), store.clone());
    // File I/O off the async workers.
    let result = tokio::task::spawn_blocking(move || save(&path, &store).map_err(|e| (path, e))).await;
    if let Ok(Err((path, e))) = result {
        ::log::warn!("cannot save the store to {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreLimits;
    use sw_proto::v3::{meter_data, MeterSingleValue, SpanObject};

    #[test]
    fn round_trip_keeps_every_kind() {
        let store = Store::new(StoreLimits::default());
        let segment = SegmentObject {
            trace_segment_id: "seg".into(),
            spans: vec![SpanObject::default()],
            ..SegmentObject::default()
        };
        store.add_grpc_segment(segment.encode_to_vec().into()).expect("well formed");
        store.add_meter(
            "svc".into(),
            MeterData {
                metric: Some(meter_data::Metric::SingleValue(MeterSingleValue {
                    name: "m".into(),
                    labels: vec![],
                    value: 1.5,
                })),
                ..MeterData::default()
            },
        );
        store.create_task(
            crate::profile_tasks::ProfileTaskSpec {
                service: "svc".into(),
                endpoint_name: "/e".into(),
                start_time: 1,
                duration: 1,
                min_duration_threshold: 0,
                dump_period: 10,
                max_sampling_count: 1,
            },
            5,
        );
        store
            .keep_alive(
                sw_proto::v3::InstancePingPkg {
                    service: "svc".into(),
                    service_instance: "i".into(),
                    layer: String::new(),
                },
                6,
            )
            .expect("small");
        let mut bytes = encode(&store);
        // A torn final write must not lose what came before it.
        bytes.extend_from_slice(&[SEGMENT, 200, 0]);
        let copy = Store::new(StoreLimits::default());
        copy.restore(decode(&bytes).expect("decodes"));
        assert_eq!(copy.segments(), store.segments());
        assert_eq!(copy.meters()[0].0, "svc");
        assert_eq!(copy.tasks(), store.tasks());
        assert_eq!(copy.instances(), store.instances());
        assert_eq!(copy.stats().segments.received, 0, "loading is not receiving");
    }

    #[test]
    fn foreign_file_is_refused() {
        assert!(matches!(decode(b"hello world"), Err(PersistError::NotAStoreFile)));
    }
}
