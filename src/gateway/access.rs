//! Who may write through the gateway. The Agregore contract lets pages on any origin read and
//! write through CORS; that stays the default on loopback. What it does not grant is closed
//! here, for every request that is not a read (`POST`, `PUT`, `DELETE`: uploads, tree edits,
//! unpinning, IPNS publishing, the key API, record stores, pubsub publishing):
//!
//! - **DNS rebinding.** A page on `http://evil.example:8080` whose name is made to resolve to
//!   127.0.0.1 reaches the gateway as its own origin, CORS notwithstanding. Its requests carry
//!   `Host: evil.example:8080`. Writes are answered only for a Host this node is reached by on
//!   purpose: a loopback name (`localhost`, `*.localhost`, RFC 6761), any IP address literal
//!   (no DNS is involved, so none can be rebound: the listen address is one), a
//!   `--subdomain-host`, or a configured DNSLink name. Anything else is 403. The `Host` header is
//!   what counts, never `X-Forwarded-Host`, which a page cannot set without a preflight but a
//!   proxy in front may (behind such a proxy, use the write token).
//! - **An operator's allow-list** (`--allow-origin`): when given, a write carrying an `Origin`
//!   not on it is 403. Requests without `Origin` (curl, the Agregore browser's own requests)
//!   are not refused for it.
//! - **An optional bearer token** (`--write-token`): when set, every write needs
//!   `Authorization: Bearer <token>` (401 otherwise, compared in constant time). A request with
//!   the token is not refused for its Host: a rebinding page cannot know it, and a reverse
//!   proxy in front can pass it on.
//!
//! Private Network Access preflights are answered deliberately in [`WriteAccess::preflight`]:
//! granted to any origin by default (the contract lets every page use the node), only to the
//! allowed origins when an allow-list is in force.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderValue};
use http::{StatusCode, Uri};

use super::host::strip_port;
use crate::http::cors::{self, OriginPolicy};
use crate::http::HttpError;

/// The gateway's write rules (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct WriteAccess {
    origins: OriginPolicy,
    token: Option<String>,
    /// Names besides loopback ones and IP literals that writes may name as Host: the
    /// subdomain gateway hosts (and names below them: their content origins, which answer
    /// writes with 405 themselves) and the static DNSLink names (lower case, no port).
    hosts: Vec<String>,
    /// The subdomain gateway hosts among them.
    subdomain_hosts: Vec<String>,
}

impl WriteAccess {
    pub fn new(
        origins: OriginPolicy,
        token: Option<String>,
        subdomain_hosts: &[String],
        dnslink_hosts: &[String],
    ) -> Self {
        let names = |hosts: &[String]| -> Vec<String> {
            hosts
                .iter()
                .map(|h| {
                    strip_port(h.trim())
                        .trim_end_matches('.')
                        .to_ascii_lowercase()
                })
                .filter(|h| !h.is_empty())
                .collect()
        };
        WriteAccess {
            origins,
            token: token.filter(|t| !t.is_empty()),
            hosts: [names(subdomain_hosts), names(dnslink_hosts)].concat(),
            subdomain_hosts: names(subdomain_hosts),
        }
    }

