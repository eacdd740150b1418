//! Go's `time.Time` as cairn reads and writes it: [`Timestamp`] (an instant with the UTC offset
//! it is shown in), RFC 3339 formatting exactly as Go's `Time.String`/`MarshalJSON` write it
//! (nanoseconds with trailing zeros trimmed, `Z` for UTC), RFC 3339 parsing exactly as Go's
//! `Time.UnmarshalText` and `time.Parse` do (with Go's error texts and `quote`), and the
//! proleptic Gregorian date arithmetic under them (H. Hinnant's `days_from_civil` /
//! `civil_from_days`, leap years). Used by IPNS validity times and the Cluster API.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a day (no leap seconds, as in Unix and Go time).
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// The `time` package's own `quote` (used by `time.Parse` and `time.ParseDuration` errors): every
/// byte that is not printable ASCII becomes `\xNN`.
pub fn go_time_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        if !(0x20..0x80).contains(&b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(b as char);
        }
    }
    out.push('"');
    out
}

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z).
pub(crate) const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// An instant as Go's `time.Time` carries it on the wire: Unix seconds and nanoseconds plus the
/// UTC offset it is displayed in (Go keeps the offset a client wrote in `expire-at`). JSON: the
/// RFC 3339 string Go's `Time.MarshalJSON` writes. Equality and order compare instants only.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
    offset_secs: i32,
}

/// Why an RFC 3339 time did not parse; `Display` is Go's `time.ParseError` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeParseError(String);

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        (self.secs, self.nanos) == (other.secs, other.nanos)
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp::ZERO
    }
}

/// Whether `y` is a leap year of the proleptic Gregorian calendar.
pub(crate) fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days in `month` (1 to 12) of `year`.
pub(crate) fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

impl Timestamp {
    /// Go's zero time, which upstream writes for unset times (`expire_at`, `created`…).
    pub const ZERO: Timestamp = Timestamp {
        secs: GO_ZERO_UNIX,
        nanos: 0,
        offset_secs: 0,
    };

    /// An instant from Unix seconds and nanoseconds (nanoseconds are normalised), in UTC.
    pub fn from_unix(secs: i64, nanos: i64) -> Timestamp {
        let secs = secs.saturating_add(nanos.div_euclid(1_000_000_000));
        Timestamp {
            secs,
            nanos: nanos.rem_euclid(1_000_000_000) as u32,
            offset_secs: 0,
        }
    }

