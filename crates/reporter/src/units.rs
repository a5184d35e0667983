//! Number and time formatting shared by the text and HTML renderers.

/// `bytes` in the largest binary unit under 1024 of it (`KiB` … `EiB`); `None` below 1 KiB.
pub(crate) fn scale_bytes(bytes: f64) -> Option<(f64, &'static str)> {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes.abs() < 1024.0 {
        return None;
    }
    let mut scaled = bytes / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if scaled.abs() < 1024.0 {
            break;
        }
        scaled /= 1024.0;
        unit = next;
    }
    Some((scaled, unit))
}

/// `digits` (ASCII digits, no sign) with a comma every three from the right.
pub(crate) fn group_digits(digits: &str, out: &mut String) {
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
}

/// `2026-12-07`, the UTC date of unix milliseconds (Howard Hinnant's `civil_from_days`).
pub(crate) fn utc_date(millis: u64) -> String {
    let z = (millis / 86_400_000) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `00:04:23`, the UTC time of day of unix milliseconds.
pub(crate) fn utc_clock(millis: u64) -> String {
    let s = millis / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600 % 24, s / 60 % 60, s % 60)
}
