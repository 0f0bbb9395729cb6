//! Bindings of the meter API (`skywalking.meter`): each Python meter holds a [`MeterCell`]
//! whose updates are lock-free atomics, read by the reporter thread every period without
//! the GIL. Two things need the interpreter: the application's gauges (Python generators),
//! which a small native thread evaluates under the GIL once per period, and the GC meters,
//! which a `gc.callbacks` entry written here keeps up to date.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyDict;
use sw_core::meter::{AtomicF64, Meter, Registry};
use sw_proto::v3::MeterData;
use sw_reporter::meters::single;
use sw_reporter::MeterSource;

use crate::guard::{guard, site, Arg, Take};

static REGISTRY: LazyLock<Arc<Registry>> = LazyLock::new(|| Arc::new(Registry::default()));

/// A registered meter, as the Python meter objects hold it.
#[pyclass(frozen, module = "skywalking._core")]
pub struct MeterCell(Arc<Meter>);

#[pymethods]
impl MeterCell {
    /// Adds `value` to a counter (sets a gauge, counts a histogram value).
    fn increment(&self, value: Arg<f64>) -> PyResult<()> {
        guard(
            site!("MeterCell.increment"),
            || Ok(()),
            || {
                self.0.increment(value.take("value")?);
                Ok(())
            },
        )
    }

    /// Counts `value` in a histogram.
    fn add_value(&self, value: Arg<f64>) -> PyResult<()> {
        guard(
            site!("MeterCell.add_value"),
            || Ok(()),
            || {
                self.0.add_value(value.take("value")?);
                Ok(())
            },
        )
    }

    /// Counter total, gauge value, or histogram count.
    fn get(&self) -> f64 {
        self.0.value()
    }

    /// Switches a counter between increment and rate mode.
    fn set_rate(&self, rate: Arg<bool>) -> PyResult<()> {
        guard(
            site!("MeterCell.set_rate"),
            || Ok(()),
            || {
                self.0.set_rate(rate.take("rate")?);
                Ok(())
            },
        )
    }
}

/// Registers a counter (`rate`: report the increase since the last report).
#[pyfunction]
fn register_counter(name: String, labels: Vec<(String, String)>, rate: bool) -> MeterCell {
    let meter = Arc::new(Meter::counter(name, labels, rate));
    REGISTRY.register(meter.clone());
    MeterCell(meter)
}

/// Registers a histogram; ValueError on steps upstream rejects.
#[pyfunction]
fn register_histogram(
    name: String,
    labels: Vec<(String, String)>,
    steps: Vec<f64>,
    min_value: f64,
) -> PyResult<MeterCell> {
    let meter = Arc::new(Meter::histogram(name, labels, &steps, min_value).map_err(PyValueError::new_err)?);
    REGISTRY.register(meter.clone());
    Ok(MeterCell(meter))
}

/// Gauges and their generators; only touched with the GIL held.
static GAUGES: Mutex<Vec<(Arc<Meter>, Py<PyAny>)>> = Mutex::new(Vec::new());
/// Seconds between two gauge evaluations (`agent_meter_reporter_period`).
static PERIOD_SECONDS: AtomicU64 = AtomicU64::new(20);
/// The process whose gauge thread runs (0: none); a forked child starts its own.
static GAUGE_THREAD_PID: AtomicU32 = AtomicU32::new(0);
/// Set when the agent stops: the gauge thread then never takes the GIL again.
static GAUGES_STOPPED: AtomicU32 = AtomicU32::new(0);

/// Registers a gauge whose value is `next(generator, None) or 0`, read every period.
#[pyfunction]
fn register_gauge(py: Python<'_>, name: String, labels: Vec<(String, String)>, generator: Py<PyAny>) -> MeterCell {
    let meter = Arc::new(Meter::gauge(name, labels));
    evaluate(py, &meter, &generator);
    REGISTRY.register(meter.clone());
    let mut gauges = GAUGES.lock().unwrap_or_else(PoisonError::into_inner);
    gauges.retain(|(m, _)| m.name != meter.name);
    gauges.push((meter.clone(), generator));
    drop(gauges);
    ensure_gauge_thread();
    MeterCell(meter)
}

fn evaluate(py: Python<'_>, meter: &Meter, generator: &Py<PyAny>) {
    let value = (|| -> PyResult<f64> {
        let builtins = py.import("builtins")?;
        let next = builtins.getattr("next")?.call1((generator.bind(py), py.None()))?;
        if !next.is_truthy()? {
            return Ok(0.0);
        }
        next.extract()
    })();
    match value {
        Ok(value) => meter.increment(value),
        Err(error) => log::debug!("gauge {} could not be read: {error}", meter.name),
    }
}

