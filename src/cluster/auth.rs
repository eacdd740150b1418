//! Authentication of the IPFS Cluster REST API, as ipfs-cluster v1.1.6 does it
//! (`api/common/api.go` `authHandler`, `verifyBasicAuth`, `verifyToken`,
//! `generateSignedTokenString`, on golang-jwt/jwt v4.5.2 and Go's `Request.BasicAuth`).
//!
//! Owns:
//! - [`Credentials`]: user → password, from `USER:PASSWORD` specs (split at the first `:`).
//! - [`check`]: the decision for one `Authorization` header. Basic (RFC 7617) is tried first:
//!   scheme matched case-insensitively, standard base64 with padding (decoded as Go's
//!   non-strict decoder does), user and password both non-empty and equal to an entry (compared
//!   in constant time over every entry, so timing says little about which users exist). Then
//!   Bearer (RFC 6750; scheme case-insensitive): a JWT (RFC 7519) whose `alg` is HS256, HS384 or
//!   HS512, signed with the password of the user named in `iss`; `exp`, `nbf` and `iat` are
//!   honoured only when present, with no leeway (jwt v4 has none), at one-second precision. A
//!   header that is neither — including a `Basic` one whose base64 is broken — counts as no
//!   credentials, as upstream.
//! - The failure kinds with upstream's messages and `WWW-Authenticate` values, [`issue_token`]
//!   (POST /token: HS256, header `{"alg":"HS256","typ":"JWT"}`, claims `{"iss":"<user>"}`), and
//!   [`is_public`] (what upstream lets through unauthenticated).

use std::time::SystemTime;

use hmac::{Hmac, KeyInit, Mac};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer as _;
use smallvec::SmallVec;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::types::{go_base64_decode, BASE64_STD_ALPHABET, BASE64_URL_ALPHABET};
use crate::ipld::time::{Timestamp, GO_ZERO_UNIX};

/// The realm upstream names in every challenge.
pub const REALM: &str = "Restricted IPFS Cluster API";

/// Longest `Authorization` value examined. Upstream's HTTP server caps all headers at a few KiB;
/// this bounds the decoding and hashing a hostile header can cause.
const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Credentials

/// Why a `USER:PASSWORD` spec was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("credentials must be USER:PASSWORD")]
    MissingColon,
    #[error("credentials user must not be empty")]
    EmptyUser,
    #[error("credentials password must not be empty")]
    EmptyPassword,
}

/// Users and their passwords (upstream's `basic_auth_credentials`). Empty means no
/// authentication is configured — the caller then skips [`check`] altogether, as upstream does.
#[derive(Clone, Default)]
pub struct Credentials {
    entries: Vec<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    /// Lists users only; passwords never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(u, _)| u))
            .finish()
    }
}

impl Credentials {
    /// No users.
    pub fn new() -> Credentials {
        Credentials::default()
    }

    /// Splits `USER:PASSWORD` at the first `:` (so passwords may contain `:`); neither part may
    /// be empty.
    pub fn parse_spec(spec: &str) -> Result<(String, String), CredentialsError> {
        let (user, password) = spec.split_once(':').ok_or(CredentialsError::MissingColon)?;
        if user.is_empty() {
            return Err(CredentialsError::EmptyUser);
        }
        if password.is_empty() {
            return Err(CredentialsError::EmptyPassword);
        }
        Ok((user.to_owned(), password.to_owned()))
    }

    /// Adds a `USER:PASSWORD` spec (a repeated user takes the later password).
    pub fn add_spec(&mut self, spec: &str) -> Result<(), CredentialsError> {
        let (user, password) = Credentials::parse_spec(spec)?;
        self.insert(user, password);
        Ok(())
    }

    /// Sets a user's password (map semantics: replaces an existing entry).
    pub fn insert(&mut self, user: String, password: String) {
        match self.entries.iter_mut().find(|(u, _)| *u == user) {
            Some(entry) => entry.1 = password,
            None => self.entries.push((user, password)),
        }
    }

    /// Whether no user is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many users are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// A user's password.
    pub fn password(&self, user: &str) -> Option<&str> {
        self.find_user(user.as_bytes())
            .map(|i| self.entries[i].1.as_str())
    }

    /// The index of the entry named `user`, visiting every entry with constant-time compares.
    fn find_user(&self, user: &[u8]) -> Option<usize> {
        let mut found = u64::MAX;
        for (i, (u, _)) in self.entries.iter().enumerate() {
            found.conditional_assign(&(i as u64), u.as_bytes().ct_eq(user));
        }
        usize::try_from(found)
            .ok()
            .filter(|&i| i < self.entries.len())
    }

    /// The index of the entry matching both `user` and `password`, visiting every entry with
    /// constant-time compares.
    fn find_pair(&self, user: &[u8], password: &[u8]) -> Option<usize> {
        let mut found = u64::MAX;
        for (i, (u, p)) in self.entries.iter().enumerate() {
            let hit = u.as_bytes().ct_eq(user) & p.as_bytes().ct_eq(password);
            found.conditional_assign(&(i as u64), hit);
        }
        usize::try_from(found)
            .ok()
            .filter(|&i| i < self.entries.len())
    }
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Bearer,
}

