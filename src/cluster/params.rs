//! Query parameters of the IPFS Cluster REST API, read exactly as ipfs-cluster v1.1.6 reads them.
//!
//! Owns:
//! - [`Query`]: Go's `url.ParseQuery` as `r.URL.Query()` uses it (`&`-separated; a pair holding
//!   `;` is dropped, as Go has done since 1.17; `+` is a space; a pair with a bad `%` escape is
//!   dropped; more than 10 000 pairs and Go returns nothing at all), first value wins.
//! - Go's scalar parsers: `strconv.ParseBool` ([`parse_bool`]), `strconv.Atoi` ([`parse_int`]),
//!   `time.ParseDuration` ([`parse_duration`], with Go's error text).
//! - `PinOptions.FromQuery` ([`pin_options_from_query`]), `AddParamsFromQuery`
//!   ([`add_params_from_query`]), the `/allocations` and `/pins` filters, `cids=` and `local=`,
//!   with upstream's check order and error messages (`api/types.go`, `api/add.go`,
//!   `api/rest/restapi.go`). Every [`ParamError`] is a 400 upstream.

use std::borrow::Cow;
use std::collections::BTreeMap;

use cid::Cid;

#[cfg(test)]
use crate::http::go_query::MAX_QUERY_PAIRS;
pub use crate::http::go_query::{parse_bool, Query};

use super::types::{
    go_time_quote, parse_cid, Multiaddr, PeerId, PinMode, PinOptions, PinTypeFilter, Timestamp,
    TrackerStatus,
};

/// A bad query parameter; `Display` is upstream's message (sent with status 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub Cow<'static, str>);

impl ParamError {
    fn invalid(name: &str) -> ParamError {
        ParamError(Cow::Owned(format!("parameter {name} invalid")))
    }
}

// ---------------------------------------------------------------------------------------------
// Query string

// ---------------------------------------------------------------------------------------------
// Go scalar parsers

/// Go's `strconv.Atoi` on a 64-bit platform: optional `+`/`-`, ASCII digits, `i64` range.
pub fn parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut n: i64 = 0;
    for b in digits.bytes() {
        n = n.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
    }
    if neg {
        Some(n)
    } else {
        n.checked_neg()
    }
}

/// Why a duration did not parse; `Display` is Go's `time: … "<input>"` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(String);

/// Go's `time.ParseDuration` on text (see [`parse_duration_bytes`]).
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    parse_duration_bytes(s.as_bytes())
}

