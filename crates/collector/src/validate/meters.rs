//! Meter validation: service lookup, `meterSize`, then each expected meter
//! by exact id (name + labels in order) and its value.

use super::actual::{ActualData, Meter, MeterValue};
use super::error::{Fail, ValidationError};
use super::expected::{text, ExpMeter, ExpMeterId, ExpectedData};
use super::expr::check;
use super::text::java_double;
use super::Semantics;

pub(crate) fn validate(
    expected: &ExpectedData,
    actual: &ActualData,
    semantics: Semantics,
) -> Result<(), ValidationError> {
    let Some(items) = &expected.meter_items else {
        return Ok(());
    };
    for item in items {
        let service = text(&item.service_name).unwrap_or_default();
        let actual_item = actual.meter_items.iter().find(|a| a.service_name == service).ok_or_else(|| {
            ValidationError::ServiceNotFound {
                section: "meterItems",
                service: service.to_owned(),
                available: actual.meter_items.iter().map(|a| a.service_name.clone()).collect(),
            }
        })?;
        let location = format!("meterItems[service={service}]");
        let size = actual_item.meters.len().to_string();
        check("meterSize", text(&item.meter_size), Some(&size), semantics).map_err(|f| f.into_error(&location))?;
        for (m, want) in item.meters.iter().flatten().enumerate() {
            let Some(id) = &want.meter_id else {
                // Rejected when the document is read.
                continue;
            };
            let name = text(&id.name).unwrap_or_default();
            let at = format!("{location} meters[{m}]({name})");
            let got = find(&actual_item.meters, id).ok_or_else(|| not_found(&at, id, &actual_item.meters))?;
            compare_value(want, got, semantics).map_err(|f| f.into_error(&at))?;
        }
    }
    Ok(())
}

/// Exact id equality: same name, and `tags` present with the same labels in
/// the same order. An absent `tags` never equals (actual ids always carry a
/// list, possibly empty).
fn find<'a>(meters: &'a [Meter], id: &ExpMeterId) -> Option<&'a Meter> {
    let name = text(&id.name)?;
    let tags = id.tags.as_ref()?;
    meters.iter().find(|m| {
        m.name == name
            && m.tags.len() == tags.len()
            && m.tags.iter().zip(tags).all(|(got, want)| {
                text(&want.name) == Some(got.name.as_str()) && text(&want.value) == Some(got.value.as_str())
            })
    })
}

fn not_found(at: &str, id: &ExpMeterId, meters: &[Meter]) -> ValidationError {
    let name = text(&id.name).unwrap_or_default();
    let same_name: Vec<String> = meters
        .iter()
        .filter(|m| m.name == name)
        .map(|m| {
            let labels: Vec<String> = m.tags.iter().map(|t| format!("{}={}", t.name, t.value)).collect();
            format!("[{}]", labels.join(", "))
        })
        .collect();
    let mut message = match &id.tags {
        None => "no actual meter matches: 'meterId.tags' is absent, which never equals an actual \
                 label list; write 'tags: []' for a meter without labels"
            .to_owned(),
        Some(tags) => {
            let labels: Vec<String> = tags
                .iter()
                .map(|t| format!("{}={}", text(&t.name).unwrap_or_default(), text(&t.value).unwrap_or("null")))
                .collect();
            format!("no actual meter with labels [{}] (names, values and order must be equal)", labels.join(", "))
        }
    };
    if same_name.is_empty() {
        message.push_str("; no actual meter has this name");
    } else {
        message.push_str(&format!("; actual label sets for this name: {}", same_name.join(" ")));
    }
    ValidationError::Mismatch { at: at.to_owned(), message }
}

/// `singleValue` by expression; otherwise histogram: same bucket count,
/// bucket bounds equal as text (`0.0`, `1.0`), expected counts ignored, and
/// at least one actual count above zero.
fn compare_value(want: &ExpMeter, got: &Meter, semantics: Semantics) -> Result<(), Fail> {
    if let Some(expression) = text(&want.single_value) {
        let actual = match &got.value {
            MeterValue::Single(v) => Some(java_double(*v)),
            MeterValue::Histogram { .. } => None,
        };
        return check("singleValue", Some(expression), actual.as_deref(), semantics);
    }
    let want_buckets = want.histogram_buckets.as_deref().unwrap_or(&[]);
    let MeterValue::Histogram { buckets, counts } = &got.value else {
        return Err(Fail::mismatch("histogramBuckets", "expected a histogram but the actual meter has a single value"));
    };
    if want_buckets.len() != buckets.len() {
        let actual: Vec<String> = buckets.iter().map(|b| java_double(*b)).collect();
        return Err(Fail::mismatch(
            "histogramBuckets",
            format!("expected {} bucket(s) but was {} [{}]", want_buckets.len(), buckets.len(), actual.join(", ")),
        ));
    }
    for (i, (want_bucket, bucket)) in want_buckets.iter().zip(buckets).enumerate() {
        let want_bucket = want_bucket.as_ref().map(|l| l.0.as_str()).unwrap_or_default();
        let bucket = java_double(*bucket);
        if want_bucket != bucket {
            return Err(Fail::mismatch(
                &format!("histogramBuckets[{i}]"),
                format!("expected '{want_bucket}' but was '{bucket}' (bounds compare as text)"),
            ));
        }
    }
    if !counts.iter().any(|c| *c > 0) {
        return Err(Fail::mismatch("histogramValues", "every bucket count is 0; at least one must be greater than 0"));
    }
    Ok(())
}
