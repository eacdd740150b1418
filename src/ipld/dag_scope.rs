//! What part of a DAG a trustless request selects (IPIP-402): the `dag-scope` below the end of
//! a path, and for a file the `entity-bytes` range. Shared by the CAR export that answers
//! such requests and the remote backends that make them.

/// Which blocks below the end of the path a request carries (the `dag-scope` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DagScope {
    /// Only the blocks of the path and the block it ends at.
    Block,
    /// What it takes to read that entity: a whole UnixFS file (or the `entity-bytes` range of
    /// it), a directory's own blocks (not its children), a HAMT's shards.
    Entity,
    /// The whole DAG below (the default).
    #[default]
    All,
}

impl DagScope {
    /// Parses a `dag-scope` value: `block`, `entity` or `all`.
    pub fn parse(text: &str) -> Option<DagScope> {
        match text {
            "block" => Some(DagScope::Block),
            "entity" => Some(DagScope::Entity),
            "all" => Some(DagScope::All),
            _ => None,
        }
    }

    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            DagScope::Block => "block",
            DagScope::Entity => "entity",
            DagScope::All => "all",
        }
    }
}

/// An `entity-bytes=from:to` range: inclusive byte offsets, negative ones counting from the
/// end of the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityBytes {
    pub from: i64,
    /// `None` for `*`, the end of the entity.
    pub to: Option<i64>,
}

impl EntityBytes {
    /// Parses an `entity-bytes` value as boxo does: two decimal integers (or `*` for the
    /// second) around one `:`, refusing ranges whose ends are both non-negative, or both
    /// negative, and out of order. The error says why.
    pub fn parse(text: &str) -> Result<EntityBytes, &'static str> {
        let Some((from, to)) = text.split_once(':') else {
            return Err("expected from:to");
        };
        let number = |part: &str| -> Result<i64, &'static str> {
            part.parse::<i64>()
                .map_err(|_| "offsets must be decimal integers")
        };
        let from = number(from)?;
        if to == "*" {
            return Ok(EntityBytes { from, to: None });
        }
        let to = number(to)?;
        if (from >= 0) == (to >= 0) && from > to {
            return Err("'from' is after 'to'");
        }
        Ok(EntityBytes { from, to: Some(to) })
    }

    /// The inclusive range `(first, last)` this selects in an entity of `len` bytes, clamped
    /// to the entity; `None` when nothing of it is selected (the request then carries the
    /// entity's root block only, as the spec says of empty or out-of-range requests).
    pub fn resolve(&self, len: u64) -> Option<(u64, u64)> {
        let len = i128::from(len);
        let from = i128::from(self.from);
        let first = if from < 0 { (len + from).max(0) } else { from };
        let last = match self.to {
            None => len - 1,
            Some(to) if to < 0 => len + i128::from(to),
            Some(to) => i128::from(to).min(len - 1),
        };
        if first > last || first >= len {
            return None;
        }
        Some((u64::try_from(first).ok()?, u64::try_from(last).ok()?))
    }
}
