//! Liveness and readiness probes for load balancers and orchestrators, on the gateway's own
//! port: `GET /healthz` answers 200 while the process serves requests at all; `GET /readyz`
//! answers 200 once the node is ready (the store open, the denylists read, every listener
//! bound) and 503 before that and from the moment shutdown begins, so a balancer stops
//! sending new requests while in-flight ones drain. The paths are Kubernetes' convention
//! (Rainbow and Kubo's gateways have no probe endpoints of their own; their operators probe
//! a content path). Answers are never cached.

use std::sync::atomic::{AtomicU8, Ordering};

use http::{header, HeaderValue, Method, StatusCode};

use super::{Body, Response};

/// Liveness probe path.
pub const HEALTHZ: &str = "/healthz";
/// Readiness probe path.
pub const READYZ: &str = "/readyz";

const STARTING: u8 = 0;
const READY: u8 = 1;
const STOPPING: u8 = 2;

/// Whether the node is ready for traffic.
#[derive(Debug, Default)]
pub struct Health {
    state: AtomicU8,
}

impl Health {
    /// Everything is set up and listening: `/readyz` answers 200.
    pub fn set_ready(&self) {
        let _ = self
            .state
            .compare_exchange(STARTING, READY, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Shutdown began: `/readyz` answers 503 from now on.
    pub fn set_stopping(&self) {
        self.state.store(STOPPING, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY
    }

    /// Whether `path` is a probe's (a cheap test for every request to make).
    pub fn is_probe(path: &str) -> bool {
        path == HEALTHZ || path == READYZ
    }

    /// The answer to a probe, or `None` for any other request.
    pub fn answer(&self, method: &Method, path: &str) -> Option<Response> {
        if *method != Method::GET && *method != Method::HEAD {
            return None;
        }
        let (status, text) = match path {
            HEALTHZ => (StatusCode::OK, "ok\n"),
            READYZ => match self.state.load(Ordering::Acquire) {
                READY => (StatusCode::OK, "ready\n"),
                STARTING => (StatusCode::SERVICE_UNAVAILABLE, "not ready: starting\n"),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: shutting down\n",
                ),
            },
            _ => return None,
        };
        let mut response = Response::new(if *method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(text)
        });
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_node() {
        let health = Health::default();
        let status = |path| health.answer(&Method::GET, path).map(|r| r.status());
        assert_eq!(status(HEALTHZ), Some(StatusCode::OK));
        assert_eq!(status(READYZ), Some(StatusCode::SERVICE_UNAVAILABLE));
        health.set_ready();
        assert_eq!(status(READYZ), Some(StatusCode::OK));
        health.set_stopping();
        assert_eq!(status(READYZ), Some(StatusCode::SERVICE_UNAVAILABLE));
        // Ready again only through a new start.
        health.set_ready();
        assert_eq!(status(READYZ), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(status(HEALTHZ), Some(StatusCode::OK));
        assert!(health.answer(&Method::POST, HEALTHZ).is_none());
        assert!(health.answer(&Method::GET, "/healthz/x").is_none());
    }
}
