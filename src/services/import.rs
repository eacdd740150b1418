//! Importing CAR files (v1 and v2) into the store: every block is hash-checked on its way in
//! (by the store), and a malformed stream stops the import with a message naming what was
//! wrong and where. Blocks go through a write batch, committed at the end: the valid blocks
//! before a fault are kept; nothing corrupt is ever stored. (A CAR streamed over HTTP is
//! all or nothing instead: see `services::ingest`.)

use std::io::Read;

use bytes::{Bytes, BytesMut};
use cid::Cid;

use super::{Error, Result};
use crate::ipld::car::{CarDecoder, CarEvent, CarLimits};
use crate::store::{Blockstore, WriteBatch};

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

/// Streams a CAR from `source` into `store` through one write batch, committed (durable and
/// visible) before this returns.
pub fn import_car(store: &Blockstore, mut source: impl Read) -> Result<CarImport> {
    let mut batch = store.batch();
    let mut car = CarWriter::new();
    let mut stream = || -> Result<()> {
        loop {
            let mut buf = BytesMut::zeroed(READ_CHUNK);
            let n = read_some(&mut source, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            buf.truncate(n);
            car.push(buf.freeze(), &mut batch)?;
        }
    };
    let streamed = stream();
    let report = streamed.and_then(|()| car.finish(&mut batch));
    // The valid blocks before a fault are kept, as a partial import always kept them: a
    // re-import of a repaired CAR then has less to write.
    batch.commit()?;
    report
}

/// A CAR being decoded into a write batch, fed in chunks of any size: what `cairn import`
/// and the streaming ingests (`/add?format=car`) share. Committing the batch is the
/// caller's, once it has everything it wants to acknowledge.
pub struct CarWriter {
    decoder: CarDecoder,
    report: CarImport,
}

impl Default for CarWriter {
    fn default() -> Self {
        CarWriter::new()
    }
}

impl CarWriter {
    pub fn new() -> Self {
        CarWriter {
            decoder: CarDecoder::new(CarLimits::default()),
            report: CarImport::default(),
        }
    }

    /// Decodes what `chunk` completes and writes its blocks to `batch`.
    pub fn push(&mut self, chunk: Bytes, batch: &mut WriteBatch<'_>) -> Result<()> {
        self.decoder.push(chunk);
        self.drain(batch)
    }

    /// Ends the stream: fails on a truncated CAR; returns what was imported.
    pub fn finish(mut self, batch: &mut WriteBatch<'_>) -> Result<CarImport> {
        self.decoder.finish();
        self.drain(batch)?;
        Ok(self.report)
    }

    fn drain(&mut self, batch: &mut WriteBatch<'_>) -> Result<()> {
        while let Some(event) = self.decoder.next()? {
            match event {
                CarEvent::Header { roots, .. } => self.report.roots = roots,
                CarEvent::Block { cid, data } => {
                    let report = &mut self.report;
                    report.blocks += 1;
                    report.block_bytes += data.len() as u64;
                    let new = batch.put(&cid, &data).map_err(|e| match e {
                        // The disk failing is ours to report as such; anything else is the CAR's.
                        crate::store::Error::Io { .. } => Error::Store(e),
                        e => Error::InvalidInput(format!(
                            "block {} of the CAR (before byte {}): {e}",
                            report.blocks,
                            self.decoder.offset()
                        )),
                    })?;
                    report.new_blocks += u64::from(new);
                }
            }
        }
        Ok(())
    }
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
