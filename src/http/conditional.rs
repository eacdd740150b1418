//! Conditional requests: `If-None-Match` and `If-Range` evaluation, entity-tag
//! syntax and comparison, and HTTP-date parsing.
//!
//! Implements RFC 9110 §8.8.3 (entity-tags; §8.8.3.2 strong and weak
//! comparison), §13.1.2 (`If-None-Match`), §13.1.5 (`If-Range`) and §5.6.7
//! (HTTP-date: IMF-fixdate plus the obsolete RFC 850 and asctime formats a
//! recipient must accept). Header values are scanned in place: no call
//! allocates. This module depends on nothing else in the crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ipld::time;

/// An entity-tag (RFC 9110 §8.8.3): `"opaque"` or `W/"opaque"`, borrowed
/// from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityTag<'a> {
    weak: bool,
    /// The opaque-tag including its double quotes.
    opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity-tag (surrounding OWS allowed); `None` for
    /// anything else, including bare unquoted values.
    pub fn parse(value: &'a [u8]) -> Option<EntityTag<'a>> {
        let (tag, rest) = scan_entity_tag(trim_ows(value))?;
        rest.is_empty().then_some(tag)
    }

    /// Whether the tag carries the `W/` weakness indicator.
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The opaque-tag, including its surrounding double quotes.
    pub fn opaque_tag(&self) -> &'a [u8] {
        self.opaque
    }

    /// Strong comparison (§8.8.3.2): both strong and the opaque-tags equal.
    pub fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (§8.8.3.2): the opaque-tags equal, weakness ignored.
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// Reads one entity-tag at the start of `text`, returning it and the bytes
/// after its closing quote. `W/` is case-sensitive (§8.8.3: `%s"W/"`).
fn scan_entity_tag(text: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, quoted) = match text {
        [b'W', b'/', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let [b'"', inner @ ..] = quoted else {
        return None;
    };
    let close = memchr::memchr(b'"', inner)?;
    let (content, after) = inner.split_at(close);
    if !content.iter().all(|&b| is_etagc(b)) {
        return None;
    }
    // opaque = DQUOTE content DQUOTE
    let opaque = quoted.get(..close + 2)?;
    let rest = after.get(1..).unwrap_or_default();
    Some((EntityTag { weak, opaque }, rest))
}

/// `etagc = %x21 / %x23-7E / obs-text` (§8.8.3).
fn is_etagc(byte: u8) -> bool {
    byte == 0x21 || (0x23..=0x7e).contains(&byte) || byte >= 0x80
}

/// One element of an entity-tag list header (`If-None-Match`, `If-Match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityTagListItem<'a> {
    /// `*`: any current representation.
    Any,
    /// A well-formed entity-tag.
    Tag(EntityTag<'a>),
    /// A malformed element (e.g. an unquoted value); it never matches.
    Invalid,
}

/// Iterator over the elements of an entity-tag list, see [`entity_tag_list`].
#[derive(Debug, Clone)]
pub struct EntityTagList<'a> {
    rest: &'a [u8],
}

/// Scans `* / #entity-tag` (§13.1.1, §13.1.2) without allocating.
///
/// Leniencies, as real clients need: OWS (SP/HTAB) anywhere between
/// elements, empty elements and stray commas (§5.6.1.2), and `*` mixed into
/// a list (treated as an element). A malformed element yields
/// [`EntityTagListItem::Invalid`] and scanning resumes after the next comma,
/// so one bad element does not hide the valid tags around it; quoted tags
/// may themselves contain commas.
pub fn entity_tag_list(value: &[u8]) -> EntityTagList<'_> {
    EntityTagList { rest: value }
}

impl<'a> Iterator for EntityTagList<'a> {
    type Item = EntityTagListItem<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.rest = trim_leading_ows(self.rest);
            match self.rest {
                [] => return None,
                [b',', rest @ ..] => self.rest = rest,
                [b'*', rest @ ..] if at_element_end(rest) => {
                    self.rest = rest;
                    return Some(EntityTagListItem::Any);
                }
                text => {
                    if let Some((tag, rest)) = scan_entity_tag(text) {
                        if at_element_end(rest) {
                            self.rest = rest;
                            return Some(EntityTagListItem::Tag(tag));
                        }
                    }
                    self.rest = match memchr::memchr(b',', text) {
                        Some(comma) => text.get(comma + 1..).unwrap_or_default(),
                        None => &[],
                    };
                    return Some(EntityTagListItem::Invalid);
                }
            }
        }
    }
}