/// A request that passed: the configured user it authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthedUser {
    pub user: String,
    pub method: AuthMethod,
}

/// A request that failed; every kind is a 401 with [`AuthFailure::message`] as the error JSON
/// message and each of [`AuthFailure::www_authenticate`] as a `WWW-Authenticate` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No usable `Authorization` header.
    #[error("unauthorized: no auth provided")]
    NoAuthProvided,
    /// Basic credentials that match no entry.
    #[error("unauthorized: access denied")]
    AccessDenied,
    /// A Bearer token that does not verify.
    #[error("unauthorized: invalid token")]
    InvalidToken,
}

impl AuthFailure {
    /// The HTTP status: always 401.
    pub fn status(self) -> u16 {
        401
    }

    /// The message for the `{"code":401,"message":…}` body.
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::NoAuthProvided => "unauthorized: no auth provided",
            AuthFailure::AccessDenied => "unauthorized: access denied",
            AuthFailure::InvalidToken => "unauthorized: invalid token",
        }
    }

    /// The `WWW-Authenticate` header values, in upstream's order (two for no credentials).
    pub fn www_authenticate(self) -> &'static [&'static str] {
        match self {
            AuthFailure::NoAuthProvided => &[
                "Bearer realm=\"Restricted IPFS Cluster API\"",
                "Basic realm=\"Restricted IPFS Cluster API\"",
            ],
            AuthFailure::AccessDenied => &["Basic realm=\"Restricted IPFS Cluster API\""],
            AuthFailure::InvalidToken => {
                &["Bearer realm=\"Restricted IPFS Cluster API\", error=\"invalid_token\""]
            }
        }
    }
}

/// Whether upstream serves a request without authentication: CORS preflights (`OPTIONS`, any
/// path) and `GET /health` (the exact path).
pub fn is_public(method: &str, path: &str) -> bool {
    method == "OPTIONS" || (method == "GET" && path == "/health")
}

// ---------------------------------------------------------------------------------------------
// Checking

/// Checks an `Authorization` header value (the first one, as Go's `Header.Get`) against
/// `creds` at the current time. Call only when credentials are configured.
pub fn check(authorization: Option<&[u8]>, creds: &Credentials) -> Result<AuthedUser, AuthFailure> {
    check_at(authorization, creds, SystemTime::now())
}

/// [`check`] at a given time (for `exp`/`nbf`/`iat`).
pub fn check_at(
    authorization: Option<&[u8]>,
    creds: &Credentials,
    now: SystemTime,
) -> Result<AuthedUser, AuthFailure> {
    let Some(value) = authorization else {
        return Err(AuthFailure::NoAuthProvided);
    };
    // Go's header reader trims surrounding spaces and tabs.
    let value = trim_ows(value);
    if value.len() > MAX_AUTHORIZATION_LEN {
        // Upstream's server would refuse a header this large outright; treat it as a bad token
        // or bad Basic credentials without decoding it.
        return Err(if has_scheme(value, b"Basic ") {
            AuthFailure::AccessDenied
        } else if has_scheme(value, b"Bearer ") {
            AuthFailure::InvalidToken
        } else {
            AuthFailure::NoAuthProvided
        });
    }
    if let Some((user, password)) = parse_basic(value) {
        // Both parts must be non-empty (verifyBasicAuth).
        let hit = if user.is_empty() || password.is_empty() {
            None
        } else {
            creds.find_pair(&user, &password)
        };
        return match hit {
            Some(i) => Ok(AuthedUser {
                user: creds.entries[i].0.clone(),
                method: AuthMethod::Basic,
            }),
            None => Err(AuthFailure::AccessDenied),
        };
    }
    if has_scheme(value, b"Bearer ") {
        let token = &value[b"Bearer ".len()..];
        return match verify_token(token, creds, now) {
            Some(i) => Ok(AuthedUser {
                user: creds.entries[i].0.clone(),
                method: AuthMethod::Bearer,
            }),
            None => Err(AuthFailure::InvalidToken),
        };
    }
    Err(AuthFailure::NoAuthProvided)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn has_scheme(value: &[u8], scheme: &[u8]) -> bool {
    value.len() >= scheme.len() && value[..scheme.len()].eq_ignore_ascii_case(scheme)
}

/// A decoded Basic user or password (on the stack for ordinary lengths).
type BasicPart = SmallVec<[u8; 64]>;

/// Go's `parseBasicAuth`: `Basic ` (any case), then standard padded base64 of `user:password`
/// split at the first `:`. `None` when the header is not usable Basic credentials.
fn parse_basic(value: &[u8]) -> Option<(BasicPart, BasicPart)> {
    if !has_scheme(value, b"Basic ") {
        return None;
    }
    let mut decoded = Vec::with_capacity(value.len());
    go_base64_decode(&value[6..], BASE64_STD_ALPHABET, true, &mut decoded).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((
        SmallVec::from_slice(&decoded[..colon]),
        SmallVec::from_slice(&decoded[colon + 1..]),
    ))
}

/// The HMAC algorithms upstream's key function accepts.
#[derive(Clone, Copy)]
enum HmacAlg {
    Hs256,
    Hs384,
    Hs512,
}

/// Verifies a JWT as `jwt.ParseWithClaims(…, &jwt.RegisteredClaims{}, keyFunc)` does in
/// upstream; the index of the issuing user on success.
fn verify_token(token: &[u8], creds: &Credentials, now: SystemTime) -> Option<usize> {
    // Exactly three dot-separated parts.
    let mut parts = token.splitn(4, |&b| b == b'.');
    let (header_b64, claims_b64, sig_b64) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }

    let mut header = Vec::new();
    go_base64_decode(header_b64, BASE64_URL_ALPHABET, false, &mut header).ok()?;
    let alg = header_alg(&header)?;

    let mut claims_json = Vec::new();
    go_base64_decode(claims_b64, BASE64_URL_ALPHABET, false, &mut claims_json).ok()?;
    let claims = parse_claims(&claims_json)?;

    // Registered names other than these (RS*, ES*, PS*, EdDSA, none) fail upstream's key
    // function; unregistered names fail the parser. Either way: rejected.
    let alg = match alg.as_str() {
        "HS256" => HmacAlg::Hs256,
        "HS384" => HmacAlg::Hs384,
        "HS512" => HmacAlg::Hs512,
        _ => return None,
    };
    let user = creds.find_user(claims.iss.as_bytes())?;
    let key = creds.entries[user].1.as_bytes();

    let mut sig = Vec::new();
    go_base64_decode(sig_b64, BASE64_URL_ALPHABET, false, &mut sig).ok()?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    if !hmac_verify(alg, key, signing_input, &sig) {
        return None;
    }
    if !claims.times_valid(now) {
        return None;
    }
    Some(user)
}

