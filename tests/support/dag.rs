//! Building DAGs and CAR files for tests, with cairn's own codecs (which their unit tests
//! check against known vectors): multi-block files, wide directories, CARv2 wrappers.

#![allow(dead_code)]

use cairn::ipld::car;
use cairn::ipld::dagpb::{self, PbLinkRef};
use cairn::ipld::unixfs::{DataType, UnixFsData};
use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};

pub fn raw_cid(data: &[u8]) -> Cid {
    Cid::new_v1(0x55, Code::Sha2_256.digest(data))
}

pub fn pb_cid(block: &[u8]) -> Cid {
    Cid::new_v1(0x70, Code::Sha2_256.digest(block))
}

/// Blocks on their way into a CAR.
#[derive(Default)]
pub struct Blocks(pub Vec<(Cid, Vec<u8>)>);

impl Blocks {
    pub fn add(&mut self, cid: Cid, data: Vec<u8>) -> Cid {
        self.0.push((cid, data));
        cid
    }

    /// A file of `size` deterministic bytes in raw leaves of `chunk` bytes under one dag-pb
    /// root. Returns the root and the content.
    pub fn file(&mut self, size: usize, chunk: usize) -> (Cid, Vec<u8>) {
        let content: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mut links = Vec::new();
        let mut sizes = Vec::new();
        for piece in content.chunks(chunk) {
            links.push(self.add(raw_cid(piece), piece.to_vec()));
            sizes.push(piece.len() as u64);
        }
        let mut data = UnixFsData::new(DataType::File);
        data.filesize = Some(size as u64);
        data.blocksizes = sizes.iter().copied().collect();
        let refs: Vec<PbLinkRef<'_>> = links
            .iter()
            .zip(&sizes)
            .map(|(cid, size)| PbLinkRef {
                cid,
                name: Some(""),
                tsize: Some(*size),
            })
            .collect();
        let block = dagpb::encode(&refs, Some(&data.encode()));
        (self.add(pb_cid(&block), block), content)
    }

    /// A plain directory over `(name, cid, tsize)` entries (sorted here).
    pub fn directory(&mut self, mut entries: Vec<(String, Cid, u64)>) -> Cid {
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let refs: Vec<PbLinkRef<'_>> = entries
            .iter()
            .map(|(name, cid, tsize)| PbLinkRef {
                cid,
                name: Some(name),
                tsize: Some(*tsize),
            })
            .collect();
        let block = dagpb::encode(&refs, Some(&UnixFsData::new(DataType::Directory).encode()));
        self.add(pb_cid(&block), block)
    }

    /// A CARv1 holding every block added so far.
    pub fn car(&self, root: &Cid) -> Vec<u8> {
        let mut out = car::v1_header(std::slice::from_ref(root));
        for (cid, data) in &self.0 {
            car::section_prefix(cid, data.len(), &mut out);
            out.extend_from_slice(data);
        }
        out
    }
}

/// Wraps a CARv1 in a CARv2 container (no index), with `padding` bytes before the payload.
pub fn carv2(v1: &[u8], padding: usize) -> Vec<u8> {
    let mut out = car::CARV2_PRAGMA.to_vec();
    let data_offset = (car::CARV2_PRAGMA.len() + 40 + padding) as u64;
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data_offset.to_le_bytes());
    out.extend_from_slice(&(v1.len() as u64).to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend(std::iter::repeat_n(0u8, padding));
    out.extend_from_slice(v1);
    out
}
