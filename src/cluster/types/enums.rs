//! The pin mode, pin type and tracker status enums with their wire names, including the
//! `error`/`queued` filter aliases.

use super::*;

/// How a pin is applied on IPFS (`api.PinMode`). JSON: `"recursive"` or `"direct"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PinMode {
    #[default]
    Recursive,
    Direct,
}

impl PinMode {
    /// `api.PinModeFromString`: `direct` is direct; anything else (including `""` and unknown
    /// words) is recursive.
    pub fn from_query(s: &str) -> PinMode {
        if s == "direct" {
            PinMode::Direct
        } else {
            PinMode::Recursive
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PinMode::Recursive => "recursive",
            PinMode::Direct => "direct",
        }
    }

    /// `PinMode.ToPinDepth`: -1 recursive, 0 direct.
    pub fn max_depth(self) -> i64 {
        match self {
            PinMode::Recursive => -1,
            PinMode::Direct => 0,
        }
    }
}

impl Serialize for PinMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What kind of pin a `Pin` object is (`api.PinType`, bit values as upstream). JSON: `"pin"`,
/// `"meta-pin"`, `"clusterdag-pin"`, `"shard-pin"` (`"bad-type"` for [`PinType::Bad`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PinType {
    Bad,
    #[default]
    Data,
    Meta,
    ClusterDag,
    Shard,
}

impl PinType {
    /// Upstream's bit value (`BadType = 1 << 0` … `ShardType = 1 << 4`).
    pub fn bit(self) -> u64 {
        match self {
            PinType::Bad => 1,
            PinType::Data => 2,
            PinType::Meta => 4,
            PinType::ClusterDag => 8,
            PinType::Shard => 16,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PinType::Bad => "bad-type",
            PinType::Data => "pin",
            PinType::Meta => "meta-pin",
            PinType::ClusterDag => "clusterdag-pin",
            PinType::Shard => "shard-pin",
        }
    }
}

impl Serialize for PinType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A set of pin types, as `/allocations?filter=` builds it (bits of [`PinType::bit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinTypeFilter(pub u64);

impl PinTypeFilter {
    /// `AllType`: data, meta, clusterdag and shard pins.
    pub const ALL: PinTypeFilter = PinTypeFilter(2 | 4 | 8 | 16);

    /// Whether a pin of type `t` passes (`filter == AllType || filter&t > 0`).
    pub fn matches(self, t: PinType) -> bool {
        self == PinTypeFilter::ALL || self.0 & t.bit() != 0
    }
}

/// A pin's tracking status on a peer, or a set of them when used as a filter
/// (`api.TrackerStatus`, bit values as upstream). JSON: the status name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrackerStatus(pub u32);

/// Status names in upstream's table (`trackerStatusString`), composite filter aliases included.
pub(super) const TRACKER_STATUS_NAMES: [(u32, &str); 15] = [
    (0, "undefined"),
    (1 << 1, "cluster_error"),
    (1 << 2, "pin_error"),
    (1 << 3, "unpin_error"),
    ((1 << 1) | (1 << 2) | (1 << 3), "error"),
    (1 << 4, "pinned"),
    (1 << 5, "pinning"),
    (1 << 6, "unpinning"),
    (1 << 7, "unpinned"),
    (1 << 8, "remote"),
    (1 << 9, "pin_queued"),
    (1 << 10, "unpin_queued"),
    ((1 << 9) | (1 << 10), "queued"),
    (1 << 11, "sharded"),
    (1 << 12, "unexpectedly_unpinned"),
];

impl TrackerStatus {
    pub const UNDEFINED: TrackerStatus = TrackerStatus(0);
    pub const CLUSTER_ERROR: TrackerStatus = TrackerStatus(1 << 1);
    pub const PIN_ERROR: TrackerStatus = TrackerStatus(1 << 2);
    pub const UNPIN_ERROR: TrackerStatus = TrackerStatus(1 << 3);
    pub const PINNED: TrackerStatus = TrackerStatus(1 << 4);
    pub const PINNING: TrackerStatus = TrackerStatus(1 << 5);
    pub const UNPINNING: TrackerStatus = TrackerStatus(1 << 6);
    pub const UNPINNED: TrackerStatus = TrackerStatus(1 << 7);
    pub const REMOTE: TrackerStatus = TrackerStatus(1 << 8);
    pub const PIN_QUEUED: TrackerStatus = TrackerStatus(1 << 9);
    pub const UNPIN_QUEUED: TrackerStatus = TrackerStatus(1 << 10);
    pub const SHARDED: TrackerStatus = TrackerStatus(1 << 11);
    pub const UNEXPECTEDLY_UNPINNED: TrackerStatus = TrackerStatus(1 << 12);
    /// Filter alias `error`: the three error states.
    pub const ERROR: TrackerStatus = TrackerStatus((1 << 1) | (1 << 2) | (1 << 3));
    /// Filter alias `queued`: pin_queued and unpin_queued.
    pub const QUEUED: TrackerStatus = TrackerStatus((1 << 9) | (1 << 10));

    /// `TrackerStatusFromString`: spaces removed, comma-separated names OR-ed together, unknown
    /// names ignored (so an all-unknown list is `UNDEFINED`).
    pub fn from_filter(s: &str) -> TrackerStatus {
        let mut bits = 0;
        let squeezed: Cow<'_, str> = if s.contains(' ') {
            Cow::Owned(s.replace(' ', ""))
        } else {
            Cow::Borrowed(s)
        };
        for name in squeezed.split(',') {
            if let Some(&(b, _)) = TRACKER_STATUS_NAMES.iter().find(|(_, n)| *n == name) {
                bits |= b;
            }
        }
        TrackerStatus(bits)
    }

    /// `TrackerStatus.Match`: true when the filter is undefined (all), the status is undefined,
    /// or they share a bit.
    pub fn matches(self, filter: TrackerStatus) -> bool {
        filter.0 == 0 || self.0 == 0 || self.0 & filter.0 != 0
    }

    /// The wire name of a single status or known alias, `None` for other bit sets.
    pub fn name(self) -> Option<&'static str> {
        TRACKER_STATUS_NAMES
            .iter()
            .find(|(b, _)| *b == self.0)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for TrackerStatus {
    /// Upstream's `String`: the name, or for other bit sets every table entry sharing a bit,
    /// comma-separated (upstream's order is Go's random map order; this uses table order).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.name() {
            return f.write_str(n);
        }
        let mut first = true;
        for (b, n) in TRACKER_STATUS_NAMES {
            if self.0 & b != 0 {
                if !first {
                    f.write_char(',')?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl Serialize for TrackerStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.collect_str(self),
        }
    }
}
