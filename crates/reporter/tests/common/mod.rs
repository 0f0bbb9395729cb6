//! Helpers shared by the reporter's integration tests (each test binary uses a subset).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sw_reporter::{KafkaConfig, KafkaTopics, LogConfig, Protocol, ReporterConfig};

/// A reporter for `backend` over `protocol`, with short periods so tests run quickly.
/// Every field is set: the agent's defaults live in `skywalking/config.py` only.
pub fn test_config(backend: String, protocol: Protocol) -> ReporterConfig {
    ReporterConfig {
        backend,
        protocol,
        service: "reporter-test".into(),
        instance: "instance-1".into(),
        authentication: None,
        force_tls: false,
        properties: vec![("language".into(), "python".into()), ("OS Name".into(), "posix".into())],
        heartbeat_period: Duration::from_millis(200),
        properties_report_period_factor: 10,
        segment_queue_size: 10_000,
        stream_idle: Duration::from_millis(100),
        stream_max_age: sw_reporter::STREAM_MAX_AGE,
        call_timeout: Duration::from_secs(2),
        profile_active: true,
        profile_poll_interval: Duration::from_secs(20),
        snapshot_queue_size: 50,
        meters_active: true,
        meter_period: Duration::from_secs(20),
        kafka: KafkaConfig::from_pass_through("localhost:9092", test_topics(), &[]).0,
        logs: LogConfig::default(),
        pvm_active: false,
        meter_queue_size: 10_000,
        meter_sources: Vec::new(),
    }
}

/// Kafka topics for tests.
pub fn test_topics() -> KafkaTopics {
    KafkaTopics {
        segment: "test-segments".into(),
        management: "test-managements".into(),
        meter: "test-meters".into(),
        log: "test-logs".into(),
    }
}

/// An address nothing listens on.
pub fn unused_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Polls `done` until it holds or `timeout` passes; its last answer.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// In `dir`: a self-signed CA `<name>.pem`/`<name>.key` for each of `cas`, and
/// `server.pem`/`server.key` for `localhost`, signed by the first.
pub fn make_certificates(dir: &Path, cas: &[&str]) {
    let script = format!(
        r#"set -e
for ca in {}; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.pem -subj /CN=sw-$ca -days 2 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
done
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in server.csr -CA {first}.pem -CAkey {first}.key -CAcreateserial -out server.pem -days 2 \
  -extfile ext.cnf 2>/dev/null
"#,
        cas.join(" "),
        first = cas[0],
    );
    let status = Command::new("bash").arg("-c").arg(script).current_dir(dir).status().expect("bash runs");
    assert!(status.success(), "openssl could not make the test certificates");
}
