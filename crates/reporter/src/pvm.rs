//! The `instance_pvm_*` meters that need no interpreter, read from /proc on the reporter
//! thread (upstream reads them with psutil on a Python thread): system and process CPU,
//! system and process memory, and the threads of the process and its children. The GC
//! meters need the interpreter and come from the Python side.

use std::time::Instant;

/// CPU times between two collections.
#[derive(Debug, Default)]
pub struct Pvm {
    /// (busy, total) jiffies of the whole system at the last collection.
    system: Option<(u64, u64)>,
    /// Process CPU seconds and the wall clock at the last collection.
    process: Option<(f64, Instant)>,
}

impl Pvm {
    /// (meter name, value) pairs; an unreadable value is left out (e.g. not on Linux).
    /// The CPU percentages are 0 at the first collection, as psutil's first `cpu_percent()`.
    pub fn collect(&mut self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::with_capacity(6);
        if let Some(now) = system_cpu() {
            out.push(("instance_pvm_total_cpu_utilization", percent_since(self.system, now)));
            self.system = Some(now);
        }
        if let Some(seconds) = process_cpu_seconds() {
            let now = Instant::now();
            let value = match self.process {
                Some((before, at)) => {
                    let wall = now.duration_since(at).as_secs_f64();
                    if wall > 0.0 {
                        ((seconds - before) / wall * 100.0).max(0.0)
                    } else {
                        0.0
                    }
                }
                None => 0.0,
            };
            out.push(("instance_pvm_process_cpu_utilization", round2(value)));
            self.process = Some((seconds, now));
        }
        if let Some((total, available)) = memory_kib() {
            if total > 0 {
                #[allow(clippy::cast_precision_loss)]
                let used = (total.saturating_sub(available)) as f64 / total as f64 * 100.0;
                out.push(("instance_pvm_total_mem_utilization", round2(used)));
                if let Some(rss) = status_value("/proc/self/status", "VmRSS:") {
                    #[allow(clippy::cast_precision_loss)]
                    out.push(("instance_pvm_process_mem_utilization", rss as f64 / total as f64));
                }
            }
        }
        if let Some(threads) = threads_with_children() {
            #[allow(clippy::cast_precision_loss)]
            out.push(("instance_pvm_thread_active_count", threads as f64));
        }
        out
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[allow(clippy::cast_precision_loss)]
fn percent_since(before: Option<(u64, u64)>, now: (u64, u64)) -> f64 {
    let Some((busy0, total0)) = before else { return 0.0 };
    let total = now.1.saturating_sub(total0);
    if total == 0 {
        return 0.0;
    }
    round2(now.0.saturating_sub(busy0) as f64 / total as f64 * 100.0)
}

/// (busy, total) jiffies from the `cpu` line of /proc/stat (idle and iowait are not busy).
fn system_cpu() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest times are inside user/nice).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// utime + stime of this process, in seconds (clock ticks of 100 Hz, as on every Linux).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)]
    Some((utime + stime) as f64 / 100.0)
}

/// (MemTotal, MemAvailable) in KiB.
fn memory_kib() -> Option<(u64, u64)> {
    let total = status_value("/proc/meminfo", "MemTotal:")?;
    let available = status_value("/proc/meminfo", "MemAvailable:")?;
    Some((total, available))
}

/// The number after `key` in a `key: value [kB]` file.
fn status_value(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Threads of this process and of all its descendants (upstream sums psutil's
/// `num_threads()` over the process and its children, recursively).
fn threads_with_children() -> Option<u64> {
    let own = std::process::id();
    let mut total = 0;
    let mut pending = vec![own];
    let mut seen = 0;
    while let Some(pid) = pending.pop() {
        seen += 1;
        if seen > 10_000 {
            break; // a fork bomb is not ours to count
        }
        let Some(threads) = status_value(&format!("/proc/{pid}/status"), "Threads:") else {
            if pid == own {
                return None;
            }
            continue;
        };
        total += threads;
        pending.extend(children(pid));
    }
    Some(total)
}

/// Child processes of `pid`, from each of its threads' `children` file.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn every_meter_is_read_on_linux() {
        let mut pvm = Pvm::default();
        let first = pvm.collect();
        let names: Vec<_> = first.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "instance_pvm_total_cpu_utilization",
                "instance_pvm_process_cpu_utilization",
                "instance_pvm_total_mem_utilization",
                "instance_pvm_process_mem_utilization",
                "instance_pvm_thread_active_count",
            ]
        );
        // Busy for a while: the process's CPU shows it.
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert_ne!(x, 1);
        let second = pvm.collect();
        let cpu = second.iter().find(|(n, _)| *n == "instance_pvm_process_cpu_utilization").unwrap().1;
        assert!(cpu > 30.0, "{cpu}");
        let mem = second.iter().find(|(n, _)| *n == "instance_pvm_process_mem_utilization").unwrap().1;
        assert!(mem > 0.0 && mem < 1.0, "{mem}");
        let threads = second.iter().find(|(n, _)| *n == "instance_pvm_thread_active_count").unwrap().1;
        assert!(threads >= 1.0, "{threads}");
    }
}