    /// An instant from a `SystemTime`, in UTC.
    pub fn from_system_time(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::from_unix(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                i64::from(d.subsec_nanos()),
            ),
            Err(e) => {
                let d = e.duration();
                Timestamp::from_unix(
                    -i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    -i64::from(d.subsec_nanos()),
                )
            }
        }
    }

    /// The current time, in UTC.
    pub fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }

    /// Whole seconds since the Unix epoch (floor).
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second, 0..1e9.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Nanoseconds since the Unix epoch (what `Metric.expire`/`received_at` carry).
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The UTC offset the time is displayed in, in seconds east.
    pub fn offset_secs(&self) -> i32 {
        self.offset_secs
    }

    /// The same instant displayed in UTC.
    pub fn to_utc(&self) -> Timestamp {
        Timestamp {
            offset_secs: 0,
            ..*self
        }
    }

    /// Go's `Time.IsZero`.
    pub fn is_zero(&self) -> bool {
        self.secs == GO_ZERO_UNIX && self.nanos == 0
    }

    /// Go's test for "no expiry" in `Pin.ExpiredAt`: the zero time or the Unix epoch.
    pub fn is_unset(&self) -> bool {
        self.is_zero() || (self.secs == 0 && self.nanos == 0)
    }

    /// This instant plus `nanos` nanoseconds (Go's `Time.Add`), keeping the display offset.
    pub fn add_nanos(&self, nanos: i64) -> Timestamp {
        let total = self.unix_nanos() + i128::from(nanos);
        let secs = total.div_euclid(1_000_000_000);
        let secs = i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX });
        Timestamp {
            secs,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset_secs: self.offset_secs,
        }
    }

    /// Parses RFC 3339 exactly as Go's `Time.UnmarshalText` does (Go 1.20+): the strict fast path,
    /// then `time.Parse(time.RFC3339, …)`'s looser rules (one-digit hour, `,` before the
    /// fraction, zone offsets up to `+24:00`/`:60`), with Go's error messages.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimeParseError> {
        let b = text.as_bytes();
        if let Some(t) = Timestamp::parse_rfc3339_strict(b) {
            return Ok(t);
        }
        parse_rfc3339_layout(b)
    }

    /// Go's strict `parseRFC3339` path alone (what `time.Parse(time.RFC3339Nano, …)` accepts
    /// without falling back to the layout parser): four-digit year, two-digit fields, `T`,
    /// optional `.` fraction, `Z` or `±hh:mm` with hours below 24 and minutes below 60.
    pub fn parse_rfc3339_strict(text: &[u8]) -> Option<Timestamp> {
        parse_rfc3339_fast(text)
    }

    /// The instant of a local date, time of day, nanoseconds and UTC offset.
    fn from_fields(
        (year, month, day): (i64, i64, i64),
        hms: (i64, i64, i64),
        nanos: u32,
        offset_secs: i32,
    ) -> Timestamp {
        let local =
            days_from_civil(year, month, day) * SECONDS_PER_DAY + hms.0 * 3600 + hms.1 * 60 + hms.2;
        // Go's MarshalJSON refuses zone hours outside [0,23]; such instants are shown in UTC.
        let shown_offset = if offset_secs.abs() < 24 * 3600 {
            offset_secs
        } else {
            0
        };
        Timestamp {
            secs: local - i64::from(offset_secs),
            nanos,
            offset_secs: shown_offset,
        }
    }
}