/// Go's `time.ParseDuration`, in nanoseconds: a signed sequence of decimal numbers, each with an
/// optional fraction and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), e.g. `1h30m`,
/// `1.5h`, `-300ms`; `0` needs no unit; overflow beyond `i64` is an error.
pub fn parse_duration_bytes(orig: &[u8]) -> Result<i64, DurationError> {
    let err = |msg: &str| DurationError(format!("time: {msg} {}", go_time_quote(orig)));
    let mut s = orig;
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err("invalid duration"));
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(err("invalid duration"));
        }
        // Leading integer (Go's leadingInt).
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(err("invalid duration"));
            }
            v = v * 10 + u64::from(s[i] - b'0');
            if v > LIMIT {
                return Err(err("invalid duration"));
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        // Fraction (Go's leadingFraction): digits past overflow are skipped.
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let mut overflow = false;
            let mut j = 0;
            while j < s.len() && s[j].is_ascii_digit() {
                if !overflow {
                    if f > (LIMIT - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(s[j] - b'0');
                        if y > LIMIT {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                j += 1;
            }
            post = j > 0;
            s = &s[j..];
        }
        if !pre && !post {
            return Err(err("invalid duration"));
        }
        // Unit: everything up to the next digit or '.'.
        let ulen = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if ulen == 0 {
            return Err(err("missing unit in duration"));
        }
        let unit_text = &s[..ulen];
        s = &s[ulen..];
        let unit: u64 = match unit_text {
            b"ns" => 1,
            // U+00B5 micro sign and U+03BC Greek mu.
            b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => {
                return Err(err(&format!(
                    "unknown unit {} in duration",
                    go_time_quote(unit_text)
                )))
            }
        };
        if v > LIMIT / unit {
            return Err(err("invalid duration"));
        }
        v *= unit;
        if f > 0 {
            // As Go: float64 is exact enough for fractions of the largest unit.
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(err("invalid duration"));
            }
        }
        // Go adds in uint64 and can wrap here (2^63 + 2^63): mirror it, never panic.
        d = d.wrapping_add(v);
        if d > LIMIT {
            return Err(err("invalid duration"));
        }
    }
    if neg {
        // d <= 2^63 here, so the negation fits.
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > LIMIT - 1 {
        return Err(err("invalid duration"));
    }
    Ok(d as i64)
}

// ---------------------------------------------------------------------------------------------
// Pin options

/// `PinOptions.FromQuery`, checked in upstream's order: `name`; `mode` (unknown = recursive);
/// `replication` (non-empty: sets both factors) then `replication-min`/`replication-max`
/// (`strconv.Atoi`); `shard-size` (`strconv.ParseUint`); `user-allocations` (comma list; IDs that
/// do not parse are silently dropped, as `StringsToPeers` does); `expire-at` (RFC 3339), else
/// `expire-in` (Go duration, at least 1s, added to `now`); `meta-<key>` (first value per key,
/// empty keys skipped; the map is always made); `pin-update` (a CID); `origins` (comma list of
/// multiaddrs, each with a `/p2p/` part).
pub fn pin_options_from_query(q: &Query<'_>, now: Timestamp) -> Result<PinOptions, ParamError> {
    let mut po = PinOptions {
        name: q.get("name").to_owned(),
        mode: PinMode::from_query(q.get("mode")),
        ..PinOptions::default()
    };

    let replication = q.get("replication");
    let (min_text, max_text) = if replication.is_empty() {
        (q.get("replication-min"), q.get("replication-max"))
    } else {
        (replication, replication)
    };
    if !min_text.is_empty() {
        po.replication_factor_min =
            parse_int(min_text).ok_or_else(|| ParamError::invalid("replication-min"))?;
    }
    if !max_text.is_empty() {
        po.replication_factor_max =
            parse_int(max_text).ok_or_else(|| ParamError::invalid("replication-max"))?;
    }

    let shard_size = q.get("shard-size");
    if !shard_size.is_empty() {
        po.shard_size = super::types::go_parse_uint(shard_size, 64)
            // Upstream's message really is worded differently from the others.
            .map_err(|_| ParamError(Cow::Borrowed("parameter shard_size is invalid")))?;
    }

    let allocs = q.get("user-allocations");
    if !allocs.is_empty() {
        po.user_allocations = Some(
            allocs
                .split(',')
                .filter_map(|p| PeerId::parse(p).ok())
                .collect(),
        );
    }

    let expire_at = q.get("expire-at");
    let expire_in = q.get("expire-in");
    if !expire_at.is_empty() {
        po.expire_at = Timestamp::parse_rfc3339(expire_at)
            .map_err(|e| ParamError(Cow::Owned(format!("expire-at cannot be parsed: {e}"))))?;
    } else if !expire_in.is_empty() {
        let d = parse_duration(expire_in)
            .map_err(|e| ParamError(Cow::Owned(format!("expire-in cannot be parsed: {e}"))))?;
        if d < 1_000_000_000 {
            return Err(ParamError(Cow::Borrowed("expire-in duration too short")));
        }
        po.expire_at = now.add_nanos(d);
    }

    let mut metadata = BTreeMap::new();
    for (k, v) in q.pairs() {
        if let Some(key) = k.strip_prefix("meta-") {
            if !key.is_empty() && !metadata.contains_key(key) {
                metadata.insert(key.to_owned(), v.to_owned());
            }
        }
    }
    po.metadata = Some(metadata);

    let update = q.get("pin-update");
    if !update.is_empty() {
        po.pin_update = Some(parse_cid(update).map_err(|e| {
            ParamError(Cow::Owned(format!(
                "error decoding update option parameter: {e}"
            )))
        })?);
    }

    let origins = q.get("origins");
    if !origins.is_empty() {
        let mut list = Vec::new();
        for text in origins.split(',') {
            let ma = Multiaddr::parse(text)
                .map_err(|e| ParamError(Cow::Owned(format!("error decoding multiaddress: {e}"))))?;
            if ma.p2p_value().is_none() {
                return Err(ParamError(Cow::Borrowed(
                    "multiaddress does not contain peer ID: protocol not found in multiaddr",
                )));
            }
            list.push(ma);
        }
        po.origins = Some(list);
    }
    Ok(po)
}

// ---------------------------------------------------------------------------------------------
// Add parameters

/// DAG layout for `/add` (`layout=`: `""` and `balanced` are the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    #[default]
    Balanced,
    Trickle,
}