fn hmac_verify(alg: HmacAlg, key: &[u8], data: &[u8], sig: &[u8]) -> bool {
    fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8], sig: &[u8]) -> bool {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                // Constant-time comparison; a wrong length simply fails.
                mac.verify_slice(sig).is_ok()
            }
            Err(_) => false,
        }
    }
    match alg {
        HmacAlg::Hs256 => run::<Hmac<sha2::Sha256>>(key, data, sig),
        HmacAlg::Hs384 => run::<Hmac<sha2::Sha384>>(key, data, sig),
        HmacAlg::Hs512 => run::<Hmac<sha2::Sha512>>(key, data, sig),
    }
}

fn hmac_sign_hs256(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => Vec::new(),
    }
}

/// The header's `alg`, as `json.Unmarshal` into a map sees it: the object's last `alg` key
/// (case-sensitive), which must be a string; the whole header must be one JSON object.
fn header_alg(json: &[u8]) -> Option<String> {
    struct HeaderVisitor;
    impl<'de> Visitor<'de> for HeaderVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JWT header object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut alg = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "alg" {
                    let v: serde_json::Value = map.next_value()?;
                    alg = v.as_str().map(str::to_owned);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(alg)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let alg = de.deserialize_map(HeaderVisitor).ok()?;
    // json.Unmarshal refuses trailing data.
    de.end().ok()?;
    alg
}

/// The registered claims upstream's validation looks at.
#[derive(Debug, Default, PartialEq)]
struct Claims {
    iss: String,
    /// Whole Unix seconds (jwt v4 truncates NumericDates to seconds).
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
}

/// Go's `time.Time` internal seconds (since year 1) for Unix seconds; the addition wraps as
/// Go's does, which makes absurdly large dates compare as past ones.
fn go_internal_secs(unix: i64) -> i64 {
    unix.wrapping_sub(GO_ZERO_UNIX)
}

impl Claims {
    /// `RegisteredClaims.Valid` at `now`: `now < exp`, `now >= nbf`, `now >= iat`.
    fn times_valid(&self, now: SystemTime) -> bool {
        // Whole seconds, floored (before 1970 too).
        let now_ext = go_internal_secs(Timestamp::from_system_time(now).unix_secs());
        // The claim times carry no sub-second part, so comparing whole seconds is exact.
        if let Some(exp) = self.exp {
            if now_ext >= go_internal_secs(exp) {
                return false;
            }
        }
        for t in [self.nbf, self.iat].into_iter().flatten() {
            if now_ext < go_internal_secs(t) {
                return false;
            }
        }
        true
    }
}

/// Folds a JSON key as Go's `encoding/json` matches struct fields: ASCII case-insensitively,
/// plus the two non-ASCII letters that fold to ASCII (`ſ` → s, Kelvin sign → k).
fn claim_key(key: &str) -> Option<&'static str> {
    const NAMES: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
    let mut folded = [0u8; 3];
    let mut n = 0;
    for c in key.chars() {
        let c = match c {
            'ſ' => 's',
            '\u{212A}' => 'k',
            c if c.is_ascii() => c.to_ascii_lowercase(),
            _ => return None,
        };
        if n == 3 {
            return None;
        }
        folded[n] = c as u8;
        n += 1;
    }
    NAMES
        .iter()
        .copied()
        .find(|name| name.as_bytes() == &folded[..n])
}