    /// Whether a write request may go on; the refusal says why and what to do.
    pub fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), HttpError> {
        let has_token = match &self.token {
            None => false,
            Some(token) => {
                if !bearer_matches(headers, token) {
                    return Err(HttpError::new(
                        StatusCode::UNAUTHORIZED,
                        "writes on this gateway need its write token: Authorization: Bearer \
                         <token>",
                    )
                    .with_header(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"cairn\""),
                    ));
                }
                true
            }
        };
        if let Some(origin) = headers.get(header::ORIGIN) {
            if self.origins.restricts() && !self.origins.lists(origin.as_bytes()) {
                return Err(HttpError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "writes from origin {} are not allowed on this gateway (--allow-origin)",
                        String::from_utf8_lossy(origin.as_bytes())
                    ),
                ));
            }
        }
        if has_token {
            return Ok(());
        }
        // HTTP/2 carries the host as the target's authority; HTTP/1.0 may send none at all
        // (no browser does).
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()));
        match host {
            Some(host) if !self.host_allowed(host) => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "writes are only answered for a host this node is reached by on purpose \
                     (localhost, an IP address, a --subdomain-host or a configured DNSLink \
                     name), not {host:?}: a DNS name that merely resolves here could be a DNS \
                     rebinding attack. Use http://127.0.0.1:<port>/, or the write token."
                ),
            )),
            _ => Ok(()),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host.trim());
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self.hosts.contains(&name)
            || self.subdomain_hosts.iter().any(|h| {
                name.len() > h.len() + 1
                    && name.ends_with(h.as_str())
                    && name.as_bytes()[name.len() - h.len() - 1] == b'.'
            })
    }

    /// The Private Network Access grant for a preflight, added to `response`: to any origin
    /// without an allow-list, to the listed ones with it.
    pub fn preflight(&self, request: &HeaderMap, response: &mut HeaderMap) {
        if !cors::private_network_requested(request) {
            return;
        }
        let granted = !self.origins.restricts()
            || request
                .get(header::ORIGIN)
                .is_some_and(|o| self.origins.lists(o.as_bytes()));
        if granted {
            response.insert(
                cors::ALLOW_PRIVATE_NETWORK,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// Whether `Authorization: Bearer <token>` carries `token` (constant-time comparison).
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(given) = value
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
        .map(|_| value[7..].trim_ascii())
    else {
        return false;
    };
    given.len() == token.len() && bool::from(given.ct_eq(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn check(access: &WriteAccess, pairs: &[(&'static str, &str)]) -> Option<StatusCode> {
        access
            .check(&headers(pairs), &Uri::from_static("/ipfs/"))
            .err()
            .map(|e| e.status)
    }

    #[test]
    fn writes_need_a_host_this_node_is_reached_by() {
        let access = WriteAccess::new(
            OriginPolicy::default(),
            None,
            &["gw.example:8080".into()],
            &["docs.example.org".into()],
        );
        for host in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "localhost:8080",
            "LOCALHOST",
            "app.localhost:8080",
            "192.168.1.20:8080",
            "gw.example",
            "bafkqaaa.ipfs.gw.example:8080",
            "docs.example.org.",
        ] {
            assert_eq!(check(&access, &[("host", host)]), None, "{host}");
        }
        for host in [
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
        ] {
            assert_eq!(
                check(&access, &[("host", host)]),
                Some(StatusCode::FORBIDDEN),
                "{host}"
            );
        }
        assert_eq!(check(&access, &[]), None, "HTTP/1.0 without Host");
        // Any origin may write by default.
        assert_eq!(
            check(
                &access,
                &[("host", "127.0.0.1"), ("origin", "https://any.example")]
            ),
            None
        );
    }

    #[test]
    fn the_allow_list_and_the_token() {
        let origins = OriginPolicy::new(&["https://app.example"]).unwrap();
        let access = WriteAccess::new(origins, Some("s3cret".into()), &[], &[]);
        let ok = [("host", "127.0.0.1"), ("authorization", "Bearer s3cret")];
        assert_eq!(check(&access, &ok), None);
        assert_eq!(
            check(&access, &[("host", "127.0.0.1")]),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            check(
                &access,
                &[("host", "127.0.0.1"), ("authorization", "Bearer s3cre")]
            ),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            check(
                &access,
                &[ok[0], ok[1], ("origin", "https://other.example")]
            ),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            check(&access, &[ok[0], ok[1], ("origin", "https://app.example")]),
            None
        );
        // The token stands in for the Host rule (a reverse proxy in front).
        assert_eq!(check(&access, &[("host", "public.example"), ok[1]]), None);
    }

    #[test]
    fn private_network_preflights_are_granted_deliberately() {
        let ask = |access: &WriteAccess, origin: &str| {
            let mut response = HeaderMap::new();
            access.preflight(
                &headers(&[
                    ("origin", origin),
                    ("access-control-request-private-network", "true"),
                ]),
                &mut response,
            );
            response.contains_key(cors::ALLOW_PRIVATE_NETWORK)
        };
        let open = WriteAccess::default();
        assert!(ask(&open, "https://any.example"));
        let listed = WriteAccess::new(
            OriginPolicy::new(&["https://app.example"]).unwrap(),
            None,
            &[],
            &[],
        );
        assert!(ask(&listed, "https://app.example"));
        assert!(!ask(&listed, "https://any.example"));
    }
}
