//! Wall-clock helpers: epoch milliseconds and the ISO-8601 strings EverOS answers with.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Splits days since 1970-01-01 into a civil (year, month, day) date.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-11T12:26:40Z` (with `.mmm` when the milliseconds are not zero).
pub fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if milli == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }
}

/// How the v2 server (pydantic) renders an aware UTC datetime: `2026-11-11T12:26:40Z`,
/// with six fractional digits when there are milliseconds (`…40.123000Z`).
pub fn iso_v2(ms: i64) -> String {
    let base = iso(ms - ms.rem_euclid(1000));
    match ms.rem_euclid(1000) {
        0 => base,
        milli => format!("{}.{milli:03}000Z", base.trim_end_matches('Z')),
    }
}

/// Epoch ms from a v2 message or filter timestamp: values below 10^12 are seconds (the
/// server's auto-detection), larger ones milliseconds; `None` when it overflows.
pub fn v2_timestamp_ms(ts: i64) -> Option<i64> {
    if ts < 1_000_000_000_000 {
        ts.checked_mul(1000)
    } else {
        Some(ts)
    }
}

/// The compact date (`20261111`) of an epoch-ms instant, as in v2 episode ids.
pub fn compact_date(ms: i64) -> String {
    date(ms).replace('-', "")
}

/// The calendar date part (`2026-11-11`) of an epoch-ms instant.
pub fn date(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(ms.div_euclid(1000).div_euclid(86_400));
    format!("{y:04}-{mo:02}-{d:02}")
}

/// The engine's error-body timestamp: `2026-11-11T12:26:41.102000+00:00`.
pub fn iso_micros(ms: i64) -> String {
    let base = iso(ms - ms.rem_euclid(1000));
    let trimmed = base.trim_end_matches('Z');
    format!("{trimmed}.{:03}000+00:00", ms.rem_euclid(1000))
}

/// Parses `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]` into epoch ms.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| -> Option<i64> { s.get(a..b)?.parse().ok() };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5)? != "-"
        || s.get(7..8)? != "-"
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(ms);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (h, mi) = (
        rest.get(0..2)?.parse::<i64>().ok()?,
        rest.get(3..5)?.parse::<i64>().ok()?,
    );
    ms += (h * 3600 + mi * 60) * 1000;
    let mut tail = rest.get(5..)?;
    if let Some(t) = tail.strip_prefix(':') {
        ms += t.get(0..2)?.parse::<i64>().ok()? * 1000;
        tail = t.get(2..)?;
    }
    if let Some(t) = tail.strip_prefix('.') {
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        let frac: String = digits.chars().chain("000".chars()).take(3).collect();
        ms += frac.parse::<i64>().ok()?;
        tail = t.get(digits.len()..)?;
    }
    match tail {
        "" | "Z" | "z" => Some(ms),
        off => {
            let sign = match off.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let oh = off.get(1..3)?.parse::<i64>().ok()?;
            let om = off.get(off.len().checked_sub(2)?..)?.parse::<i64>().ok()?;
            Some(ms - sign * (oh * 3600 + om * 60) * 1000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        let ms = 1_794_400_000_123;
        assert_eq!(parse_iso(&iso(ms)), Some(ms));
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_iso("2026-03-01T10:00:00Z"), Some(1_772_359_200_000));
        assert_eq!(
            parse_iso("2026-03-01T12:00:00+02:00"),
            Some(1_772_359_200_000)
        );
        assert_eq!(parse_iso("2026-03-01"), Some(1_772_323_200_000));
        assert_eq!(parse_iso("nope"), None);
    }

    #[test]
    fn v2_formats() {
        assert_eq!(iso_v2(1_794_400_000_000), "2026-11-11T12:26:40Z");
        assert_eq!(iso_v2(1_794_400_000_120), "2026-11-11T12:26:40.120000Z");
        assert_eq!(compact_date(1_794_400_000_000), "20261111");
        assert_eq!(v2_timestamp_ms(1_794_400_000), Some(1_794_400_000_000));
        assert_eq!(v2_timestamp_ms(1_794_400_000_123), Some(1_794_400_000_123));
    }
}
