//! Meter values over time, for the web page's plots: every single value the store holds for
//! one service (optionally one instance), grouped by meter (name and labels), oldest first.

use std::collections::BTreeMap;

use serde::Serialize;
use sw_proto::v3::meter_data;

use crate::query::LabelView;
use crate::store::Data;

/// Most points returned per meter (the newest ones).
pub const MAX_POINTS: usize = 360;

/// One meter's values over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesView {
    pub service: String,
    pub service_instance: String,
    pub name: String,
    pub labels: Vec<LabelView>,
    /// `[timestamp ms, value]`, oldest first.
    pub points: Vec<(i64, f64)>,
}

type Key = (String, String, Vec<(String, String)>);

/// The single-value meters of `service` (and `instance`, if given), each with its points.
pub fn series(d: &Data<'_>, service: &str, instance: Option<&str>) -> Vec<SeriesView> {
    let mut all: BTreeMap<Key, SeriesView> = BTreeMap::new();
    for (svc, m) in d.meters {
        if svc != service || instance.is_some_and(|i| i != m.service_instance) {
            continue;
        }
        let Some(meter_data::Metric::SingleValue(v)) = &m.metric else { continue };
        let labels: Vec<(String, String)> = v.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        let key = (m.service_instance.clone(), v.name.clone(), labels);
        all.entry(key)
            .or_insert_with(|| SeriesView {
                service: svc.clone(),
                service_instance: m.service_instance.clone(),
                name: v.name.clone(),
                labels: v.labels.iter().map(|l| LabelView { name: l.name.clone(), value: l.value.clone() }).collect(),
                points: Vec::new(),
            })
            .points
            .push((m.timestamp, v.value));
    }
    all.into_values()
        .map(|mut s| {
            s.points.sort_by_key(|(t, _)| *t);
            let extra = s.points.len().saturating_sub(MAX_POINTS);
            s.points.drain(..extra);
            s
        })
        .collect()
}
