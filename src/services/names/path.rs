//! Content paths and the parsing of name values: [`ContentPath`] (`/ipfs/<cid>[/path]`),
//! splitting a value `/<ns>/<id>[/<rest>]` into its [`Namespace`], id and rest, and cleaning
//! path segments as Go's `path.Clean` does.

use std::fmt;

use cid::Cid;

use super::{NameError, Result};
use crate::ipld::cid::{to_v1, to_v1_string};

/// An immutable content path, `/ipfs/<root>[/<segment>…]`: what a record of a local key
/// points at. Segments are plain names (no escaping), without empty, `.` or `..` ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPath {
    pub root: Cid,
    pub segments: Vec<String>,
}

impl ContentPath {
    /// The path of `root` itself.
    pub fn new(root: Cid) -> Self {
        ContentPath {
            root: to_v1(&root),
            segments: Vec::new(),
        }
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/ipfs/{}", to_v1_string(&self.root))?;
        for segment in &self.segments {
            write!(f, "/{segment}")?;
        }
        Ok(())
    }
}

/// The namespace of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Namespace {
    /// `/ipfs/` (or `/ipld/`): an immutable root.
    Ipfs,
    /// `/ipns/`: another name to resolve.
    Ipns,
}

/// Splits a value `/<ns>/<id>[/<rest>]` into its namespace, id and the rest after the id.
pub(super) fn split_value(value: &str) -> Result<(Namespace, &str, &str)> {
    let bad = || {
        NameError::InvalidValue(format!(
            "{:?} is not a content path (/ipfs/<cid>[/path] or /ipns/<name>[/path])",
            value.chars().take(128).collect::<String>()
        ))
    };
    let rest = value.strip_prefix('/').ok_or_else(bad)?;
    let (namespace, rest) = rest.split_once('/').ok_or_else(bad)?;
    let namespace = match namespace {
        "ipfs" | "ipld" => Namespace::Ipfs,
        "ipns" => Namespace::Ipns,
        _ => return Err(bad()),
    };
    let (id, rest) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() {
        return Err(bad());
    }
    Ok((namespace, id, rest))
}

/// Appends the segments of a path (`a/b/../c` → `a`, `c`), dropping empty and `.` segments
/// and applying `..` lexically, as Go's `path.Clean` does for boxo's paths.
pub(super) fn push_segments(raw: &str, out: &mut Vec<String>) {
    let floor = out.len();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.len() > floor {
                    out.pop();
                }
            }
            _ => out.push(part.to_owned()),
        }
    }
}

/// Parses an `/ipfs/<cid>[/path]` value into a content path.
pub(super) fn parse_ipfs_value(value: &str) -> Result<ContentPath> {
    match split_value(value)? {
        (Namespace::Ipfs, id, rest) => {
            let root = crate::ipld::cid::parse(id)
                .map_err(|e| NameError::InvalidValue(format!("{id:?} is not a CID: {e}")))?;
            let mut path = ContentPath::new(root);
            push_segments(rest, &mut path.segments);
            Ok(path)
        }
        (Namespace::Ipns, ..) => Err(NameError::InvalidValue(format!(
            "{value:?} is an IPNS path; expected /ipfs/<cid>[/path]"
        ))),
    }
}

/// The root CID of an `/ipfs/` value, for pinning; `None` for `/ipns/` values.
pub(super) fn ipfs_root(value: &str) -> Option<Cid> {
    parse_ipfs_value(value).ok().map(|path| path.root)
}