/// Whether `rest` (what follows an element) is OWS then a comma or the end.
fn at_element_end(rest: &[u8]) -> bool {
    matches!(trim_leading_ows(rest), [] | [b',', ..])
}

/// Evaluates `If-None-Match` (§13.1.2) for GET/HEAD: `true` when the
/// condition is *false*, i.e. a listed tag matches `current_etag` by weak
/// comparison or the value is `*`, and the caller should answer 304.
///
/// `current_etag` is the ETag exactly as the server sends it (`"bafy…"` or
/// `W/"…"`); call this only for an existing representation (`*` matches any).
/// If the field appears several times, evaluate each field value and
/// combine with OR (list fields concatenate, §5.3).
pub fn if_none_match(header: &[u8], current_etag: &str) -> bool {
    if_none_match_any(header, &[current_etag])
}

/// [`if_none_match`] against several ETags the same resource may have been
/// served with (e.g. a file's, its directory listing's): `true` if any
/// listed tag weakly matches any of them, or the value is `*`.
pub fn if_none_match_any(header: &[u8], current_etags: &[&str]) -> bool {
    entity_tag_list(header).any(|item| match item {
        EntityTagListItem::Any => true,
        EntityTagListItem::Tag(requested) => current_etags.iter().any(|current| {
            EntityTag::parse(current.as_bytes()).is_some_and(|current| current.weak_eq(&requested))
        }),
        EntityTagListItem::Invalid => false,
    })
}

/// Evaluates `If-Range` (§13.1.5): `true` if the Range header should be
/// honoured, `false` if the caller must ignore it and answer 200 with the
/// full representation.
///
/// - An entity-tag matches only by *strong* comparison with `current_etag`
///   (a weak tag on either side never matches).
/// - An HTTP-date (any of the three §5.6.7 formats) matches only if it
///   denotes exactly the second of `last_modified` (sub-second precision is
///   truncated, as an HTTP-date carries none). This compares instants rather
///   than the Last-Modified text, so the obsolete date formats work too.
///   Pass `None` when no Last-Modified is sent or it is not a strong
///   validator (§8.8.2.2, e.g. within a second of the response's Date): the
///   date form then never matches, as §13.1.5 step 1 requires.
/// - Anything else (malformed, empty, a list) does not match.
pub fn if_range(header: &[u8], current_etag: &str, last_modified: Option<SystemTime>) -> bool {
    let value = trim_ows(header);
    if matches!(value, [b'"', ..] | [b'W', b'/', ..]) {
        return match (
            EntityTag::parse(value),
            EntityTag::parse(current_etag.as_bytes()),
        ) {
            (Some(requested), Some(current)) => requested.strong_eq(&current),
            _ => false,
        };
    }
    let modified = last_modified.and_then(|time| time.duration_since(UNIX_EPOCH).ok());
    match (parse_http_date_secs(value), modified) {
        (Some(requested), Some(modified)) => requested == modified.as_secs(),
        _ => false,
    }
}

/// Parses an HTTP-date (§5.6.7) in IMF-fixdate (`Sun, 06 Nov 1994 08:49:37
/// GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov
/// 6 08:49:37 1994`) format. Names are case-sensitive, the weekday must agree
/// with the date, and years before 1970 or seconds of 60 are rejected (no
/// representation served here has such a Last-Modified).
pub fn parse_http_date(value: &[u8]) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(parse_http_date_secs(value)?))
}

/// [`parse_http_date`] as seconds since the Unix epoch.
fn parse_http_date_secs(value: &[u8]) -> Option<u64> {
    let value = trim_ows(value);
    let date = match value {
        // IMF-fixdate: day-name "," SP date1 SP time-of-day SP GMT
        [w0, w1, w2, b',', b' ', d0, d1, b' ', m0, m1, m2, b' ', y0, y1, y2, y3, b' ', time @ .., b' ', b'G', b'M', b'T'] => {
            CivilTime {
                weekday: short_weekday([*w0, *w1, *w2])?,
                day: two_digits(*d0, *d1)?,
                month: month([*m0, *m1, *m2])?,
                year: four_digits(*y0, *y1, *y2, *y3)?,
                seconds_of_day: time_of_day(time)?,
            }
        }
        // asctime-date: day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year
        [w0, w1, w2, b' ', m0, m1, m2, b' ', d0, d1, b' ', time @ .., b' ', y0, y1, y2, y3] => {
            let day = if *d0 == b' ' {
                digit(*d1)?
            } else {
                two_digits(*d0, *d1)?
            };
            CivilTime {
                weekday: short_weekday([*w0, *w1, *w2])?,
                day,
                month: month([*m0, *m1, *m2])?,
                year: four_digits(*y0, *y1, *y2, *y3)?,
                seconds_of_day: time_of_day(time)?,
            }
        }
        // rfc850-date: day-name-l "," SP date2 SP time-of-day SP GMT
        _ => {
            let comma = memchr::memchr(b',', value)?;
            let (name, rest) = value.split_at(comma);
            let [b',', b' ', d0, d1, b'-', m0, m1, m2, b'-', y0, y1, b' ', time @ .., b' ', b'G', b'M', b'T'] =
                rest
            else {
                return None;
            };
            let two_digit_year = two_digits(*y0, *y1)?;
            CivilTime {
                weekday: long_weekday(name)?,
                day: two_digits(*d0, *d1)?,
                month: month([*m0, *m1, *m2])?,
                year: rfc850_year(two_digit_year, current_year()),
                seconds_of_day: time_of_day(time)?,
            }
        }
    };
    date.unix_seconds()
}

