//! The http layer: everything HTTP-shaped that the APIs share — the server loop and its
//! limits, the router, response bodies, CORS, Range/ETag evaluation, content types, and the
//! one place where lower-layer errors become statuses.

pub mod access_log;
pub mod body;
pub mod compress;
pub mod conditional;
pub mod content_type;
pub mod cors;
pub mod error;
pub mod go_json;
pub mod go_query;
pub mod header_text;
pub mod health;
pub mod lines;
pub mod memo;
pub mod metrics;
pub mod multipart;
pub mod page;
pub mod range;
pub mod router;
pub mod server;
pub mod upload;
pub mod workers;

pub use body::Body;
pub use error::HttpError;

/// A response as every handler returns it.
pub type Response = http::Response<Body>;
