//! Timestamps as the API server writes them (RFC 3339, UTC, seconds), and
//! the backup ids CNPG derives from them, without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2025-01-31T02:00:00Z` for a point in time.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2025-01-31T02:00:00.123456Z`: with microseconds, for ordering.
pub fn rfc3339_micros(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, mo, day, h, mi, s) = civil(d.as_secs());
    let us = d.subsec_micros();
    format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
}

pub fn now() -> String {
    rfc3339(SystemTime::now())
}

/// `20250131T020000`: the form of a Barman backup id.
pub fn backup_id(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}")
}

/// Seconds since the epoch to (year, month, day, hour, minute, second),
/// after Howard Hinnant's days-from-civil algorithm.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_instants() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = UNIX_EPOCH + Duration::from_secs(1_738_288_800);
        assert_eq!(super::rfc3339(t), "2025-01-31T02:00:00Z");
        assert_eq!(super::backup_id(t), "20250131T020000");
    }
}
