//! When a directory shards: boxo's size estimates (`links` and `block` modes, `directory.go`)
//! and `DynamicSize`, the replay of a `DynamicDirectory`'s history of adds and replacements.

use super::*;

/// One link's weight in the estimate: `len(name) + len(cid)` (boxo `productionLinkSize`) or
/// its serialized size inside a PBNode (boxo `linkSerializedSize`).
pub(super) fn link_weight(mode: SizeEstimation, name_len: usize, link: &Link) -> i64 {
    let cid_len = link.cid.encoded_len();
    let weight = match mode {
        SizeEstimation::Links => name_len + cid_len,
        SizeEstimation::Block => bytes_field_len(
            bytes_field_len(cid_len) + bytes_field_len(name_len) + varint_field_len(link.tsize),
        ),
    };
    weight as i64
}

/// What `HAMTDirectory.sizeChange` counts, whatever the estimation mode: always link units.
pub(super) fn link_units(name_len: usize, link: &Link) -> i64 {
    (name_len + link.cid.encoded_len()) as i64
}

/// The Data field's share of a plain directory's block (boxo `dataFieldSerializedSize`),
/// counted only by the `block` estimation.
pub(super) fn data_field_weight(mode: SizeEstimation, metadata: &Metadata) -> i64 {
    match mode {
        SizeEstimation::Links => 0,
        SizeEstimation::Block => {
            bytes_field_len(directory_data(DataType::Directory, metadata).encoded_len()) as i64
        }
    }
}

/// boxo's running state of a `DynamicDirectory` being filled: which form it has now and the
/// counters its next decision reads.
pub(super) struct DynamicSize {
    mode: SizeEstimation,
    threshold: i64,
    max_links: usize,
    prefix_len: usize,
    /// The Data field's weight (0 for `links`).
    base: i64,
    /// Sum of the weights of the current entries, unprefixed names.
    weights: i64,
    /// Entries so far.
    total: usize,
    /// `None` while plain; `Some(HAMTDirectory.sizeChange)` once sharded.
    hamt_size_change: Option<i64>,
}

impl DynamicSize {
    pub(super) fn new(params: &ImportParams, prefix_len: usize, metadata: &Metadata) -> Self {
        DynamicSize {
            mode: params.size_estimation,
            threshold: i64::try_from(params.hamt_threshold).unwrap_or(i64::MAX),
            max_links: params.max_directory_links,
            prefix_len,
            base: data_field_weight(params.size_estimation, metadata),
            weights: 0,
            total: 0,
            hamt_size_change: None,
        }
    }

    /// One `DynamicDirectory.AddChild(name, new)`, replacing `old` when the name exists.
    pub(super) fn add_child(
        &mut self,
        name_len: usize,
        old: Option<&Link>,
        new: &Link,
    ) -> Result<(), AddError> {
        let new_weight = link_weight(self.mode, name_len, new);
        let old_weight = old.map_or(0, |old| link_weight(self.mode, name_len, old));
        let grows = old.is_none();
        match self.hamt_size_change {
            None => {
                // BasicDirectory.needsToSwitchToHAMTDir: `>` against the threshold, or one link
                // past the limit; a zero threshold disables both.
                let over_links = grows && self.max_links > 0 && self.total + 1 > self.max_links;
                let estimate = self.base + self.weights - old_weight + new_weight;
                if self.threshold != 0 && (estimate > self.threshold || over_links) {
                    // switchToSharding starts sizeChange at 0, then HAMTDirectory.AddChild.
                    self.hamt_size_change = Some(self.hamt_swap(0, name_len, old, new));
                } else if over_links {
                    return Err(too_many_links(self.max_links));
                }
            }
            Some(size_change) => {
                // HAMTDirectory.needsToSwitchToBasicDir: the old link is weighed with its slot
                // prefix (as stored in the shard), the new one without a name (`MakeLink`).
                let new_total = self.total + usize::from(grows);
                let links_allow = !(self.max_links > 0 && new_total > self.max_links);
                let change = link_weight(self.mode, 0, new)
                    - old.map_or(0, |old| {
                        link_weight(self.mode, self.prefix_len + name_len, old)
                    });
                let below = self.threshold != 0
                    && size_change + change < 0
                    && self.base + self.weights + change <= self.threshold;
                if below && links_allow {
                    self.hamt_size_change = None;
                } else {
                    self.hamt_size_change = Some(self.hamt_swap(size_change, name_len, old, new));
                }
            }
        }
        self.weights += new_weight - old_weight;
        self.total += usize::from(grows);
        Ok(())
    }

    /// `HAMTDirectory.AddChild`'s sizeChange bookkeeping: the swapped-out link still has its
    /// slot prefix, the new one is counted by its plain name.
    fn hamt_swap(&self, size_change: i64, name_len: usize, old: Option<&Link>, new: &Link) -> i64 {
        let removed = old.map_or(0, |old| link_units(self.prefix_len + name_len, old));
        size_change - removed + link_units(name_len, new)
    }

    pub(super) fn is_sharded(&self) -> bool {
        self.hamt_size_change.is_some()
    }
}

pub(super) fn too_many_links(max: usize) -> AddError {
    AddError::InvalidInput(format!(
        "directory would have more than {max} links and sharding is disabled"
    ))
}