/// Input format for `/add` (`format=`: `""` and `unixfs` are the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddFormat {
    #[default]
    Unixfs,
    Car,
}

/// `api.AddParams` as `AddParamsFromQuery` fills it.
#[derive(Debug, Clone, PartialEq)]
pub struct AddParams {
    /// From [`pin_options_from_query`]; `pin_update` is always cleared for adds, and
    /// `shard_size` is 0 unless given (upstream's 100 MiB default is lost here too; ctl sends it).
    pub pin_options: PinOptions,
    pub local: bool,
    pub recursive: bool,
    pub hidden: bool,
    /// `wrap-with-directory`.
    pub wrap: bool,
    pub shard: bool,
    /// Default true.
    pub stream_channels: bool,
    pub format: AddFormat,
    pub no_pin: bool,
    pub layout: Layout,
    /// Default `size-262144`; not validated here (upstream leaves it to the chunker).
    pub chunker: String,
    /// Default false, or true when `cid_version > 0`, unless `raw-leaves` is given.
    pub raw_leaves: bool,
    pub progress: bool,
    /// Any integer upstream accepts (no range check).
    pub cid_version: i64,
    /// Default `sha2-256`; not validated here.
    pub hash_fun: String,
    pub no_copy: bool,
}

fn bool_param(q: &Query<'_>, name: &str, dest: &mut bool) -> Result<(), ParamError> {
    let v = q.get(name);
    if !v.is_empty() {
        *dest = parse_bool(v).ok_or_else(|| ParamError::invalid(name))?;
    }
    Ok(())
}