/// A parsed HTTP-date before validation.
struct CivilTime {
    /// 0 = Sunday.
    weekday: u64,
    day: u64,
    /// 1 = January.
    month: u64,
    year: u64,
    seconds_of_day: u64,
}

impl CivilTime {
    /// Validates the calendar fields and converts to seconds since the epoch.
    fn unix_seconds(&self) -> Option<u64> {
        let (year, month, day) = (
            i64::try_from(self.year).ok()?,
            i64::try_from(self.month).ok()?,
            i64::try_from(self.day).ok()?,
        );
        if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > time::days_in(month, year)
        {
            return None;
        }
        let days = u64::try_from(time::days_from_civil(year, month, day)).ok()?;
        // 1970-01-01 was a Thursday (weekday 4).
        if (days + 4) % 7 != self.weekday {
            return None;
        }
        Some(days * 86_400 + self.seconds_of_day)
    }
}

/// `hour ":" minute ":" second`, each 2DIGIT, as seconds into the day.
fn time_of_day(text: &[u8]) -> Option<u64> {
    let [h0, h1, b':', m0, m1, b':', s0, s1] = text else {
        return None;
    };
    let (hour, minute, second) = (
        two_digits(*h0, *h1)?,
        two_digits(*m0, *m1)?,
        two_digits(*s0, *s1)?,
    );
    (hour < 24 && minute < 60 && second < 60).then_some(hour * 3600 + minute * 60 + second)
}

fn digit(byte: u8) -> Option<u64> {
    byte.is_ascii_digit().then(|| u64::from(byte - b'0'))
}

fn two_digits(d0: u8, d1: u8) -> Option<u64> {
    Some(digit(d0)? * 10 + digit(d1)?)
}

fn four_digits(d0: u8, d1: u8, d2: u8, d3: u8) -> Option<u64> {
    Some(two_digits(d0, d1)? * 100 + two_digits(d2, d3)?)
}

const SHORT_WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const LONG_WEEKDAYS: [&[u8]; 7] = [
    b"Sunday",
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn short_weekday(name: [u8; 3]) -> Option<u64> {
    SHORT_WEEKDAYS
        .iter()
        .position(|&day| *day == name)
        .map(|i| i as u64)
}

fn long_weekday(name: &[u8]) -> Option<u64> {
    LONG_WEEKDAYS
        .iter()
        .position(|&day| day == name)
        .map(|i| i as u64)
}

fn month(name: [u8; 3]) -> Option<u64> {
    MONTHS
        .iter()
        .position(|&m| *m == name)
        .map(|i| i as u64 + 1)
}

fn current_year() -> u64 {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() / 86_400);
    u64::try_from(time::civil_from_days(days as i64).0).unwrap_or(1970)
}

/// Expands a two-digit RFC 850 year to the year with those last two digits
/// in the window `current_year - 49 ..= current_year + 50`: §5.6.7 says a
/// year that appears more than 50 years in the future is the most recent
/// past year with those digits, and one far in the past is taken as the
/// nearer future year rather than a date centuries back.
fn rfc850_year(two_digits: u64, current_year: u64) -> u64 {
    let candidate = current_year - current_year % 100 + two_digits;
    if candidate > current_year + 50 {
        candidate.saturating_sub(100)
    } else if candidate + 50 <= current_year {
        candidate + 100
    } else {
        candidate
    }
}

