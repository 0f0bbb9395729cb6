//! The application's meters (upstream's `skywalking.meter`): counters, gauges and
//! histograms, updated from any thread without a lock and read by the reporter every
//! period. Registered by name: a second meter with the same name replaces the first, as
//! upstream's `MeterService.register` does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use sw_proto::v3::meter_data::Metric;
use sw_proto::v3::{Label, MeterBucketValue, MeterData, MeterHistogram, MeterSingleValue};

/// An f64 that threads add to without a lock.
#[derive(Debug, Default)]
pub struct AtomicF64(AtomicU64);

impl AtomicF64 {
    #[must_use]
    pub fn new(value: f64) -> Self {
        Self(AtomicU64::new(value.to_bits()))
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }

    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Relaxed);
    }

    pub fn add(&self, delta: f64) {
        let _ = self.0.fetch_update(Relaxed, Relaxed, |bits| Some((f64::from_bits(bits) + delta).to_bits()));
    }
}

/// What a meter measures.
#[derive(Debug)]
pub enum Kind {
    /// A running total; in rate mode each report carries what was added since the last.
    Counter { value: AtomicF64, rate: AtomicBool, reported: AtomicF64 },
    /// The last value its generator gave (set from the Python side each period).
    Gauge { value: AtomicF64 },
    /// Counts per bucket; `bounds` ascending, the first is the minimum value.
    Histogram { bounds: Vec<f64>, counts: Vec<AtomicU64> },
}

/// One meter: a name, labels sorted by (name, value), and its value.
#[derive(Debug)]
pub struct Meter {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub kind: Kind,
}

impl Meter {
    fn new(name: String, mut labels: Vec<(String, String)>, kind: Kind) -> Self {
        labels.sort();
        Self { name, labels, kind }
    }

    #[must_use]
    pub fn counter(name: String, labels: Vec<(String, String)>, rate: bool) -> Self {
        Self::new(
            name,
            labels,
            Kind::Counter { value: AtomicF64::default(), rate: AtomicBool::new(rate), reported: AtomicF64::default() },
        )
    }

    #[must_use]
    pub fn gauge(name: String, labels: Vec<(String, String)>) -> Self {
        Self::new(name, labels, Kind::Gauge { value: AtomicF64::default() })
    }

    /// A histogram over `steps` (sorted, duplicates removed, `min_value` put first if it
    /// is not the smallest step). Errors as upstream: no steps, or a step below `min_value`.
    pub fn histogram(
        name: String,
        labels: Vec<(String, String)>,
        steps: &[f64],
        min_value: f64,
    ) -> Result<Self, &'static str> {
        if steps.is_empty() {
            return Err("steps must not be empty");
        }
        let mut bounds: Vec<f64> = steps.iter().copied().filter(|s| !s.is_nan()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        match bounds.first() {
            Some(first) if *first < min_value => return Err("steps are invalid"),
            Some(first) if *first != min_value => bounds.insert(0, min_value),
            Some(_) => {}
            None => return Err("steps must not be empty"),
        }
        let counts = bounds.iter().map(|_| AtomicU64::new(0)).collect();
        Ok(Self::new(name, labels, Kind::Histogram { bounds, counts }))
    }

    /// Adds to a counter; sets a gauge.
    pub fn increment(&self, delta: f64) {
        match &self.kind {
            Kind::Counter { value, .. } => value.add(delta),
            Kind::Gauge { value } => value.set(delta),
            Kind::Histogram { .. } => self.add_value(delta),
        }
    }

    /// Counts `value` in the bucket of the largest bound strictly below it (upstream's
    /// rule: a value equal to a bound falls in the bucket before; one at or below the
    /// minimum is not counted).
    pub fn add_value(&self, value: f64) {
        if let Kind::Histogram { bounds, counts } = &self.kind {
            let above = bounds.partition_point(|b| *b < value);
            if let Some(index) = above.checked_sub(1) {
                counts[index].fetch_add(1, Relaxed);
            }
        }
    }

    /// The current value (counters' total, gauges' last value, histograms' count).
    #[must_use]
    pub fn value(&self) -> f64 {
        match &self.kind {
            Kind::Counter { value, .. } | Kind::Gauge { value } => value.get(),
            #[allow(clippy::cast_precision_loss)]
            Kind::Histogram { counts, .. } => counts.iter().map(|c| c.load(Relaxed)).sum::<u64>() as f64,
        }
    }

    pub fn set_rate(&self, on: bool) {
        if let Kind::Counter { rate, .. } = &self.kind {
            rate.store(on, Relaxed);
        }
    }