/// `AddParamsFromQuery`, in upstream's order: pin options, `layout`, `chunker`, `hash`,
/// `format`, then `local`, `recursive`, `hidden`, `wrap-with-directory`, `shard`, `progress`,
/// `cid-version`, `raw-leaves`, `stream-channels`, `nocopy`, `no-pin` (Go `ParseBool`; an
/// empty value keeps the default).
pub fn add_params_from_query(q: &Query<'_>, now: Timestamp) -> Result<AddParams, ParamError> {
    let mut pin_options = pin_options_from_query(q, now)?;
    pin_options.pin_update = None;

    let layout = match q.get("layout") {
        "" | "balanced" => Layout::Balanced,
        "trickle" => Layout::Trickle,
        _ => return Err(ParamError(Cow::Borrowed("layout parameter is invalid"))),
    };
    let chunker = match q.get("chunker") {
        "" => "size-262144".to_owned(),
        c => c.to_owned(),
    };
    let hash_fun = match q.get("hash") {
        "" => "sha2-256".to_owned(),
        h => h.to_owned(),
    };
    let format = match q.get("format") {
        "" | "unixfs" => AddFormat::Unixfs,
        "car" => AddFormat::Car,
        _ => return Err(ParamError(Cow::Borrowed("format parameter is invalid"))),
    };

    let mut p = AddParams {
        pin_options,
        local: false,
        recursive: false,
        hidden: false,
        wrap: false,
        shard: false,
        stream_channels: true,
        format,
        no_pin: false,
        layout,
        chunker,
        raw_leaves: false,
        progress: false,
        cid_version: 0,
        hash_fun,
        no_copy: false,
    };
    bool_param(q, "local", &mut p.local)?;
    bool_param(q, "recursive", &mut p.recursive)?;
    bool_param(q, "hidden", &mut p.hidden)?;
    bool_param(q, "wrap-with-directory", &mut p.wrap)?;
    bool_param(q, "shard", &mut p.shard)?;
    bool_param(q, "progress", &mut p.progress)?;
    let cid_version = q.get("cid-version");
    if !cid_version.is_empty() {
        p.cid_version = parse_int(cid_version).ok_or_else(|| ParamError::invalid("cid-version"))?;
    }
    // As go-ipfs: CIDv1 implies raw leaves unless raw-leaves says otherwise.
    p.raw_leaves = p.cid_version > 0;
    bool_param(q, "raw-leaves", &mut p.raw_leaves)?;
    bool_param(q, "stream-channels", &mut p.stream_channels)?;
    bool_param(q, "nocopy", &mut p.no_copy)?;
    bool_param(q, "no-pin", &mut p.no_pin)?;
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Listing filters

/// The message upstream sends for a bad `filter`.
const INVALID_FILTER: &str = "invalid filter value";

/// `GET /allocations?filter=`: comma-separated `pin`, `meta-pin`, `clusterdag-pin`, `shard-pin`,
/// `all` (an empty item means all). Upstream ORs each item's bit, unknown items giving its
/// `BadType` bit, and rejects only a result that is exactly `BadType` — so `pin,bogus` is
/// accepted and means `pin`.
pub fn allocations_filter(q: &Query<'_>) -> Result<PinTypeFilter, ParamError> {
    const BAD: u64 = 1;
    let mut bits = 0;
    for item in q.get("filter").split(',') {
        bits |= match item {
            "pin" => 2,
            "meta-pin" => 4,
            "clusterdag-pin" => 8,
            "shard-pin" => 16,
            "all" | "" => PinTypeFilter::ALL.0,
            _ => BAD,
        };
    }
    if bits == BAD {
        return Err(ParamError(Cow::Borrowed(INVALID_FILTER)));
    }
    Ok(PinTypeFilter(bits))
}

/// `GET /pins?filter=`: status names (spaces removed, comma-separated, unknown ones ignored,
/// aliases `error` and `queued`). An empty filter is `UNDEFINED` (everything); a non-empty one
/// that selects nothing — `undefined` included — is rejected.
pub fn status_filter(q: &Query<'_>) -> Result<TrackerStatus, ParamError> {
    let text = q.get("filter");
    let filter = TrackerStatus::from_filter(text);
    if filter == TrackerStatus::UNDEFINED && !text.is_empty() {
        return Err(ParamError(Cow::Borrowed(INVALID_FILTER)));
    }
    Ok(filter)
}

/// `GET /pins?cids=c1,c2`: `None` when absent or empty (then `filter` applies), else every CID;
/// any item that is not a CID (an empty item included) fails with `error decoding Cid: …`.
pub fn status_cids(q: &Query<'_>) -> Result<Option<Vec<Cid>>, ParamError> {
    let text = q.get("cids");
    if text.is_empty() {
        return Ok(None);
    }
    text.split(',')
        .map(|c| {
            parse_cid(c).map_err(|e| ParamError(Cow::Owned(format!("error decoding Cid: {e}"))))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `local=`: only the literal `true` counts (upstream compares strings, not `ParseBool`).
pub fn is_local(q: &Query<'_>) -> bool {
    q.get("local") == "true"
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: &str = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
    const PID2: &str = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";

    fn now() -> Timestamp {
        Timestamp::from_unix(1_700_000_000, 0)
    }

    fn pin_json(query: &str) -> Result<String, String> {
        let q = Query::parse(query);
        pin_options_from_query(&q, now())
            .map(|po| {
                let mut b = super::super::types::to_go_json(&po).unwrap();
                b.pop();
                String::from_utf8(b).unwrap()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn query_parsing_matches_go() {
        // Each case's decoded map as Go's URL.Query() printed it.
        let q = Query::parse("a=1&a=2&b");
        assert_eq!(q.get("a"), "1");
        assert_eq!(q.get_opt("b"), Some(""));
        assert_eq!(q.get_opt("c"), None);
        assert_eq!(q.pairs().count(), 3);

        let q = Query::parse("a=1;b=2&c=3");
        assert_eq!(q.pairs().collect::<Vec<_>>(), vec![("c", "3")]);

        // A bad escape drops the pair, so the next value is the first.
        let q = Query::parse("x=%zz&x=ok");
        assert_eq!(q.get("x"), "ok");

        let q = Query::parse("k+e%79=v+a%20l");
        assert_eq!(q.get("k ey"), "v a l");

        let q = Query::parse("=v&&");
        assert_eq!(q.pairs().collect::<Vec<_>>(), vec![("", "v")]);

        assert_eq!(Query::parse("a=%").pairs().count(), 0);
        assert_eq!(Query::parse("a=%4").pairs().count(), 0);
        assert_eq!(Query::parse("a==b").get("a"), "=b");
        // Non-UTF-8 after decoding is replaced, never a panic.
        assert_eq!(Query::parse("n=%ff").get("n"), "\u{fffd}");

        // Over Go's pair limit everything is ignored.
        let many = "a=1&".repeat(MAX_QUERY_PAIRS);
        assert_eq!(Query::parse(&many).pairs().count(), 0);
        let at_limit = "a=1&".repeat(MAX_QUERY_PAIRS - 1) + "b=2";
        assert_eq!(Query::parse(&at_limit).get("b"), "2");
    }

    #[test]
    fn parse_bool_table() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["tRUE", "yes", "", " true", "2", "fALSE", "true "] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_int_is_atoi() {
        assert_eq!(parse_int("007"), Some(7));
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "9223372036854775808",
            "",
            "-",
            "+",
            " 5",
            "1_000",
            "0x10",
            "1e3",
        ] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }

    // Go's own table, src/time/time_test.go (parseDurationTests).
    const DURATIONS: &[(&str, i64)] = &[
        ("0", 0),
        ("5s", 5_000_000_000),
        ("30s", 30_000_000_000),
        ("1478s", 1_478_000_000_000),
        ("-5s", -5_000_000_000),
        ("+5s", 5_000_000_000),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5_000_000_000),
        ("5.6s", 5_600_000_000),
        ("5.s", 5_000_000_000),
        (".5s", 500_000_000),
        ("1.0s", 1_000_000_000),
        ("1.00s", 1_000_000_000),
        ("1.004s", 1_004_000_000),
        ("1.0040s", 1_004_000_000),
        ("100.00100s", 100_001_000_000),
        ("10ns", 10),
        ("11us", 11_000),
        ("12µs", 12_000),
        ("12μs", 12_000),
        ("13ms", 13_000_000),
        ("14s", 14_000_000_000),
        ("15m", 900_000_000_000),
        ("16h", 57_600_000_000_000),
        ("3h30m", 12_600_000_000_000),
        ("10.5s4m", 250_500_000_000),
        ("-2m3.4s", -123_400_000_000),
        ("1h2m3s4ms5us6ns", 3_723_004_005_006),
        ("39h9m14.425s", 140_954_425_000_000),
        ("52763797000ns", 52_763_797_000),
        ("0.3333333333333333333h", 1_200_000_000_000),
        ("9007199254740993ns", 9_007_199_254_740_993),
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("-9223372036s854ms775us808ns", i64::MIN),
        ("-2562047h47m16.854775808s", i64::MIN),
        ("0.100000000000000000000h", 360_000_000_000),
        ("0.830103483285477580700h", 2_988_372_539_827),
    ];

    // Go's own table (parseDurationErrorTests): the error must contain the quoted input.
    const DURATION_ERRORS: &[(&[u8], &str)] = &[
        (b"", r#""""#),
        (b"3", r#""3""#),
        (b"-", r#""-""#),
        (b"s", r#""s""#),
        (b".", r#"".""#),
        (b"-.", r#""-.""#),
        (b".s", r#"".s""#),
        (b"+.s", r#""+.s""#),
        (b"1d", r#""1d""#),
        (b"\x85\x85", r#""\x85\x85""#),
        (b"\xffff", r#""\xffff""#),
        (b"hello \xffff world", r#""hello \xffff world""#),
        ("\u{FFFD}".as_bytes(), r#""\xef\xbf\xbd""#),
        (
            "\u{FFFD} hello \u{FFFD} world".as_bytes(),
            r#""\xef\xbf\xbd hello \xef\xbf\xbd world""#,
        ),
        (b"9223372036854775810ns", r#""9223372036854775810ns""#),
        (b"9223372036854775808ns", r#""9223372036854775808ns""#),
        (b"-9223372036854775809ns", r#""-9223372036854775809ns""#),
        (b"9223372036854776us", r#""9223372036854776us""#),
        (b"3000000h", r#""3000000h""#),
        (b"9223372036854775.808us", r#""9223372036854775.808us""#),
        (
            b"9223372036854ms775us808ns",
            r#""9223372036854ms775us808ns""#,
        ),
    ];

    #[test]
    fn parse_duration_matches_go_tables() {
        for &(input, want) in DURATIONS {
            assert_eq!(parse_duration(input), Ok(want), "{input}");
        }
        for &(input, quoted) in DURATION_ERRORS {
            let e = parse_duration_bytes(input).expect_err(&format!("{input:?}"));
            assert!(e.to_string().contains(quoted), "{input:?}: {e}");
        }
        // Exact messages, as Go prints them.
        assert_eq!(
            parse_duration("abc").unwrap_err().to_string(),
            r#"time: invalid duration "abc""#
        );
        assert_eq!(
            parse_duration("1").unwrap_err().to_string(),
            r#"time: missing unit in duration "1""#
        );
        assert_eq!(
            parse_duration("1d").unwrap_err().to_string(),
            r#"time: unknown unit "d" in duration "1d""#
        );
        assert_eq!(
            parse_duration("1é").unwrap_err().to_string(),
            r#"time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9""#
        );
        // Go's uint64 sum wraps for 2^63 + 2^63, giving 0 (printed by Go).
        assert_eq!(
            parse_duration("9223372036854775808ns9223372036854775808ns"),
            Ok(0)
        );
        assert_eq!(
            parse_duration("-9223372036854775808ns9223372036854775808ns"),
            Ok(0)
        );
        assert!(parse_duration("5000000000000000000ns5000000000000000000ns").is_err());
        // Long input does not overflow or loop.
        assert!(parse_duration(&"9".repeat(100_000)).is_err());
        assert_eq!(
            parse_duration(&format!("0.{}1s", "0".repeat(100_000))),
            Ok(0)
        );
    }

    #[test]
    fn pin_options_as_ctl_sends_them() {
        // `ipfs-cluster-ctl pin add X` query, and what Go's FromQuery made of each case.
        assert_eq!(
            pin_json("mode=recursive&name=&replication-max=0&replication-min=0&shard-size=0&user-allocations="),
            Ok(r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{},"pin_update":null,"origins":null}"#.into())
        );
        assert_eq!(
            pin_json("mode=direct&name=n%20x&replication=3&replication-min=1"),
            Ok(r#"{"replication_factor_min":3,"replication_factor_max":3,"name":"n x","mode":"direct","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{},"pin_update":null,"origins":null}"#.into())
        );
        assert_eq!(
            pin_json("mode=bogus"),
            Ok(r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{},"pin_update":null,"origins":null}"#.into())
        );
        assert_eq!(
            pin_json(&format!("user-allocations={PID},bogus,{PID2}")),
            Ok(format!(
                r#"{{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":["{PID}","{PID2}"],"expire_at":"0001-01-01T00:00:00Z","metadata":{{}},"pin_update":null,"origins":null}}"#
            ))
        );
        assert_eq!(
            pin_json("user-allocations=bogus"),
            Ok(r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":[],"expire_at":"0001-01-01T00:00:00Z","metadata":{},"pin_update":null,"origins":null}"#.into())
        );
        assert_eq!(
            pin_json("meta-a=1&meta-a=2&meta-=x&meta-b=&metaz=1"),
            Ok(r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{"a":"1","b":""},"pin_update":null,"origins":null}"#.into())
        );
        assert_eq!(
            pin_json("pin-update=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
            Ok(r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{},"pin_update":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG","origins":null}"#.into())
        );
        assert_eq!(
            pin_json(&format!(
                "origins=/ip4/1.2.3.4/tcp/4001/p2p/{PID},/dns4/x.com/tcp/1/ipfs/{PID2}"
            )),
            Ok(format!(
                r#"{{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{{}},"pin_update":null,"origins":["/ip4/1.2.3.4/tcp/4001/p2p/{PID}","/dns4/x.com/tcp/1/p2p/{PID2}"]}}"#
            ))
        );
        // An empty `replication` does not override.
        assert!(pin_json("replication=&replication-min=2")
            .unwrap()
            .starts_with(r#"{"replication_factor_min":2,"replication_factor_max":0,"#));
        assert!(pin_json("replication-min=007")
            .unwrap()
            .starts_with(r#"{"replication_factor_min":7,"#));
    }

    #[test]
    fn pin_option_errors_match_go() {
        for (query, msg) in [
            ("replication-min=x", "parameter replication-min invalid"),
            // '+' is a space in a query, and Atoi refuses " 5".
            (
                "replication-min=+5&replication-max=-1",
                "parameter replication-min invalid",
            ),
            (
                "replication-max=9223372036854775808",
                "parameter replication-max invalid",
            ),
            ("replication=x", "parameter replication-min invalid"),
            ("shard-size=-1", "parameter shard_size is invalid"),
            ("shard-size=%2B1", "parameter shard_size is invalid"),
            ("expire-in=500ms", "expire-in duration too short"),
            ("expire-in=-1h", "expire-in duration too short"),
            (
                "expire-in=abc",
                r#"expire-in cannot be parsed: time: invalid duration "abc""#,
            ),
            (
                "expire-at=abc",
                r#"expire-at cannot be parsed: parsing time "abc" as "2006-01-02T15:04:05Z07:00": cannot parse "abc" as "2006""#,
            ),
            (
                "origins=/ip4/1.2.3.4/tcp/4001",
                "multiaddress does not contain peer ID: protocol not found in multiaddr",
            ),
            (
                "origins=bogus",
                r#"error decoding multiaddress: failed to parse multiaddr "bogus": must begin with /"#,
            ),
            // Order: replication before shard size before expiry.
            (
                "shard-size=x&replication-max=x",
                "parameter replication-max invalid",
            ),
            (
                "expire-in=x&shard-size=x",
                "parameter shard_size is invalid",
            ),
        ] {
            assert_eq!(pin_json(query), Err(msg.to_string()), "{query}");
        }
        assert!(pin_json("pin-update=bogus")
            .unwrap_err()
            .starts_with("error decoding update option parameter: "));
    }

    #[test]
    fn expiry_rules() {
        let q = Query::parse("expire-in=1h30m");
        let po = pin_options_from_query(&q, now()).unwrap();
        assert_eq!(po.expire_at.unix_secs(), 1_700_000_000 + 5400);
        // expire-at wins over expire-in.
        let q = Query::parse("expire-in=1h&expire-at=2030-01-01T00:00:00Z");
        let po = pin_options_from_query(&q, now()).unwrap();
        assert_eq!(po.expire_at.to_string(), "2030-01-01T00:00:00Z");
        // Exactly one second is allowed.
        let q = Query::parse("expire-in=1s");
        let po = pin_options_from_query(&q, now()).unwrap();
        assert_eq!(po.expire_at.unix_secs(), 1_700_000_001);
        // The offset a client wrote is kept for display, as Go does.
        let q = Query::parse("expire-at=2030-01-01T00:00:00%2B02:00");
        let po = pin_options_from_query(&q, now()).unwrap();
        assert_eq!(po.expire_at.to_string(), "2030-01-01T00:00:00+02:00");
    }

    #[test]
    fn add_params_as_ctl_sends_them() {
        let q = Query::parse("chunker=size-262144&cid-version=0&format=unixfs&hash=sha2-256&hidden=false&layout=&local=false&mode=recursive&name=&no-pin=false&nocopy=false&progress=false&raw-leaves=false&recursive=false&replication-max=0&replication-min=0&shard=false&shard-size=104857600&stream-channels=true&user-allocations=&wrap-with-directory=false");
        let p = add_params_from_query(&q, now()).unwrap();
        assert_eq!(p.pin_options.shard_size, 104_857_600);
        assert_eq!(p.pin_options.mode, PinMode::Recursive);
        assert_eq!(p.pin_options.metadata, Some(BTreeMap::new()));
        assert_eq!(p.chunker, "size-262144");
        assert_eq!(p.hash_fun, "sha2-256");
        assert_eq!(p.format, AddFormat::Unixfs);
        assert_eq!(p.layout, Layout::Balanced);
        assert!(p.stream_channels);
        assert!(!p.raw_leaves && !p.local && !p.recursive && !p.hidden && !p.wrap);
        assert!(!p.shard && !p.progress && !p.no_copy && !p.no_pin);
        assert_eq!(p.cid_version, 0);

        // Defaults from an empty query; shard size is 0, as upstream.
        let p = add_params_from_query(&Query::parse(""), now()).unwrap();
        assert_eq!(p.pin_options.shard_size, 0);
        assert!(p.stream_channels);
        assert_eq!(p.chunker, "size-262144");

        // CIDv1 implies raw leaves, unless raw-leaves is given.
        let p = add_params_from_query(&Query::parse("cid-version=1"), now()).unwrap();
        assert!(p.raw_leaves);
        let p =
            add_params_from_query(&Query::parse("cid-version=1&raw-leaves=false"), now()).unwrap();
        assert!(!p.raw_leaves);
        let p = add_params_from_query(&Query::parse("cid-version=-1&raw-leaves="), now()).unwrap();
        assert_eq!(p.cid_version, -1);
        assert!(!p.raw_leaves);

        let q = Query::parse(
            "pin-update=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG&stream-channels=0&format=car&layout=trickle&wrap-with-directory=T&progress=1",
        );
        let p = add_params_from_query(&q, now()).unwrap();
        assert_eq!(p.pin_options.pin_update, None);
        assert!(!p.stream_channels && p.wrap && p.progress);
        assert_eq!((p.format, p.layout), (AddFormat::Car, Layout::Trickle));
    }

    #[test]
    fn add_param_errors_match_go() {
        for (query, msg) in [
            ("layout=x", "layout parameter is invalid"),
            ("format=x", "format parameter is invalid"),
            ("local=x&layout=x", "layout parameter is invalid"),
            (
                "layout=x&replication-min=x",
                "parameter replication-min invalid",
            ),
            ("hidden=2", "parameter hidden invalid"),
            ("cid-version=x", "parameter cid-version invalid"),
            ("raw-leaves=yes", "parameter raw-leaves invalid"),
            ("stream-channels=on", "parameter stream-channels invalid"),
            ("no-pin=x&nocopy=x", "parameter nocopy invalid"),
            ("wrap-with-directory=x&local=x", "parameter local invalid"),
        ] {
            assert_eq!(
                add_params_from_query(&Query::parse(query), now())
                    .unwrap_err()
                    .to_string(),
                msg,
                "{query}"
            );
        }
    }

    #[test]
    fn allocation_filters() {
        use super::super::types::PinType;
        let f = |s: &str| allocations_filter(&Query::parse(s));
        assert_eq!(f(""), Ok(PinTypeFilter::ALL));
        assert_eq!(f("filter=all"), Ok(PinTypeFilter::ALL));
        assert_eq!(f("filter=,"), Ok(PinTypeFilter::ALL));
        let pins = f("filter=pin").unwrap();
        assert!(pins.matches(PinType::Data) && !pins.matches(PinType::Shard));
        let two = f("filter=meta-pin,shard-pin").unwrap();
        assert!(two.matches(PinType::Meta) && two.matches(PinType::Shard));
        assert!(!two.matches(PinType::Data));
        // Only an all-unknown filter is refused.
        assert_eq!(
            f("filter=bogus").unwrap_err().to_string(),
            "invalid filter value"
        );
        let mixed = f("filter=pin,bogus").unwrap();
        assert!(mixed.matches(PinType::Data) && !mixed.matches(PinType::Meta));
        let all_bad = f("filter=all,bogus").unwrap();
        assert!(all_bad.matches(PinType::ClusterDag));
    }

    #[test]
    fn status_filters_and_cids() {
        let f = |s: &str| status_filter(&Query::parse(s));
        assert_eq!(f("local=false&filter=&cids="), Ok(TrackerStatus::UNDEFINED));
        assert_eq!(f("filter=pinned,queued").unwrap().0, 16 | 1536);
        assert_eq!(f("filter=pinned,bogus"), Ok(TrackerStatus::PINNED));
        assert!(f("filter=bogus").is_err());
        assert!(f("filter=undefined").is_err());
        assert_eq!(
            f("filter=bogus").unwrap_err().to_string(),
            "invalid filter value"
        );

        let c = |s: &str| status_cids(&Query::parse(s));
        assert_eq!(c("cids="), Ok(None));
        assert_eq!(c(""), Ok(None));
        let two = c("cids=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG,bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
            .unwrap()
            .unwrap();
        assert_eq!(two.len(), 2);
        assert!(c("cids=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG,")
            .unwrap_err()
            .to_string()
            .starts_with("error decoding Cid: "));
        assert!(c("cids=nope").is_err());
    }

    #[test]
    fn local_is_literal_true() {
        assert!(is_local(&Query::parse("local=true")));
        assert!(is_local(&Query::parse("local=true&local=false")));
        for q in [
            "local=True",
            "local=1",
            "local=t",
            "local=",
            "",
            "local=false&local=true",
        ] {
            assert!(!is_local(&Query::parse(q)), "{q}");
        }
    }
}