fn trim_leading_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// Strips leading and trailing OWS (SP / HTAB, §5.6.3).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let mut bytes = trim_leading_ows(bytes);
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(text: &str) -> EntityTag<'_> {
        EntityTag::parse(text.as_bytes()).unwrap()
    }

    // RFC 9110 §8.8.3.2 comparison table.
    #[test]
    fn comparison_table() {
        let rows = [
            (r#"W/"1""#, r#"W/"1""#, false, true),
            (r#"W/"1""#, r#"W/"2""#, false, false),
            (r#"W/"1""#, r#""1""#, false, true),
            (r#""1""#, r#""1""#, true, true),
        ];
        for (a, b, strong, weak) in rows {
            assert_eq!(tag(a).strong_eq(&tag(b)), strong, "{a} {b} strong");
            assert_eq!(tag(b).strong_eq(&tag(a)), strong, "{b} {a} strong");
            assert_eq!(tag(a).weak_eq(&tag(b)), weak, "{a} {b} weak");
            assert_eq!(tag(b).weak_eq(&tag(a)), weak, "{b} {a} weak");
            // The same matrix through the header-level functions.
            assert_eq!(if_none_match(a.as_bytes(), b), weak, "INM {a} {b}");
            assert_eq!(if_range(a.as_bytes(), b, None), strong, "If-Range {a} {b}");
        }
    }

    #[test]
    fn entity_tag_syntax() {
        let t = tag(r#"W/"bafy.car""#);
        assert!(t.is_weak());
        assert_eq!(t.opaque_tag(), br#""bafy.car""#);
        assert_eq!(tag(r#""""#).opaque_tag(), br#""""#);
        assert_eq!(tag(r#"  "x"	"#).opaque_tag(), br#""x""#);
        assert_eq!(
            tag("\"\x21\x7e\u{e9}\"").opaque_tag(),
            "\"!~\u{e9}\"".as_bytes()
        );
        for bad in [
            "",
            "x",
            "\"x",
            "x\"",
            "w/\"x\"",
            "W/x",
            "W/ \"x\"",
            "\"a b\"",
            "\"a\"b",
            "\"a\"\"b\"",
            "\"a\x7f\"",
            "\"a\x01\"",
            "W/",
            "\"",
        ] {
            assert_eq!(EntityTag::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn list_scanning() {
        use EntityTagListItem::{Any, Invalid, Tag};
        let items: Vec<_> =
            entity_tag_list(br#" "a" ,W/"b",, "c,d"	,bare, *, "e"x, "f" "#).collect();
        assert_eq!(
            items,
            [
                Tag(tag(r#""a""#)),
                Tag(tag(r#"W/"b""#)),
                Tag(tag(r#""c,d""#)),
                Invalid,
                Any,
                Invalid,
                Tag(tag(r#""f""#)),
            ]
        );
        assert_eq!(entity_tag_list(b"").count(), 0);
        assert_eq!(entity_tag_list(b" , ,, ").count(), 0);
        assert_eq!(
            entity_tag_list(b"\"unterminated").collect::<Vec<_>>(),
            [Invalid]
        );
        assert_eq!(entity_tag_list(b"*x").collect::<Vec<_>>(), [Invalid]);
    }

    #[test]
    fn if_none_match_cases() {
        let current = r#""bafyfile""#;
        assert!(if_none_match(b"*", current));
        assert!(if_none_match(b" * ", current));
        assert!(if_none_match(br#""bafyfile""#, current));
        assert!(if_none_match(br#"W/"bafyfile""#, current));
        assert!(if_none_match(br#""other", "bafyfile""#, current));
        assert!(if_none_match(br#""other","bafyfile""#, current));
        assert!(if_none_match(br#""other"	,  W/"bafyfile"  "#, current));
        assert!(if_none_match(br#"bafyfile, "bafyfile""#, current));
        assert!(!if_none_match(br#""other""#, current));
        assert!(!if_none_match(b"bafyfile", current));
        assert!(!if_none_match(b"", current));
        assert!(!if_none_match(br#""bafyfil""#, current));
        assert!(!if_none_match(br#""BAFYFILE""#, current));
        assert!(!if_none_match(br#""bafyfile"x"#, current));
        assert!(!if_none_match(br#"w/"bafyfile""#, current));
        // Weak current tag (e.g. a generated CAR) matches both forms.
        let weak = r#"W/"bafyroot.car.7f3a""#;
        assert!(if_none_match(br#"W/"bafyroot.car.7f3a""#, weak));
        assert!(if_none_match(br#""bafyroot.car.7f3a""#, weak));
        assert!(!if_none_match(br#""bafyroot""#, weak));
        // A malformed server tag matches only `*`.
        assert!(!if_none_match(b"bafy", "bafy"));
        assert!(if_none_match(b"*", "bafy"));
        // Several candidate tags.
        assert!(if_none_match_any(
            br#""DirIndex-x_CID-bafy""#,
            &[current, r#""DirIndex-x_CID-bafy""#]
        ));
        assert!(!if_none_match_any(br#""nope""#, &[current, weak]));
        assert!(!if_none_match_any(br#""nope""#, &[]));
        // Adversarial input terminates and does not match.
        let junk = b"\",W/".repeat(10_000);
        assert!(!if_none_match(&junk, current));
        assert!(!if_none_match(&[0xff, 0x00, b'"', b'"'], current));
    }

    #[test]
    fn if_range_entity_tags() {
        let strong = r#""bafyfile""#;
        assert!(if_range(br#""bafyfile""#, strong, None));
        assert!(if_range(br#"  "bafyfile" "#, strong, None));
        assert!(!if_range(br#"W/"bafyfile""#, strong, None));
        assert!(!if_range(br#""bafyfile""#, r#"W/"bafyfile""#, None));
        assert!(!if_range(br#"W/"bafyfile""#, r#"W/"bafyfile""#, None));
        assert!(!if_range(br#""other""#, strong, None));
        assert!(!if_range(br#""bafyfile", "bafyfile""#, strong, None));
        assert!(!if_range(b"*", strong, None));
        assert!(!if_range(b"bafyfile", strong, None));
        assert!(!if_range(b"", strong, None));
        assert!(!if_range(br#""bafyfile""#, "", None));
    }

    fn at(secs: u64) -> Option<SystemTime> {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs))
    }

    #[test]
    fn if_range_dates() {
        // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 §5.6.7).
        let modified = at(784_111_777);
        let etag = r#""bafy""#;
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            " Sun, 06 Nov 1994 08:49:37 GMT ",
        ] {
            assert!(if_range(date.as_bytes(), etag, modified), "{date}");
            assert!(!if_range(date.as_bytes(), etag, at(784_111_778)), "{date}");
            assert!(!if_range(date.as_bytes(), etag, None), "{date}");
        }
        // Sub-second precision of Last-Modified is truncated.
        let with_nanos = modified.and_then(|t| t.checked_add(Duration::from_millis(999)));
        assert!(if_range(b"Sun, 06 Nov 1994 08:49:37 GMT", etag, with_nanos));
        // Malformed dates never match.
        for bad in [
            "Mon, 06 Nov 1994 08:49:37 GMT", // wrong weekday
            "sun, 06 Nov 1994 08:49:37 GMT", // case-sensitive
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun Nov 06 08:49:37 1994 GMT",
            "784111777",
        ] {
            assert!(!if_range(bad.as_bytes(), etag, modified), "{bad}");
        }
    }

    #[test]
    fn http_date_parsing() {
        let secs = |text: &str| parse_http_date_secs(text.as_bytes());
        assert_eq!(secs("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(secs("Sat, 29 Feb 2020 23:59:59 GMT"), Some(1_583_020_799));
        assert_eq!(secs("Tue, 29 Feb 2000 00:00:00 GMT"), Some(951_782_400));
        assert_eq!(secs("Tue, 01 Mar 2022 00:00:00 GMT"), Some(1_646_092_800));
        assert_eq!(secs("Fri, 31 Dec 9999 23:59:59 GMT"), Some(253_402_300_799));
        assert_eq!(secs("Thu Jan  1 00:00:00 1970"), Some(0));
        assert_eq!(secs("Sat Feb 29 23:59:59 2020"), Some(1_583_020_799));
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            at(784_111_777)
        );
        for bad in [
            "Mon, 29 Feb 2021 00:00:00 GMT", // not a leap year (weekday of 1 Mar)
            "Sat, 31 Apr 2021 00:00:00 GMT", // weekday of 1 May
            "Mon, 29 Feb 2100 00:00:00 GMT", // century, not a leap year
            "Wed, 31 Dec 1969 23:59:59 GMT", // before the epoch
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:60 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sund, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT,",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "",
            ",",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc850_years() {
        // (The calendar arithmetic itself is ipld::time's, tested there.)
        // §5.6.7 fifty-year rule.
        assert_eq!(rfc850_year(94, 2025), 1994);
        assert_eq!(rfc850_year(75, 2025), 2075);
        assert_eq!(rfc850_year(76, 2025), 1976);
        assert_eq!(rfc850_year(25, 2025), 2025);
        assert_eq!(rfc850_year(5, 2099), 2105);
        assert!(current_year() >= 2024);
    }
}