    /// This period's data (a rate counter's baseline moves to the current total).
    #[must_use]
    pub fn report(&self) -> MeterData {
        let labels =
            self.labels.iter().map(|(name, value)| Label { name: name.clone(), value: value.clone() }).collect();
        let metric = match &self.kind {
            Kind::Counter { value, rate, reported } => {
                let total = value.get();
                let value = if rate.load(Relaxed) { total - reported.get() } else { total };
                reported.set(total);
                Metric::SingleValue(MeterSingleValue { name: self.name.clone(), labels, value })
            }
            Kind::Gauge { value } => {
                Metric::SingleValue(MeterSingleValue { name: self.name.clone(), labels, value: value.get() })
            }
            Kind::Histogram { bounds, counts } => Metric::Histogram(MeterHistogram {
                name: self.name.clone(),
                labels,
                values: bounds
                    .iter()
                    .zip(counts)
                    .map(|(bucket, count)| MeterBucketValue {
                        bucket: *bucket,
                        count: i64::try_from(count.load(Relaxed)).unwrap_or(i64::MAX),
                        is_negative_infinity: false,
                    })
                    .collect(),
            }),
        };
        MeterData { metric: Some(metric), ..MeterData::default() }
    }
}

/// The registered meters. Registration copies the list (rare); the reporter only clones
/// the `Arc` under the lock, so no thread waits long for it.
#[derive(Debug, Default)]
pub struct Registry {
    meters: Mutex<Arc<Vec<Arc<Meter>>>>,
}

impl Registry {
    /// Adds `meter`, replacing one of the same name.
    pub fn register(&self, meter: Arc<Meter>) {
        let mut meters = self.meters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<Arc<Meter>> = meters.iter().filter(|m| m.name != meter.name).cloned().collect();
        list.push(meter);
        *meters = Arc::new(list);
    }

    /// The meter registered as `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Arc<Meter>> {
        self.all().iter().find(|m| m.name == name).cloned()
    }

    #[must_use]
    pub fn all(&self) -> Arc<Vec<Arc<Meter>>> {
        self.meters.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every meter's data for this period.
    pub fn report(&self, out: &mut Vec<MeterData>) {
        out.extend(self.all().iter().map(|m| m.report()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(meter: &Meter) -> Vec<(f64, i64)> {
        match meter.report().metric {
            Some(Metric::Histogram(h)) => h.values.iter().map(|v| (v.bucket, v.count)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn histogram_buckets_as_upstream() {
        // tests/unit/test_meter.py upstream: steps [1, 5, 10], min 0.
        let h = Meter::histogram("h".into(), vec![], &[10.0, 5.0, 1.0, 5.0], 0.0).unwrap();
        for v in [0.0, 0.5, 1.0, 1.5, 5.0, 7.0, 10.0, 11.0, -3.0] {
            h.add_value(v);
        }
        assert_eq!(buckets(&h), vec![(0.0, 2), (1.0, 2), (5.0, 2), (10.0, 1)]);
        assert!(Meter::histogram("h".into(), vec![], &[], 0.0).is_err());
        assert!(Meter::histogram("h".into(), vec![], &[1.0], 2.0).is_err());
    }

    #[test]
    fn rate_counters_report_what_was_added_since_the_last_report() {
        let c = Meter::counter("c".into(), vec![("b".into(), "2".into()), ("a".into(), "1".into())], true);
        c.increment(2.0);
        c.increment(3.0);
        let single = |m: &Meter| match m.report().metric {
            Some(Metric::SingleValue(v)) => (v.value, v.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>()),
            other => panic!("{other:?}"),
        };
        assert_eq!(single(&c), (5.0, vec!["a".to_owned(), "b".to_owned()]));
        c.increment(1.0);
        assert_eq!(single(&c).0, 1.0);
        assert_eq!(single(&c).0, 0.0);
        c.set_rate(false);
        assert_eq!(single(&c).0, 6.0);
    }

    #[test]
    fn same_name_replaces() {
        let registry = Registry::default();
        registry.register(Arc::new(Meter::counter("x".into(), vec![], false)));
        let second = Arc::new(Meter::gauge("x".into(), vec![]));
        registry.register(second.clone());
        assert_eq!(registry.all().len(), 1);
        assert!(Arc::ptr_eq(&registry.get("x").unwrap(), &second));
    }

    #[test]
    fn concurrent_increments_are_not_lost() {
        let c = Arc::new(Meter::counter("c".into(), vec![], false));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| c.increment(1.0)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.value(), 40_000.0);
    }
}
