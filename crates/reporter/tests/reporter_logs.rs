//! The log reporter against the local collector over gRPC and HTTP: records captured as the
//! application thread hands them over arrive rendered with the layout, filtered in safe mode,
//! with their tags and trace context; a full queue drops and counts without blocking.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sw_collector::CollectorConfig;
use sw_proto::v3::log_data_body::Content;
use sw_reporter::{Layout, LogConfig, LogRecord, LogText, LogValue, Protocol, Reporter, ReporterConfig};

mod common;
use common::unused_address;

fn record(n: i64, traced: bool) -> LogRecord {
    LogRecord {
        created: 1_700_000_000.5,
        text: LogText::Layout {
            values: vec![LogValue::Str("WARNING".into()), LogValue::Str(format!("call {n} to https://u:p@db/x"))],
            suffix: "\nValueError: boom".into(),
        },
        level: "WARNING".into(),
        logger: "app".into(),
        thread: "MainThread".into(),
        tags: vec![("argument.0".into(), n.to_string())],
        trace: traced.then(|| ("trace-1".into(), "segment-1".into(), 2)),
        endpoint: if traced { "/users".into() } else { String::new() },
    }
}

fn logs_config(backend: String, protocol: Protocol) -> ReporterConfig {
    ReporterConfig {
        logs: LogConfig {
            active: true,
            queue_size: 1000,
            layout: Arc::new(Layout::parse("%(levelname)-8s| %(message)s")),
            safe_mode: true,
        },
        ..common::test_config(backend, protocol)
    }
}

fn check_delivery(config: ReporterConfig, collector: &sw_collector::CollectorHandle) {
    let reporter = Reporter::start(config).unwrap();
    for n in 0..100 {
        assert!(reporter.report_log(record(n, n % 2 == 0)));
    }
    assert!(reporter.flush(Duration::from_secs(10)), "flush timed out");
    let logs = collector.store().logs();
    assert_eq!(logs.len(), 100);
    let first = &logs[0];
    let Some(Content::Text(text)) = first.body.as_ref().and_then(|b| b.content.clone()) else { panic!("{first:?}") };
    assert_eq!(text.text, "WARNING | call 0 to https://db/x\nValueError: boom");
    assert_eq!(first.timestamp, 1_700_000_000_500);
    assert_eq!(first.endpoint, "/users");
    let context = first.trace_context.as_ref().unwrap();
    assert_eq!(
        (context.trace_id.as_str(), context.trace_segment_id.as_str(), context.span_id),
        ("trace-1", "segment-1", 2)
    );
    let tags: Vec<(&str, &str)> =
        first.tags.as_ref().unwrap().data.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
    assert_eq!(tags, [("level", "WARNING"), ("logger", "app"), ("thread", "MainThread"), ("argument.0", "0")]);
    assert!(logs[1].trace_context.as_ref().is_none_or(|c| c.trace_id.is_empty()));
    let counters = reporter.counters();
    assert_eq!((counters.logs_queued, counters.logs_sent, counters.logs_dropped_queue_full), (100, 100, 0));
    assert!(reporter.shutdown(Duration::from_secs(5)));
}

#[test]
fn records_arrive_over_grpc() {
    let collector = sw_collector::start(CollectorConfig::ephemeral()).unwrap();
    check_delivery(logs_config(collector.grpc_addr().to_string(), Protocol::Grpc), &collector);
}

#[test]
fn records_arrive_over_http() {
    let collector = sw_collector::start(CollectorConfig::ephemeral()).unwrap();
    check_delivery(logs_config(collector.http_addr().to_string(), Protocol::Http), &collector);
}

#[test]
fn a_full_log_queue_drops_and_counts_without_blocking() {
    let config = ReporterConfig {
        logs: LogConfig { queue_size: 10, ..LogConfig::default() },
        ..common::test_config(unused_address().to_string(), Protocol::Grpc)
    };
    let reporter = Reporter::start(config).unwrap();
    let started = Instant::now();
    let accepted = (0..1000).filter(|&n| reporter.report_log(record(n, false))).count();
    assert!(started.elapsed() < Duration::from_millis(500), "enqueueing blocked: {:?}", started.elapsed());
    let counters = reporter.counters();
    // Nothing leaves the queue while the backend refuses connections.
    assert_eq!(accepted, 10);
    assert_eq!(counters.logs_queued, accepted as u64);
    assert_eq!(counters.logs_dropped_queue_full, 1000 - accepted as u64);
}

#[test]
fn records_made_while_the_backend_is_down_arrive_when_it_comes() {
    let address = unused_address();
    let reporter = Reporter::start(logs_config(address.to_string(), Protocol::Grpc)).unwrap();
    assert!(reporter.report_log(record(0, true)));
    // The backend is absent: the sender probes it and keeps the record queued.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(reporter.counters().logs_lost_send_error, 0);
    let collector =
        sw_collector::start(CollectorConfig { grpc_addr: address, ..CollectorConfig::ephemeral() }).unwrap();
    assert!(reporter.report_log(record(1, true)));
    assert!(common::wait_until(Duration::from_secs(10), || collector.store().logs().len() == 2), "logs lost");
    // Counted as sent once the backend has answered, just after it stored them.
    assert!(common::wait_until(Duration::from_secs(5), || reporter.counters().logs_sent == 2));
    assert_eq!(reporter.counters().logs_lost_send_error, 0);
}

#[test]
fn the_log_reporter_off_queues_nothing() {
    let config = ReporterConfig {
        logs: LogConfig { active: false, ..LogConfig::default() },
        ..common::test_config(unused_address().to_string(), Protocol::Grpc)
    };
    let reporter = Reporter::start(config).unwrap();
    assert!(!reporter.report_log(record(0, false)));
    assert_eq!(reporter.counters().logs_queued, 0);
}
