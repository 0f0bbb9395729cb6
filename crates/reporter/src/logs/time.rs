//! `asctime` as `logging.Formatter.formatTime` renders it by default: the local time of the
//! record's creation, `%Y-%m-%d %H:%M:%S,mmm`.

/// Local time of `created` (seconds since the epoch) in `logging`'s default format.
#[must_use]
pub fn asctime(created: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let seconds = created.floor() as i64;
    // A float of ~1.7e9 seconds is precise to ~0.2 µs: without the nudge, a record made at
    // x.123 s could print ,122 where Python (which keeps nanoseconds) prints ,123.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let millis = (((created - created.floor()) * 1000.0 + 5e-4) as u32).min(999);
    let (year, month, day, hour, minute, second) = local(seconds);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02},{millis:03}")
}

/// (year, month, day, hour, minute, second) in the process's time zone (`TZ`, else
/// /etc/localtime), as Python's `time.localtime` gives them.
#[cfg(unix)]
fn local(seconds: i64) -> (i32, i32, i32, i32, i32, i32) {
    let time: libc::time_t = seconds;
    // SAFETY: `tm` is plain old data that localtime_r fills in; both pointers are valid
    // for the call, and localtime_r (unlike localtime) keeps no shared buffer.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let filled = unsafe { libc::localtime_r(&raw const time, &raw mut tm) };
    if filled.is_null() {
        return civil_utc(seconds);
    }
    (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
}

#[cfg(not(unix))]
fn local(seconds: i64) -> (i32, i32, i32, i32, i32, i32) {
    civil_utc(seconds)
}

/// UTC calendar fields (Howard Hinnant's days-from-civil inverse).
#[allow(clippy::cast_possible_truncation)]
fn civil_utc(seconds: i64) -> (i32, i32, i32, i32, i32, i32) {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as i32, day as i32, (of_day / 3600) as i32, (of_day % 3600 / 60) as i32, (of_day % 60) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_fields() {
        assert_eq!(civil_utc(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil_utc(0), (1970, 1, 1, 0, 0, 0));
    }
}
