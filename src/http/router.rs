//! The gateway's route table, matched by hand: the method and the first path segment pick a
//! route, and the rest of the path is handed on as a borrowed `&str` (still percent-encoded).
//! Nothing is allocated. The whole table is the `match` in [`route`].

use http::Method;

/// A matched route, borrowing the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `OPTIONS` on any path: a CORS preflight.
    Preflight,
    /// `GET`/`HEAD /ipfs/<cid>[/<path>]`: `rest` is everything after `/ipfs/`.
    IpfsRead { rest: &'a str },
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path exists for other methods; `allow` is the `Allow` header value.
    MethodNotAllowed {
        allow: &'static str,
    },
}

const READ_ONLY: &str = "GET, HEAD, OPTIONS";

/// Matches a request. `path` is the URI path, starting with `/`.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, NoRoute> {
    if method == Method::OPTIONS {
        return Ok(Route::Preflight);
    }
    let path = path.strip_prefix('/').ok_or(NoRoute::NotFound)?;
    let (namespace, rest) = path.split_once('/').unwrap_or((path, ""));
    let read = *method == Method::GET || *method == Method::HEAD;
    match (namespace, read) {
        ("ipfs", true) => Ok(Route::IpfsRead { rest }),
        ("ipfs", false) => Err(NoRoute::MethodNotAllowed { allow: READ_ONLY }),
        _ => Err(NoRoute::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(Method, &str, Result<Route<'_>, NoRoute>)] = &[
            (
                Method::GET,
                "/ipfs/bafy/a/b",
                Ok(Route::IpfsRead { rest: "bafy/a/b" }),
            ),
            (
                Method::HEAD,
                "/ipfs/bafy",
                Ok(Route::IpfsRead { rest: "bafy" }),
            ),
            (Method::GET, "/ipfs", Ok(Route::IpfsRead { rest: "" })),
            (Method::OPTIONS, "/anything/at/all", Ok(Route::Preflight)),
            (
                Method::PATCH,
                "/ipfs/bafy",
                Err(NoRoute::MethodNotAllowed { allow: READ_ONLY }),
            ),
            (Method::GET, "/", Err(NoRoute::NotFound)),
            (Method::GET, "/ipfsx/bafy", Err(NoRoute::NotFound)),
            (Method::GET, "ipfs/bafy", Err(NoRoute::NotFound)),
        ];
        for (method, path, want) in cases {
            assert_eq!(&route(method, path), want, "{method} {path}");
        }
    }
}