/// Go's `float64` → `int64` conversion as amd64 performs it: out-of-range values become
/// `i64::MIN`.
fn go_f64_to_i64(f: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// jwt v4's `NumericDate` from a float of seconds: `time.Unix(int64(whole), int64(frac*1e9))`
/// truncated to the second.
fn numeric_date_secs(f: f64) -> i64 {
    let whole = f.trunc();
    let frac = f - whole;
    let secs = go_f64_to_i64(whole);
    let nanos = (frac * 1e9) as i64;
    if nanos < 0 {
        secs.wrapping_sub(1)
    } else {
        secs
    }
}

/// Go's `isValidNumber`: JSON number syntax.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i == b.len()
}

/// A NumericDate value: `null` clears it; a number, or a string holding a valid JSON number
/// (Go decodes those into `json.Number` too), sets it; anything else fails the token.
fn numeric_date(v: &serde_json::Value) -> Result<Option<i64>, ()> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n.as_f64().map(|f| Some(numeric_date_secs(f))).ok_or(()),
        serde_json::Value::String(s) if is_json_number(s) => match s.parse::<f64>() {
            // strconv.ParseFloat reports overflow as an error.
            Ok(f) if f.is_finite() => Ok(Some(numeric_date_secs(f))),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// Decodes the claims as `json.NewDecoder(…).Decode(&RegisteredClaims{})`: the first JSON value
/// only (trailing data ignored), keys matched case-insensitively, later keys overriding earlier
/// ones, unknown keys ignored, wrong types failing.
fn parse_claims(json: &[u8]) -> Option<Claims> {
    struct ClaimsVisitor;
    impl<'de> Visitor<'de> for ClaimsVisitor {
        type Value = Result<Claims, ()>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JWT claims object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut claims = Claims::default();
            let mut ok = true;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let Some(field) = claim_key(&key) else {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                };
                let v: serde_json::Value = map.next_value()?;
                match field {
                    // Strings; null leaves the field as it was.
                    "iss" | "sub" | "jti" => match v {
                        serde_json::Value::String(s) => {
                            if field == "iss" {
                                claims.iss = s;
                            }
                        }
                        serde_json::Value::Null => {}
                        _ => ok = false,
                    },
                    "aud" => match &v {
                        serde_json::Value::Null | serde_json::Value::String(_) => {}
                        serde_json::Value::Array(items) => {
                            if !items.iter().all(serde_json::Value::is_string) {
                                ok = false;
                            }
                        }
                        _ => ok = false,
                    },
                    _ => match numeric_date(&v) {
                        Ok(t) => match field {
                            "exp" => claims.exp = t,
                            "nbf" => claims.nbf = t,
                            _ => claims.iat = t,
                        },
                        Err(()) => ok = false,
                    },
                }
            }
            Ok(if ok { Ok(claims) } else { Err(()) })
        }
        // `null` decodes to nothing: empty claims (no issuer, so the token fails later).
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Ok(Claims::default()))
        }
    }
    let mut stream = serde_json::Deserializer::from_slice(json).into_iter::<IgnoredAny>();
    // Find where the first value ends, then decode just that slice.
    let first = stream.next()?;
    first.ok()?;
    let end = stream.byte_offset();
    let mut de = serde_json::Deserializer::from_slice(&json[..end]);
    de.deserialize_any(ClaimsVisitor).ok()?.ok()
}

// ---------------------------------------------------------------------------------------------
// Issuing