/// Starts this process's gauge thread if gauges exist and none runs here yet.
fn ensure_gauge_thread() {
    let pid = std::process::id();
    if GAUGE_THREAD_PID.swap(pid, Relaxed) == pid {
        return;
    }
    GAUGES_STOPPED.store(0, Relaxed);
    let spawned = std::thread::Builder::new().name("skywalking-gauges".into()).spawn(move || loop {
        std::thread::sleep(Duration::from_secs(PERIOD_SECONDS.load(Relaxed).max(1)));
        if GAUGES_STOPPED.load(Relaxed) != 0 || GAUGE_THREAD_PID.load(Relaxed) != pid {
            return;
        }
        crate::exit_gate::with_gil(|py| {
            let gauges: Vec<(Arc<Meter>, Py<PyAny>)> = GAUGES
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(m, g)| (m.clone(), g.clone_ref(py)))
                .collect();
            for (meter, generator) in &gauges {
                evaluate(py, meter, generator);
            }
        });
    });
    if let Err(error) = spawned {
        GAUGE_THREAD_PID.store(0, Relaxed);
        log::warn!("gauges will not be read: no thread for them ({error})");
    }
}

/// Called by the agent at start and in a forked child: the period, and a gauge thread if
/// gauges were registered (a forked child has none).
pub fn started(period: Duration) {
    PERIOD_SECONDS.store(period.as_secs().max(1), Relaxed);
    let any = !GAUGES.lock().unwrap_or_else(PoisonError::into_inner).is_empty();
    if any {
        ensure_gauge_thread();
    }
}

/// Called when the agent stops (also at exit): the gauge thread ends.
pub fn stopped() {
    GAUGES_STOPPED.store(1, Relaxed);
    GAUGE_THREAD_PID.store(0, Relaxed);
}

/// The meter registered as `name`, for upstream's `MeterService.get_meter`.
#[pyfunction]
fn meter_value(name: &str) -> Option<f64> {
    REGISTRY.get(name).map(|m| m.value())
}

// ---- GC meters -------------------------------------------------------------------------

/// Objects collected per generation since the interpreter started.
static GC_COLLECTED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
/// When the running collection started (ns on the monotonic clock), 0 when none runs.
static GC_STARTED: AtomicI64 = AtomicI64::new(0);
/// Milliseconds the last collection took.
static GC_LAST_MS: LazyLock<AtomicF64> = LazyLock::new(AtomicF64::default);
static CLOCK: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);

fn monotonic_ns() -> i64 {
    i64::try_from(CLOCK.elapsed().as_nanos()).unwrap_or(i64::MAX)
}

/// Seeds the GC counts from `gc.get_stats()` (the callback only sees later collections).
#[pyfunction]
fn seed_gc_counts(collected: Vec<u64>) {
    for (slot, value) in GC_COLLECTED.iter().zip(collected) {
        slot.store(value, Relaxed);
    }
}

/// An entry of `gc.callbacks`: times each collection and counts what it collected.
#[pyfunction]
fn gc_callback(phase: Arg<PyBackedStr>, info: Arg<Bound<'_, PyDict>>) -> PyResult<()> {
    guard(
        site!("gc_callback"),
        || Ok(()),
        || {
            gc_event(&phase.take("phase")?, &info.take("info")?);
            Ok(())
        },
    )
}

fn gc_event(phase: &str, info: &Bound<'_, PyDict>) {
    if phase == "start" {
        GC_STARTED.store(monotonic_ns().max(1), Relaxed);
        return;
    }
    let started = GC_STARTED.swap(0, Relaxed);
    if started > 0 {
        #[allow(clippy::cast_precision_loss)]
        GC_LAST_MS.set((monotonic_ns() - started) as f64 / 1e6);
    }
    let field = |key: &str| info.get_item(key).ok().flatten().and_then(|v| v.extract::<u64>().ok());
    if let (Some(generation), Some(collected)) = (field("generation"), field("collected")) {
        if let Some(slot) = usize::try_from(generation).ok().and_then(|g| GC_COLLECTED.get(g)) {
            slot.fetch_add(collected, Relaxed);
        }
    }
}

/// The application's meters, for the reporter.
#[derive(Debug)]
struct Registered;

impl MeterSource for Registered {
    fn collect(&self, out: &mut Vec<MeterData>) {
        REGISTRY.report(out);
    }
}

/// `instance_pvm_gc_g0..2` and `instance_pvm_gc_time`, upstream's names.
#[derive(Debug)]
struct GcMeters;

impl MeterSource for GcMeters {
    fn collect(&self, out: &mut Vec<MeterData>) {
        for (generation, collected) in GC_COLLECTED.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            out.push(single(format!("instance_pvm_gc_g{generation}"), collected.load(Relaxed) as f64));
        }
        out.push(single("instance_pvm_gc_time".into(), GC_LAST_MS.get()));
    }
}

/// What the reporter collects every period besides its own counters and /proc.
pub fn sources(pvm: bool) -> Vec<Arc<dyn MeterSource>> {
    let mut sources: Vec<Arc<dyn MeterSource>> = vec![Arc::new(Registered)];
    if pvm {
        sources.push(Arc::new(GcMeters));
    }
    sources
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MeterCell>()?;
    m.add_function(wrap_pyfunction!(register_counter, m)?)?;
    m.add_function(wrap_pyfunction!(register_histogram, m)?)?;
    m.add_function(wrap_pyfunction!(register_gauge, m)?)?;
    m.add_function(wrap_pyfunction!(meter_value, m)?)?;
    m.add_function(wrap_pyfunction!(seed_gc_counts, m)?)?;
    m.add_function(wrap_pyfunction!(gc_callback, m)?)?;
    Ok(())
}
