//! CloudNativePG schedules: robfig/cron with a *seconds* field first.
//!
//! `ScheduledBackup.spec.schedule` has six fields — second, minute, hour,
//! day of month, month, day of week — so daily at 02:00 is `0 0 2 * * *`.
//! A five-field Unix cron such as `0 2 * * *` is still accepted by the
//! operator, but read as second, minute, hour, day of month, month: it runs
//! at minute 2 of every hour. [`describe`] says in words what a schedule does
//! *as CloudNativePG reads it*.

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Number of whitespace-separated fields (descriptors like `@daily` count 0).
pub fn field_count(schedule: &str) -> usize {
    if schedule.trim_start().starts_with('@') {
        0
    } else {
        schedule.split_whitespace().count()
    }
}

/// Describes `schedule` as CloudNativePG runs it.
pub fn describe(schedule: &str) -> Result<String, String> {
    let s = schedule.trim();
    if let Some(d) = s.strip_prefix('@') {
        return match d {
            "yearly" | "annually" => Ok("every year on January 1 at 00:00".into()),
            "monthly" => Ok("on the first day of every month at 00:00".into()),
            "weekly" => Ok("every Sunday at 00:00".into()),
            "daily" | "midnight" => Ok("every day at 00:00".into()),
            "hourly" => Ok("at the start of every hour".into()),
            _ if d.starts_with("every ") => Ok(format!("every {}", &d[6..])),
            _ => Err(format!("unknown schedule descriptor `{s}`")),
        };
    }
    let f: Vec<&str> = s.split_whitespace().collect();
    if f.len() != 5 && f.len() != 6 {
        return Err(format!(
            "`{s}` has {} fields; CloudNativePG expects six (second minute hour day-of-month month day-of-week)",
            f.len()
        ));
    }
    let (sec, min, hour, dom, mon) = (f[0], f[1], f[2], f[3], f[4]);
    let dow = f.get(5).copied().unwrap_or("*");
    Ok(format!("{}{}", days(dom, mon, dow), time(sec, min, hour)))
}

/// The six-field form a five-field Unix cron was meant as, if any:
/// `0 2 * * *` (minute hour dom month dow) → `0 0 2 * * *`.
pub fn six_field_form_of_unix(schedule: &str) -> Option<String> {
    let f: Vec<&str> = schedule.split_whitespace().collect();
    (f.len() == 5).then(|| format!("0 {}", f.join(" ")))
}

fn num(field: &str) -> Option<u32> {
    field.parse().ok()
}

fn time(sec: &str, min: &str, hour: &str) -> String {
    match (num(sec), num(min), num(hour)) {
        (Some(0), Some(m), Some(h)) => format!(" at {h:02}:{m:02}"),
        (Some(s), Some(m), Some(h)) => format!(" at {h:02}:{m:02}:{s:02}"),
        (Some(s), Some(m), None) if hour == "*" => {
            let sec = if s == 0 {
                String::new()
            } else {
                format!(" (second {s})")
            };
            format!(", at minute {m} of every hour{sec}")
        }
        (Some(0), None, _) if min == "*" && hour == "*" => ", every minute".into(),
        _ => format!(", at second `{sec}`, minute `{min}`, hour `{hour}`"),
    }
}

fn days(dom: &str, mon: &str, dow: &str) -> String {
    let wild = |f: &str| f == "*" || f == "?";
    let mut out = match (wild(dom), wild(dow)) {
        (true, true) => "every day".to_string(),
        (true, false) => format!("every {}", names(dow, &WEEKDAYS, 0)),
        (false, true) => format!("on day {dom} of the month"),
        (false, false) => format!(
            "on day {dom} of the month and every {}",
            names(dow, &WEEKDAYS, 0)
        ),
    };
    if !wild(mon) {
        out.push_str(&format!(" in {}", names(mon, &MONTHS, 1)));
    }
    out
}

fn names(field: &str, table: &[&str], first: usize) -> String {
    field
        .split(',')
        .map(|part| {
            num(part)
                .and_then(|n| (n as usize).checked_sub(first))
                .and_then(|i| table.get(i % table.len().max(1)))
                .map_or_else(|| format!("`{part}`"), |n| n.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_field_daily() {
        assert_eq!(describe("0 0 2 * * *").unwrap(), "every day at 02:00");
        assert_eq!(
            describe("30 15 4 * * 1").unwrap(),
            "every Monday at 04:15:30"
        );
    }

    #[test]
    fn five_field_is_read_with_seconds_first() {
        assert_eq!(
            describe("0 2 * * *").unwrap(),
            "every day, at minute 2 of every hour"
        );
        assert_eq!(six_field_form_of_unix("0 2 * * *").unwrap(), "0 0 2 * * *");
        assert_eq!(field_count("0 2 * * *"), 5);
        assert_eq!(field_count("@daily"), 0);
    }

    #[test]
    fn months_descriptors_and_errors() {
        assert_eq!(
            describe("0 0 3 1 1 *").unwrap(),
            "on day 1 of the month in January at 03:00"
        );
        assert_eq!(describe("@daily").unwrap(), "every day at 00:00");
        assert!(describe("* *").is_err());
        assert!(describe("@sometimes").is_err());
    }
}
