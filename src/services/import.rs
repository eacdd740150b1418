//! Importing CAR files (v1 and v2) into the store: every block is hash-checked on its way in
//! (by the store), and a malformed stream stops the import with a message naming what was
//! wrong and where. Blocks already written before the fault are valid blocks; nothing corrupt
//! is ever stored.

use std::io::Read;

use bytes::BytesMut;
use cid::Cid;

use super::{Error, Result};
use crate::ipld::car::{CarDecoder, CarEvent, CarLimits};
use crate::store::Blockstore;

/// Size of each read from the source.
const READ_CHUNK: usize = 256 << 10;

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct CarImport {
    pub roots: Vec<Cid>,
    /// Blocks in the CAR.
    pub blocks: u64,
    /// Blocks that were not stored before.
    pub new_blocks: u64,
    /// Bytes of block data in the CAR.
    pub block_bytes: u64,
}

/// Streams a CAR from `source` into `store`, then makes the new blocks durable.
pub fn import_car(store: &Blockstore, mut source: impl Read) -> Result<CarImport> {
    let mut decoder = CarDecoder::new(CarLimits::default());
    let mut report = CarImport::default();
    let mut eof = false;
    loop {
        match decoder.next()? {
            Some(CarEvent::Header { roots, .. }) => report.roots = roots,
            Some(CarEvent::Block { cid, data }) => {
                report.blocks += 1;
                report.block_bytes += data.len() as u64;
                let new = store.put(&cid, &data).map_err(|e| match e {
                    // The disk failing is ours to report as such; anything else is the CAR's.
                    crate::store::Error::Io { .. } => Error::Store(e),
                    e => Error::InvalidInput(format!(
                        "block {} of the CAR (before byte {}): {e}",
                        report.blocks,
                        decoder.offset()
                    )),
                })?;
                report.new_blocks += u64::from(new);
            }
            None if eof => break,
            None => {
                let mut buf = BytesMut::zeroed(READ_CHUNK);
                let n = read_some(&mut source, &mut buf)?;
                if n == 0 {
                    eof = true;
                    decoder.finish();
                } else {
                    buf.truncate(n);
                    decoder.push(buf.freeze());
                }
            }
        }
    }
    store.sync()?;
    Ok(report)
}

fn read_some(source: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    loop {
        match source.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::InvalidInput(format!("reading the CAR: {e}"))),
        }
    }
}