/// Nanoseconds from a fraction `.ddd…` (Go `parseNanoseconds`): at most 9 digits count.
fn parse_fraction(frac_digits: &[u8]) -> u32 {
    let mut ns: u32 = 0;
    for i in 0..9 {
        ns = ns * 10 + frac_digits.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    ns
}

/// Go's `parseRFC3339` fast path.
fn parse_rfc3339_fast(s: &[u8]) -> Option<Timestamp> {
    if s.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>, min: i64, max: i64| -> Option<i64> {
        let mut x: i64 = 0;
        for &c in &s[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            x = x * 10 + i64::from(c - b'0');
        }
        (min..=max).contains(&x).then_some(x)
    };
    let year = num(0..4, 0, 9999)?;
    let month = num(5..7, 1, 12)?;
    let day = num(8..10, 1, days_in(month, year))?;
    let hour = num(11..13, 0, 23)?;
    let min = num(14..16, 0, 59)?;
    let sec = num(17..19, 0, 59)?;
    if !(s[4] == b'-' && s[7] == b'-' && s[10] == b'T' && s[13] == b':' && s[16] == b':') {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0;
    if rest.len() >= 2 && rest[0] == b'.' && rest[1].is_ascii_digit() {
        let n = 1 + rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        nanos = parse_fraction(&rest[1..n]);
        rest = &rest[n..];
    }
    let offset = if rest == b"Z" {
        0
    } else {
        if rest.len() != 6 {
            return None;
        }
        let hr = num_in(rest, 1..3, 0, 23)?;
        let mm = num_in(rest, 4..6, 0, 59)?;
        if !((rest[0] == b'-' || rest[0] == b'+') && rest[3] == b':') {
            return None;
        }
        let off = (hr * 60 + mm) * 60;
        if rest[0] == b'-' {
            -off
        } else {
            off
        }
    };
    Some(Timestamp::from_fields(
        (year, month, day),
        (hour, min, sec),
        nanos,
        offset as i32,
    ))
}

fn num_in(s: &[u8], r: std::ops::Range<usize>, min: i64, max: i64) -> Option<i64> {
    let mut x: i64 = 0;
    for &c in s.get(r)? {
        if !c.is_ascii_digit() {
            return None;
        }
        x = x * 10 + i64::from(c - b'0');
    }
    (min..=max).contains(&x).then_some(x)
}

/// Go's `getnum`: one or two digits (`fixed` demands two).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let d0 = *s.first().filter(|c| c.is_ascii_digit())?;
    match s.get(1).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => Some((i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'), &s[2..])),
        None if fixed => None,
        None => Some((i64::from(d0 - b'0'), &s[1..])),
    }
}

/// `time.Parse(time.RFC3339, s)` (the general layout parser, specialised to that layout).
fn parse_rfc3339_layout(value_all: &[u8]) -> Result<Timestamp, TimeParseError> {
    const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";
    let cannot = |value_elem: &[u8], layout_elem: &str| {
        TimeParseError(format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_time_quote(value_all),
            go_time_quote(LAYOUT.as_bytes()),
            go_time_quote(value_elem),
            go_time_quote(layout_elem.as_bytes())
        ))
    };
    let message =
        |msg: &str| TimeParseError(format!("parsing time {}{msg}", go_time_quote(value_all)));
    let out_of_range = |what: &str| message(&format!(": {what} out of range"));
    fn skip(value: &[u8], lit: u8) -> Option<&[u8]> {
        (value.first() == Some(&lit)).then(|| &value[1..])
    }
    let lit = |c: u8| {
        if c == b'T' {
            "T"
        } else if c == b':' {
            ":"
        } else {
            "-"
        }
    };
    let skip = |value, c| skip(value, c).ok_or_else(|| cannot(value, lit(c)));

    let value = value_all;
    // "2006"
    if value.len() < 4 || !value[..4].iter().all(|c| c.is_ascii_digit()) {
        return Err(cannot(value, "2006"));
    }
    let year = value[..4]
        .iter()
        .fold(0i64, |a, &c| a * 10 + i64::from(c - b'0'));
    let value = skip(&value[4..], b'-')?;
    // "01"
    let (month, value) = getnum(value, true).ok_or_else(|| cannot(value, "01"))?;
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month"));
    }
    let value = skip(value, b'-')?;
    // "02": any two digits here; checked against the month at the end.
    let (day, value) = getnum(value, true).ok_or_else(|| cannot(value, "02"))?;
    let value = skip(value, b'T')?;
    // "15": one or two digits.
    let (hour, value) = getnum(value, false).ok_or_else(|| cannot(value, "15"))?;
    if hour >= 24 {
        return Err(out_of_range("hour"));
    }
    let value = skip(value, b':')?;
    let (min, value) = getnum(value, true).ok_or_else(|| cannot(value, "04"))?;
    if min >= 60 {
        return Err(out_of_range("minute"));
    }
    let value = skip(value, b':')?;
    let (sec, mut value) = getnum(value, true).ok_or_else(|| cannot(value, "05"))?;
    if sec >= 60 {
        return Err(out_of_range("second"));
    }
    let mut nanos = 0;
    // A fraction the layout does not mention, after `.` or `,`.
    if value.len() >= 2 && (value[0] == b'.' || value[0] == b',') && value[1].is_ascii_digit() {
        let n = 1 + value[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        nanos = parse_fraction(&value[1..n]);
        value = &value[n..];
    }
    // "Z07:00"
    let offset;
    let hold = value;
    if value.first() == Some(&b'Z') {
        value = &value[1..];
        offset = 0;
    } else {
        if value.len() < 6 || value[3] != b':' {
            return Err(cannot(hold, "Z07:00"));
        }
        let sign = value[0];
        let hr = getnum(&value[1..3], true).map(|x| x.0);
        let mm = getnum(&value[4..6], true).map(|x| x.0);
        let (Some(hr), Some(mm)) = (hr, mm) else {
            return Err(cannot(hold, "Z07:00"));
        };
        // Go checks these ranges with `>` (offsets of 24 hours or 60 minutes pass), both before
        // the sign, the minute's complaint replacing the hour's.
        if mm > 60 {
            return Err(out_of_range("time zone offset minute"));
        }
        if hr > 24 {
            return Err(out_of_range("time zone offset hour"));
        }
        let off = (hr * 60 + mm) * 60;
        offset = match sign {
            b'+' => off,
            b'-' => -off,
            _ => return Err(cannot(hold, "Z07:00")),
        };
        value = &value[6..];
    }
    if !value.is_empty() {
        return Err(message(&format!(": extra text: {}", go_time_quote(value))));
    }
    if day < 1 || day > days_in(month, year) {
        return Err(message(": day out of range"));
    }
    Ok(Timestamp::from_fields(
        (year, month, day),
        (hour, min, sec),
        nanos,
        offset as i32,
    ))
}

impl fmt::Display for Timestamp {
    /// Go's RFC 3339 with nanoseconds (trailing zeros trimmed), `Z` for a zero offset.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.secs.saturating_add(i64::from(self.offset_secs));
        let days = local.div_euclid(SECONDS_PER_DAY);
        let sod = local.rem_euclid(SECONDS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        // Go's appendInt(year, 4): zero-padded to four digits, sign in front.
        if y < 0 {
            write!(f, "-{:04}", -y)?;
        } else {
            write!(f, "{y:04}")?;
        }
        write!(
            f,
            "-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if self.nanos != 0 {
            let mut digits = [0u8; 9];
            let mut n = self.nanos;
            for slot in digits.iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
            let len = 9 - digits.iter().rev().take_while(|&&c| c == b'0').count();
            f.write_char('.')?;
            f.write_str(std::str::from_utf8(&digits[..len]).map_err(|_| fmt::Error)?)?;
        }
        if self.offset_secs == 0 {
            return f.write_char('Z');
        }
        let zone = self.offset_secs / 60;
        let (sign, zone) = if zone < 0 { ('-', -zone) } else { ('+', zone) };
        write!(f, "{sign}{:02}:{:02}", zone / 60, zone % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-02T03:04:05.12Z
    fn ts() -> Timestamp {
        Timestamp::parse_rfc3339("2024-01-02T03:04:05.12Z").unwrap()
    }

    #[test]
    fn civil_dates_round_trip_and_know_leap_years() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(0, 1, 1) * SECONDS_PER_DAY, -62_167_219_200);
        assert_eq!(days_from_civil(1, 1, 1) * SECONDS_PER_DAY, GO_ZERO_UNIX);
        assert_eq!(
            days_from_civil(10_000, 1, 1) * SECONDS_PER_DAY,
            253_402_300_800
        );
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!(
                (1..=12).contains(&m) && d >= 1 && d <= days_in(m, y),
                "{days}"
            );
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // Leap years: every fourth, not centuries, but every fourth century.
        assert!(is_leap(2024) && is_leap(2000) && is_leap(0) && is_leap(-4));
        assert!(!is_leap(2023) && !is_leap(1900) && !is_leap(2100));
        assert_eq!(days_in(2, 2024), 29);
        assert_eq!(days_in(2, 2100), 28);
        assert_eq!(days_in(2, 2000), 29);
        assert_eq!(days_in(4, 2023), 30);
        assert_eq!(days_in(12, 2023), 31);
        assert_eq!(
            civil_from_days(days_from_civil(2024, 2, 29) + 1),
            (2024, 3, 1)
        );
    }

    #[test]
    fn go_time_quote_escapes_bytes_not_characters() {
        assert_eq!(go_time_quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_time_quote("é\n".as_bytes()), r#""\xc3\xa9\x0a""#);
    }

    #[test]
    fn strict_parsing_is_the_fast_path_only() {
        let t = Timestamp::parse_rfc3339_strict(b"2030-01-01T02:00:00.5+02:00").unwrap();
        assert_eq!(
            (t.unix_secs(), t.subsec_nanos()),
            (1_893_456_000, 500_000_000)
        );
        // Accepted by Go's layout fallback, not by the strict path.
        for text in [
            "2006-01-02T1:04:05Z",
            "2006-01-02T15:04:05,5Z",
            "2006-01-02T15:04:05+24:00",
        ] {
            assert!(Timestamp::parse_rfc3339(text).is_ok(), "{text}");
            assert!(
                Timestamp::parse_rfc3339_strict(text.as_bytes()).is_none(),
                "{text}"
            );
        }
    }

    #[test]
    fn timestamps_format_like_go() {
        assert_eq!(Timestamp::ZERO.to_string(), "0001-01-01T00:00:00Z");
        assert!(Timestamp::ZERO.is_zero());
        assert_eq!(
            Timestamp::from_unix(0, 0).to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert!(Timestamp::from_unix(0, 0).is_unset());
        assert_eq!(ts().to_string(), "2024-01-02T03:04:05.12Z");
        let t = Timestamp::parse_rfc3339("2024-01-02T03:04:05.000000001-05:30").unwrap();
        assert_eq!(t.to_string(), "2024-01-02T03:04:05.000000001-05:30");
        assert_eq!(
            Timestamp::from_unix(1_704_164_645, 100).to_string(),
            "2024-01-02T03:04:05.0000001Z"
        );
        assert_eq!(
            Timestamp::from_unix(-1, 0).to_string(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            Timestamp::from_unix(0, -1).to_string(),
            "1969-12-31T23:59:59.999999999Z"
        );
        // Adding keeps the offset and crosses days.
        assert_eq!(
            t.add_nanos(86_400 * 1_000_000_000).to_string(),
            "2024-01-03T03:04:05.000000001-05:30"
        );
        assert_eq!(t.to_utc().to_string(), "2024-01-02T08:34:05.000000001Z");
        let leap = Timestamp::parse_rfc3339("2024-02-29T23:59:59Z").unwrap();
        assert_eq!(
            leap.add_nanos(1_000_000_000).to_string(),
            "2024-03-01T00:00:00Z"
        );
    }

    #[test]
    fn rfc3339_parsing_matches_go() {
        // (input, Go's MarshalJSON of the result or "", Unix nanoseconds, Go's error).
        let ok: &[(&str, &str, i128)] = &[
            (
                "2006-01-02T15:04:05Z",
                "2006-01-02T15:04:05Z",
                1136214245000000000,
            ),
            (
                "2006-01-02T15:04:05.999999999+07:00",
                "2006-01-02T15:04:05.999999999+07:00",
                1136189045999999999,
            ),
            (
                "2006-01-02T1:04:05Z",
                "2006-01-02T01:04:05Z",
                1136163845000000000,
            ),
            (
                "2006-01-02T15:04:05,5Z",
                "2006-01-02T15:04:05.5Z",
                1136214245500000000,
            ),
            (
                "2006-01-02T15:04:05.1234567891234Z",
                "2006-01-02T15:04:05.123456789Z",
                1136214245123456789,
            ),
            (
                "0000-01-01T00:00:00Z",
                "0000-01-01T00:00:00Z",
                -62167219200000000000,
            ),
            (
                "9999-12-31T23:59:59-23:59",
                "9999-12-31T23:59:59-23:59",
                253402387139000000000,
            ),
            (
                "2006-01-02T15:04:05-00:00",
                "2006-01-02T15:04:05Z",
                1136214245000000000,
            ),
            // Go accepts these but then cannot marshal them; the instant is kept, in UTC.
            (
                "2006-01-02T15:04:05+24:00",
                "2006-01-01T15:04:05Z",
                1136127845000000000,
            ),
            (
                "2006-01-02T15:04:05+23:60",
                "2006-01-01T15:04:05Z",
                1136127845000000000,
            ),
        ];
        for &(input, shown, nanos) in ok {
            let t = Timestamp::parse_rfc3339(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(t.unix_nanos(), nanos, "{input}");
            assert_eq!(t.to_string(), shown, "{input}");
        }
        let bad: &[(&str, &str)] = &[
            (
                "2006-01-02T15:04:05",
                r#"parsing time "2006-01-02T15:04:05" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#,
            ),
            (
                "2006-02-30T15:04:05Z",
                r#"parsing time "2006-02-30T15:04:05Z": day out of range"#,
            ),
            (
                "2006-01-02t15:04:05Z",
                r#"parsing time "2006-01-02t15:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse "t15:04:05Z" as "T""#,
            ),
            (
                "2006-01-02T15:04:05z",
                r#"parsing time "2006-01-02T15:04:05z" as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00""#,
            ),
            (
                "xyz",
                r#"parsing time "xyz" as "2006-01-02T15:04:05Z07:00": cannot parse "xyz" as "2006""#,
            ),
            (
                "2006-13-02T15:04:05Z",
                r#"parsing time "2006-13-02T15:04:05Z": month out of range"#,
            ),
            (
                "2006-01-02T24:04:05Z",
                r#"parsing time "2006-01-02T24:04:05Z": hour out of range"#,
            ),
            (
                "2006-01-02T15:60:05Z",
                r#"parsing time "2006-01-02T15:60:05Z": minute out of range"#,
            ),
            (
                "2006-01-02T15:04:60Z",
                r#"parsing time "2006-01-02T15:04:60Z": second out of range"#,
            ),
            (
                "2006-01-02T15:04:05Zjunk",
                r#"parsing time "2006-01-02T15:04:05Zjunk": extra text: "junk""#,
            ),
            (
                "2006-01-02T15:04:05.Z",
                r#"parsing time "2006-01-02T15:04:05.Z" as "2006-01-02T15:04:05Z07:00": cannot parse ".Z" as "Z07:00""#,
            ),
            (
                "2006-01-02T15:04:05+0700",
                r#"parsing time "2006-01-02T15:04:05+0700" as "2006-01-02T15:04:05Z07:00": cannot parse "+0700" as "Z07:00""#,
            ),
            (
                "2006-1-02T15:04:05Z",
                r#"parsing time "2006-1-02T15:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse "1-02T15:04:05Z" as "01""#,
            ),
            (
                "+006-01-02T15:04:05Z",
                r#"parsing time "+006-01-02T15:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse "+006-01-02T15:04:05Z" as "2006""#,
            ),
            (
                "2006-01-02T15:4:05Z",
                r#"parsing time "2006-01-02T15:4:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse "4:05Z" as "04""#,
            ),
            (
                "2006-01-02T15:04:05+7:00",
                r#"parsing time "2006-01-02T15:04:05+7:00" as "2006-01-02T15:04:05Z07:00": cannot parse "+7:00" as "Z07:00""#,
            ),
        ];
        for &(input, msg) in bad {
            match Timestamp::parse_rfc3339(input) {
                Ok(t) => panic!("{input} parsed as {t}"),
                Err(e) => assert_eq!(e.to_string(), msg, "{input}"),
            }
        }
        // Hostile input: no panic on non-ASCII or truncated text.
        for input in [
            "",
            "2006-01-02T15:04:05+",
            "２００６-01-02T15:04:05Z",
            "2006-01-02T15:04:05.ééé",
        ] {
            assert!(Timestamp::parse_rfc3339(input).is_err(), "{input}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339("é").unwrap_err().to_string(),
            r#"parsing time "\xc3\xa9" as "2006-01-02T15:04:05Z07:00": cannot parse "\xc3\xa9" as "2006""#
        );
    }
}