/// Appends `s` as a JSON string body the way Go escapes it (`<`, `>`, `&`, U+2028, U+2029 as
/// `\u…`).
fn push_go_json_string(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// The token upstream's POST /token returns for `user`: HS256 over
/// `{"alg":"HS256","typ":"JWT"}` and `{"iss":"<user>"}`, keyed with the user's password. It is
/// deterministic and never expires.
pub fn issue_token(user: &str, password: &str) -> String {
    use data_encoding::BASE64URL_NOPAD;
    let mut claims = String::with_capacity(user.len() + 12);
    if user.is_empty() {
        // `iss` is `omitempty` upstream.
        claims.push_str("{}");
    } else {
        claims.push_str("{\"iss\":\"");
        push_go_json_string(&mut claims, user);
        claims.push_str("\"}");
    }
    let mut token = String::with_capacity(64 + claims.len() * 2);
    token.push_str(&BASE64URL_NOPAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#));
    token.push('.');
    token.push_str(&BASE64URL_NOPAD.encode(claims.as_bytes()));
    let sig = hmac_sign_hs256(password.as_bytes(), token.as_bytes());
    token.push('.');
    token.push_str(&BASE64URL_NOPAD.encode(&sig));
    token
}

/// The token for an authenticated user (their current password keys it), as POST /token hands
/// out; `None` if the user has since been removed.
pub fn token_for(creds: &Credentials, user: &AuthedUser) -> Option<String> {
    creds
        .password(&user.user)
        .map(|password| issue_token(&user.user, password))
}

#[cfg(test)]
mod tests {
    use super::*;
    use data_encoding::{BASE64, BASE64URL_NOPAD};
    use std::time::{Duration, UNIX_EPOCH};

    const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ1c2VyIn0.QezMUPmvhZET9xHCT52dxFfGlmLRebSpplZ1p4W9KTI";

    fn creds() -> Credentials {
        let mut c = Credentials::new();
        c.add_spec("user:pass").unwrap();
        c.add_spec("admin:se:cr:et").unwrap();
        c
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn basic(user_pass: &[u8]) -> Vec<u8> {
        format!("Basic {}", BASE64.encode(user_pass)).into_bytes()
    }

    fn bearer(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    /// A token with the given header and claims JSON, signed with HMAC-`bits` under `key`.
    fn make(header: &str, claims: &str, key: &str, bits: u32) -> String {
        let input = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(header.as_bytes()),
            BASE64URL_NOPAD.encode(claims.as_bytes())
        );
        let sig = match bits {
            256 => {
                let mut m =
                    <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            384 => {
                let mut m =
                    <Hmac<sha2::Sha384> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
            _ => {
                let mut m =
                    <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
                m.update(input.as_bytes());
                m.finalize().into_bytes().to_vec()
            }
        };
        format!("{input}.{}", BASE64URL_NOPAD.encode(&sig))
    }

    fn tok(header: &str, claims: &str) -> String {
        make(header, claims, "pass", 256)
    }

    fn check_tok(token: &str) -> Result<AuthedUser, AuthFailure> {
        check_at(Some(&bearer(token)), &creds(), now())
    }

    #[test]
    fn issue_token_matches_upstream_vector() {
        // Produced by upstream's generateSignedTokenString("user", "pass") (confirmed in Go).
        assert_eq!(issue_token("user", "pass"), VECTOR);
        let t = issue_token("a<b", "pw");
        let claims = BASE64URL_NOPAD
            .decode(t.split('.').nth(1).unwrap().as_bytes())
            .unwrap();
        assert_eq!(claims, br#"{"iss":"a\u003cb"}"#);
        assert_eq!(
            token_for(
                &creds(),
                &AuthedUser {
                    user: "user".into(),
                    method: AuthMethod::Basic
                }
            ),
            Some(VECTOR.to_string())
        );
    }

    #[test]
    fn issued_tokens_verify() {
        let ok = check_tok(VECTOR).unwrap();
        assert_eq!(ok.user, "user");
        assert_eq!(ok.method, AuthMethod::Bearer);
        let admin = issue_token("admin", "se:cr:et");
        assert_eq!(check_tok(&admin).unwrap().user, "admin");
        // Scheme is case-insensitive.
        let lower = format!("bearer {VECTOR}");
        assert!(check_at(Some(lower.as_bytes()), &creds(), now()).is_ok());
        let upper = format!("BEARER {VECTOR}");
        assert!(check_at(Some(upper.as_bytes()), &creds(), now()).is_ok());
        // A changed password revokes the token.
        let mut changed = creds();
        changed.insert("user".into(), "new".into());
        assert_eq!(
            check_at(Some(&bearer(VECTOR)), &changed, now()),
            Err(AuthFailure::InvalidToken)
        );
    }

    #[test]
    fn hmac_variants_accepted() {
        let h = |alg: &str| format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        assert!(check_tok(&make(&h("HS384"), r#"{"iss":"user"}"#, "pass", 384)).is_ok());
        assert!(check_tok(&make(&h("HS512"), r#"{"iss":"user"}"#, "pass", 512)).is_ok());
        // No typ needed; other header fields ignored.
        assert!(check_tok(&tok(
            r#"{"alg":"HS256","kid":[1,{"a":null}]}"#,
            r#"{"iss":"user"}"#
        ))
        .is_ok());
        // The alg must match the MAC actually used.
        assert!(check_tok(&make(&h("HS256"), r#"{"iss":"user"}"#, "pass", 512)).is_err());
    }

    #[test]
    fn adversarial_tokens_rejected() {
        let good_claims = r#"{"iss":"user"}"#;
        let cases: Vec<(&str, String)> = vec![
            ("alg none", {
                let t = tok(r#"{"alg":"none","typ":"JWT"}"#, good_claims);
                let mut parts: Vec<&str> = t.split('.').collect();
                parts[2] = "";
                parts.join(".")
            }),
            ("alg none signed", tok(r#"{"alg":"none"}"#, good_claims)),
            ("alg RS256", tok(r#"{"alg":"RS256"}"#, good_claims)),
            ("alg lower case", tok(r#"{"alg":"hs256"}"#, good_claims)),
            ("alg missing", tok(r#"{"typ":"JWT"}"#, good_claims)),
            ("alg not a string", tok(r#"{"alg":256}"#, good_claims)),
            (
                "alg last wins",
                tok(r#"{"alg":"HS256","alg":"none"}"#, good_claims),
            ),
            ("header not object", tok(r#"["HS256"]"#, good_claims)),
            ("header null", tok("null", good_claims)),
            (
                "header trailing data",
                tok(r#"{"alg":"HS256"}x"#, good_claims),
            ),
            (
                "unknown issuer",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"mallory"}"#),
            ),
            ("no issuer", tok(r#"{"alg":"HS256"}"#, r#"{"sub":"user"}"#)),
            ("empty issuer", tok(r#"{"alg":"HS256"}"#, r#"{"iss":""}"#)),
            (
                "issuer not a string",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":["user"]}"#),
            ),
            ("claims null", tok(r#"{"alg":"HS256"}"#, "null")),
            (
                "claims array",
                tok(r#"{"alg":"HS256"}"#, r#"[{"iss":"user"}]"#),
            ),
            ("claims empty", tok(r#"{"alg":"HS256"}"#, "")),
            (
                "wrong key",
                make(r#"{"alg":"HS256"}"#, good_claims, "other", 256),
            ),
            (
                "other user's key",
                make(r#"{"alg":"HS256"}"#, good_claims, "se:cr:et", 256),
            ),
            (
                "expired",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","exp":1699999999}"#),
            ),
            (
                "expires now",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","exp":1700000000}"#),
            ),
            (
                "not yet valid",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","nbf":1700000001}"#),
            ),
            (
                "issued in future",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","iat":1700000001}"#),
            ),
            (
                "exp bad type",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","exp":true}"#),
            ),
            (
                "exp bad string",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","exp":"soon"}"#),
            ),
            (
                "exp overflow",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","exp":1e400}"#),
            ),
            (
                "exp beyond int64",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","exp":1e19}"#),
            ),
            (
                "aud bad type",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","aud":5}"#),
            ),
            (
                "aud bad item",
                tok(r#"{"alg":"HS256"}"#, r#"{"iss":"user","aud":["a",5]}"#),
            ),
            ("two segments", {
                let t = issue_token("user", "pass");
                t.rsplit_once('.').unwrap().0.to_string()
            }),
            ("four segments", format!("{VECTOR}.")),
            ("dots", "..".into()),
            ("bad base64 header", format!("!{}", &VECTOR[1..])),
            ("padded signature", format!("{VECTOR}=")),
            (
                "bad base64 signature",
                format!("{}*", &VECTOR[..VECTOR.len() - 1]),
            ),
            (
                "truncated signature",
                VECTOR[..VECTOR.len() - 2].to_string(),
            ),
            (
                "std alphabet",
                VECTOR.replace('_', "/").replace('-', "+") + "+",
            ),
            ("huge", "a".repeat(MAX_AUTHORIZATION_LEN * 2)),
            (
                "huge valid-looking",
                format!("{VECTOR}{}", "A".repeat(MAX_AUTHORIZATION_LEN)),
            ),
        ];
        for (name, token) in cases {
            assert_eq!(check_tok(&token), Err(AuthFailure::InvalidToken), "{name}");
        }
        // A tampered payload keeps the old signature.
        let mut parts: Vec<String> = VECTOR.split('.').map(str::to_owned).collect();
        parts[1] = BASE64URL_NOPAD.encode(br#"{"iss":"admin"}"#);
        assert_eq!(check_tok(&parts.join(".")), Err(AuthFailure::InvalidToken));
        // A flipped signature bit.
        let mut sig = BASE64URL_NOPAD
            .decode(VECTOR.split('.').nth(2).unwrap().as_bytes())
            .unwrap();
        sig[0] ^= 1;
        let flipped = format!(
            "{}.{}",
            VECTOR.rsplit_once('.').unwrap().0,
            BASE64URL_NOPAD.encode(&sig)
        );
        assert_eq!(check_tok(&flipped), Err(AuthFailure::InvalidToken));
    }

    #[test]
    fn signature_trailing_bits_are_ignored_like_go() {
        // The 43-character HS256 signature has 2 spare bits in its last character; Go's
        // non-strict base64 ignores them, so these variants verify upstream too (checked by
        // running jwt v4.5.2).
        let (input, sig) = VECTOR.rsplit_once('.').unwrap();
        assert!(sig.ends_with('I'));
        for last in ['J', 'K', 'L'] {
            let t = format!("{input}.{}{last}", &sig[..sig.len() - 1]);
            assert!(check_tok(&t).is_ok(), "{t}");
        }
        let t = format!("{input}.{}M", &sig[..sig.len() - 1]);
        assert!(check_tok(&t).is_err());
    }

    #[test]
    fn claims_decode_like_go() {
        let h = r#"{"alg":"HS256"}"#;
        // Times are honoured only when present, and pass when in range.
        for claims in [
            r#"{"iss":"user","exp":1700000001}"#,
            r#"{"iss":"user","nbf":1700000000,"iat":1700000000}"#,
            r#"{"iss":"user","exp":1700000001.5,"nbf":1699999999.9}"#,
            // Go decodes quoted numbers into json.Number too.
            r#"{"iss":"user","exp":"1700000001"}"#,
            // null clears a date; later keys win.
            r#"{"iss":"user","exp":1,"exp":null}"#,
            r#"{"iss":"mallory","iss":"user"}"#,
            // Case-insensitive field names, and the long s folds to s.
            r#"{"ISS":"user"}"#,
            r#"{"iſs":"user"}"#,
            r#"{"Exp":1700000001,"iss":"user"}"#,
            // null leaves a string as it was.
            r#"{"iss":"user","iss":null}"#,
            // aud may be a string or a list of strings; unknown claims are ignored.
            r#"{"iss":"user","aud":"x","foo":{"bar":[1,2]}}"#,
            r#"{"iss":"user","aud":["x","y"],"sub":"s","jti":"j"}"#,
            // The decoder reads the first value only.
            r#"{"iss":"user"}trailing"#,
            r#"{"iss":"user"} {"iss":"x"}"#,
            // A huge nbf in the past.
            r#"{"iss":"user","nbf":-1e300}"#,
            r#"{"iss":"user","exp":"1e10","nbf":null}"#,
            r#"{"iss":"user","exp":1E10}"#,
        ] {
            assert!(check_tok(&tok(h, claims)).is_ok(), "{claims}");
        }
        // Not folded by Go: dotted capital I; quoted numbers must be exact JSON numbers.
        for claims in [
            r#"{"İss":"user"}"#,
            r#"{"iss":"user","exp":" 1"}"#,
            r#"{"iss":"user","exp":"01"}"#,
            r#"{"iss":"user","exp":{"a":1}}"#,
            r#"{"iss":"user","iss":5}"#,
            r#"{"iss":"user","exp":-0.0000000001}"#,
        ] {
            assert!(check_tok(&tok(h, claims)).is_err(), "{claims}");
        }
        // exp at 1700000000.9 truncates to 1700000000: expired at now.
        assert!(check_tok(&tok(h, r#"{"iss":"user","exp":1700000000.9}"#)).is_err());
        // nbf at 1700000000.5 truncates down: valid.
        assert!(check_tok(&tok(h, r#"{"iss":"user","nbf":1700000000.5}"#)).is_ok());
        // Go's int64 conversion of 1e300 is MinInt64: an exp that far is in the past.
        assert!(check_tok(&tok(h, r#"{"iss":"user","exp":1e300}"#)).is_err());
        // Just within int64 but past Go's internal range: also in the past for Go.
        assert!(check_tok(&tok(h, r#"{"iss":"user","exp":9223372036854775000}"#)).is_err());
        // Far but representable: valid.
        assert!(check_tok(&tok(h, r#"{"iss":"user","exp":9000000000000000000}"#)).is_ok());
    }

    #[test]
    fn basic_auth() {
        let c = creds();
        let ok = check_at(Some(&basic(b"user:pass")), &c, now()).unwrap();
        assert_eq!(
            ok,
            AuthedUser {
                user: "user".into(),
                method: AuthMethod::Basic
            }
        );
        // The password may contain colons: split at the first one.
        assert_eq!(
            check_at(Some(&basic(b"admin:se:cr:et")), &c, now())
                .unwrap()
                .user,
            "admin"
        );
        // Scheme is case-insensitive; surrounding whitespace is trimmed.
        let lower = format!("bAsIc {}", BASE64.encode(b"user:pass"));
        assert!(check_at(Some(lower.as_bytes()), &c, now()).is_ok());
        let padded = format!(" \tBasic {}\t ", BASE64.encode(b"user:pass"));
        assert!(check_at(Some(padded.as_bytes()), &c, now()).is_ok());

        for bad in [
            &b"user:wrong"[..],
            b"user:pas",
            b"user:pass ",
            b"User:pass",
            b"admin:se",
            b"user:",
            b":pass",
            b":",
            b"mallory:pass",
            b"user:se:cr:et",
        ] {
            assert_eq!(
                check_at(Some(&basic(bad)), &c, now()),
                Err(AuthFailure::AccessDenied),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unusable_headers_mean_no_auth() {
        let c = creds();
        for header in [
            // Broken base64 or no colon: Go's BasicAuth() reports !ok, so not Basic at all.
            &b"Basic !!!"[..],
            b"Basic dXNlcjpwYXNz=",
            b"Basic dXNlcnBhc3M=",
            b"Basic  dXNlcjpwYXNz",
            b"Basic",
            b"Bearer",
            b"Digest abc",
            b"",
            b"   ",
            b"Token abc",
        ] {
            assert_eq!(
                check_at(Some(header), &c, now()),
                Err(AuthFailure::NoAuthProvided),
                "{:?}",
                String::from_utf8_lossy(header)
            );
        }
        assert_eq!(check_at(None, &c, now()), Err(AuthFailure::NoAuthProvided));
        // Go trims the header value, so "Bearer " with nothing after is no scheme at all…
        assert_eq!(
            check_at(Some(b"Bearer "), &c, now()),
            Err(AuthFailure::NoAuthProvided)
        );
        assert_eq!(
            check_at(Some(b"Bearer  "), &c, now()),
            Err(AuthFailure::NoAuthProvided)
        );
        // A token that is only whitespace and a dot is still a (bad) token.
        assert_eq!(
            check_at(Some(b"Bearer 	."), &c, now()),
            Err(AuthFailure::InvalidToken)
        );
        // Non-UTF-8 bytes are just bytes.
        assert_eq!(
            check_at(Some(b"Bearer \xff\xfe.\x00.x"), &c, now()),
            Err(AuthFailure::InvalidToken)
        );
        assert_eq!(
            check_at(Some(&basic(b"\xff:\xfe")), &c, now()),
            Err(AuthFailure::AccessDenied)
        );
        // Huge Basic header: denied without decoding.
        let huge = format!("Basic {}", "A".repeat(MAX_AUTHORIZATION_LEN));
        assert_eq!(
            check_at(Some(huge.as_bytes()), &c, now()),
            Err(AuthFailure::AccessDenied)
        );
    }

    #[test]
    fn failure_replies_match_upstream() {
        assert_eq!(
            AuthFailure::NoAuthProvided.message(),
            "unauthorized: no auth provided"
        );
        assert_eq!(
            AuthFailure::NoAuthProvided.www_authenticate(),
            &[
                "Bearer realm=\"Restricted IPFS Cluster API\"",
                "Basic realm=\"Restricted IPFS Cluster API\""
            ]
        );
        assert_eq!(
            AuthFailure::AccessDenied.message(),
            "unauthorized: access denied"
        );
        assert_eq!(
            AuthFailure::AccessDenied.www_authenticate(),
            &["Basic realm=\"Restricted IPFS Cluster API\""]
        );
        assert_eq!(
            AuthFailure::InvalidToken.message(),
            "unauthorized: invalid token"
        );
        assert_eq!(
            AuthFailure::InvalidToken.www_authenticate(),
            &["Bearer realm=\"Restricted IPFS Cluster API\", error=\"invalid_token\""]
        );
        assert_eq!(AuthFailure::InvalidToken.status(), 401);
        assert_eq!(
            AuthFailure::AccessDenied.to_string(),
            AuthFailure::AccessDenied.message()
        );
    }

    #[test]
    fn credentials_specs() {
        assert_eq!(
            Credentials::parse_spec("u:p:q"),
            Ok(("u".to_string(), "p:q".to_string()))
        );
        assert_eq!(
            Credentials::parse_spec("up"),
            Err(CredentialsError::MissingColon)
        );
        assert_eq!(
            Credentials::parse_spec(":p"),
            Err(CredentialsError::EmptyUser)
        );
        assert_eq!(
            Credentials::parse_spec("u:"),
            Err(CredentialsError::EmptyPassword)
        );
        let mut c = creds();
        assert_eq!(c.len(), 2);
        c.add_spec("user:again").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.password("user"), Some("again"));
        assert_eq!(c.password("nobody"), None);
        assert!(!format!("{c:?}").contains("again"));
        assert!(Credentials::new().is_empty());
        // Empty credentials reject everything (fail closed).
        assert_eq!(
            check_at(Some(&bearer(VECTOR)), &Credentials::new(), now()),
            Err(AuthFailure::InvalidToken)
        );
    }

    #[test]
    fn public_requests() {
        assert!(is_public("OPTIONS", "/pins"));
        assert!(is_public("OPTIONS", "/anything"));
        assert!(is_public("GET", "/health"));
        assert!(!is_public("HEAD", "/health"));
        assert!(!is_public("POST", "/health"));
        assert!(!is_public("GET", "/health/graph"));
        assert!(!is_public("GET", "/health/"));
        assert!(!is_public("GET", "/id"));
    }

    #[test]
    fn claim_key_folding() {
        assert_eq!(claim_key("iss"), Some("iss"));
        assert_eq!(claim_key("IsS"), Some("iss"));
        assert_eq!(claim_key("ſub"), Some("sub"));
        assert_eq!(claim_key("issuer"), None);
        assert_eq!(claim_key("is"), None);
        assert_eq!(claim_key("ıss"), None);
        assert_eq!(numeric_date_secs(-1.5), -2);
        assert_eq!(numeric_date_secs(-1e-10), 0);
        assert_eq!(numeric_date_secs(1.999), 1);
        assert_eq!(numeric_date_secs(1e30), i64::MIN);
        assert!(is_json_number("-0.5e+3") && !is_json_number("01") && !is_json_number("1."));
    }
}
