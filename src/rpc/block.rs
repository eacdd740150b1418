//! `block/put`, `block/get`, `block/stat` (Kubo's `core/commands/block.go`).
//!
//! `block/put` is how ipfs-cluster-service adds content: every block of a DAG in one chunked
//! multipart body, one part per block, each answered by a `{"Key","Size"}` line. The body is
//! read as it arrives; the blocks are hashed under the CID prefix the options give
//! (`cid-codec`, `mhtype`, `mhlen`, or the legacy `format`) and written through a store write
//! batch on a thread of their own. A line goes out once its block is durable: blocks are
//! committed together (up to [`COMMIT_BLOCKS`] or [`COMMIT_BYTES`]), and sooner whenever the
//! body pauses, so lines never wait long behind a slow sender. The store keys blocks by
//! multihash, so a dag-pb block the cluster sends as `cid-codec=raw` is found under its dag-pb
//! CID too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cid::Cid;
use http::header::{self, HeaderValue};
use http::Request;
use hyper::body::Incoming;
use serde::Serialize;
use tokio::sync::mpsc;

use super::args::Args;
use super::reply::{self, Emitter, Failure};
use super::RpcApi;
use crate::http::multipart::{Event, Limits, MultipartParser, PartKind};
use crate::http::upload::next_frame;
use crate::http::Response;
use crate::ipld::cid::codec;
use crate::services::add::file::{hash_code_for_name, multihash_of};
use crate::services::pins::{Pin, Pinset};
use crate::store::{Blockstore, MAX_BLOCK_SIZE};

/// Blocks committed together at most.
const COMMIT_BLOCKS: usize = 256;
/// Bytes committed together at most.
const COMMIT_BYTES: u64 = 32 << 20;
/// A body that sends nothing for this long has its pending blocks committed (and answered).
const IDLE_COMMIT: Duration = Duration::from_millis(20);
/// Kubo's limit without `allow-big-block` (`cmdutils.CheckBlockSize`): larger blocks cannot
/// be exchanged over Bitswap.
const SOFT_BLOCK_LIMIT: usize = 2 << 20;
/// Bytes after the multipart body's close delimiter read (and dropped) at most.
const MAX_EPILOGUE: usize = 64 << 10;
/// Blocks read but not yet written that the reader may be ahead of the writer.
const WRITE_QUEUE: usize = 64;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BlockStat {
    key: String,
    size: u64,
}

/// How a block's CID is made (go-cid's `Prefix`).
#[derive(Debug, Clone, Copy)]
struct Prefix {
    v0: bool,
    codec: u64,
    hash: u64,
    /// Digest length; -1 for the hash's own.
    length: i32,
}

impl Prefix {
    /// Kubo's option handling: `cid-codec` (default `raw`, CIDv1), or the legacy `format`
    /// (`v0`: CIDv0 dag-pb, `protobuf`, `cbor`, or a codec name), which must not be combined
    /// with a `cid-codec` other than `raw`; `mhtype` (default sha2-256) and `mhlen`.
    fn from_args(args: &Args<'_>) -> Result<Prefix, Failure> {
        let mhtype = args.string(&["mhtype"]).unwrap_or("sha2-256");
        let hash = hash_code_for_name(mhtype)
            .map_err(|_| Failure::command(format!("unrecognized multihash function: {mhtype}")))?;
        let length = args.int(&["mhlen"], -1)?;
        let cid_codec = args.string(&["cid-codec"]).unwrap_or("raw");
        let format = args.string(&["format", "f"]).unwrap_or("");
        let unknown = |name: &str| Failure::command(format!("unknown multicodec: {name:?}"));
        if format.is_empty() {
            let codec = codec::by_name(cid_codec).ok_or_else(|| unknown(cid_codec))?;
            return Ok(Prefix {
                v0: false,
                codec,
                hash,
                length,
            });
        }
        if cid_codec != "raw" {
            return Err(Failure::command(
                "unable to use \"format\" (deprecated) and a custom \"cid-codec\" at the same time",
            ));
        }
        let name = match format {
            "v0" | "protobuf" => "dag-pb",
            "cbor" => "dag-cbor",
            other => other,
        };
        let codec = codec::by_name(name).ok_or_else(|| unknown(name))?;
        let v0 = format == "v0";
        if v0 && (hash != 0x12 || !(length == -1 || length == 32)) {
            return Err(Failure::command("only sha2-255-32 is allowed with CIDv0"));
        }
        Ok(Prefix {
            v0,
            codec,
            hash,
            length,
        })
    }

    /// The CID of `data` under this prefix (go-multihash `Sum` with a length: the digest cut
    /// to it, never lengthened; an identity digest must be the data itself).
    fn cid(&self, data: &[u8]) -> Result<Cid, String> {
        let digest = multihash_of(self.hash, data).map_err(|e| e.to_string())?;
        let digest = match usize::try_from(self.length) {
            Err(_) => digest,
            Ok(length) if self.hash == 0x00 && length != data.len() => {
                return Err(format!(
                    "the length of the identity hash ({length}) must be equal to the length \
                     of the data ({})",
                    data.len()
                ))
            }
            Ok(length) if length > usize::from(digest.size()) => {
                return Err("invalid cid: requested length was too large for digest".into())
            }
            Ok(length) => digest.truncate(length as u8),
        };
        if self.v0 {
            Cid::new_v0(digest).map_err(|e| e.to_string())
        } else {
            Ok(Cid::new_v1(self.codec, digest))
        }
    }
}

/// What the body reader hands the writer.
enum Write {
    Block(Bytes),
    /// The body paused: commit what is pending.
    Flush,
    /// The body is unusable from here: commit what came before, then fail.
    Fail(String),
}

impl RpcApi {
    /// `block/put`: every part of the multipart body is a block.
    pub(super) async fn block_put(
        &self,
        args: &Args<'_>,
        request: Request<Incoming>,
    ) -> Result<Response, Failure> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let limits = Limits {
            // One part per block: a DAG of any size comes in one body.
            max_parts: usize::MAX,
            ..Limits::default()
        };
        let parser = match MultipartParser::from_content_type(content_type, limits) {
            Ok(parser) => parser,
            Err(_) => return Err(Failure::request("file argument 'data' is required")),
        };
        let pin = args.bool(&["pin"], false)?;
        let big = args.bool(&["allow-big-block"], false)?;
        let prefix = Prefix::from_args(args)?;
        // The writer holds a blocking thread while the body comes in: one upload slot.
        let client = crate::http::server::client_ip(request.extensions());
        let slot = self.options.uploads.admit(client).map_err(Failure::Http)?;
        let stall = self.options.body_timeout;
        let limit = if big {
            MAX_BLOCK_SIZE
        } else {
            SOFT_BLOCK_LIMIT
        };
        let (store, pins) = (Arc::clone(&self.store), Arc::clone(&self.pins));
        let lease = self.write_lease().await?;
        let body_done = Arc::new(AtomicBool::new(false));
        let reading = Arc::clone(&body_done);
        let body = request.into_body();
        let mut response = reply::stream(args.trailers(), move |out| async move {
            let (tx, rx) = mpsc::channel(WRITE_QUEUE);
            let writer = tokio::task::spawn_blocking(move || {
                let outcome = write_blocks(&store, &pins, prefix, pin, rx, &out);
                drop((lease, slot));
                outcome
            });
            let read = read_parts(body, parser, limit, stall, &tx).await;
            reading.store(true, Ordering::Relaxed);
            if let Err(message) = read {
                let _ = tx.send(Write::Fail(message)).await;
            }
            drop(tx);
            writer
                .await
                .map_err(|e| Failure::command(e.to_string()))?
                .map_err(Failure::command)
        })
        .await;
        if !body_done.load(Ordering::Relaxed) {
            // Answering before the request body is all read: the connection cannot be
            // reused (go-ipfs-cmds sets the same).
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Ok(response)
    }

    /// `block/get`: a block's bytes, from the store or the network.
    pub(super) async fn block_get(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let cid = self.resolve_path(args.required("cid")?).await?;
        let block = self.fetch(&cid).await?;
        Ok(reply::raw(block, "application/vnd.ipld.raw"))
    }

    /// `block/stat`: a block's CID (as given) and size.
    pub(super) async fn block_stat(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let cid = self.resolve_path(args.required("cid")?).await?;
        let block = self.fetch(&cid).await?;
        reply::single(&BlockStat {
            key: cid.to_string(),
            size: block.len() as u64,
        })
    }

    async fn fetch(&self, cid: &Cid) -> Result<Bytes, Failure> {
        let source = self.pinning.source();
        Ok(crate::services::fetch_within(&**source, cid, self.pinning.block_timeout()).await?)
    }
}

/// Reads the parts of the body, handing each whole block to the writer; commits are asked
/// for whenever the body pauses. An error is returned for the writer to report after the
/// blocks before it; a writer that stopped (it failed) stops the reading.
async fn read_parts(
    mut body: Incoming,
    mut parser: MultipartParser,
    limit: usize,
    stall: Option<Duration>,
    tx: &mpsc::Sender<Write>,
) -> Result<(), String> {
    let stalled = |e: crate::http::HttpError| e.message;
    let mut part: Option<BytesMut> = None;
    let mut unflushed = false;
    let mut ended = false;
    loop {
        // Every event the input so far gives.
        while let Some(event) = parser.next().map_err(|e| e.to_string())? {
            match event {
                Event::PartStart(headers) => {
                    if headers.kind() == PartKind::Directory {
                        return Err("expected a file".into());
                    }
                    part = Some(BytesMut::new());
                }
                Event::Data(data) => {
                    let block = part.get_or_insert_with(BytesMut::new);
                    if block.len() + data.len() > limit {
                        return Err(too_big(limit));
                    }
                    block.extend_from_slice(&data);
                }
                Event::PartEnd => {
                    let block = part.take().unwrap_or_default().freeze();
                    if tx.send(Write::Block(block)).await.is_err() {
                        return Ok(());
                    }
                    unflushed = true;
                }
            }
        }
        if parser.is_complete() {
            // Read what follows the close delimiter (an epilogue, the last CRLF) to the end:
            // a connection closed with request bytes unread is reset, and the client may lose
            // the end of the reply to the reset.
            let mut epilogue = 0usize;
            while !ended && epilogue <= MAX_EPILOGUE {
                match next_frame(&mut body, stall).await.map_err(stalled)? {
                    Some(frame) => {
                        epilogue += frame.data_ref().map_or(0, |d| d.len());
                    }
                    _ => ended = true,
                }
            }
            return Ok(());
        }
        if ended {
            return Err("the multipart body ended before its close delimiter".into());
        }
        let frame = if unflushed {
            match tokio::time::timeout(IDLE_COMMIT, next_frame(&mut body, stall)).await {
                Ok(frame) => frame,
                Err(_) => {
                    unflushed = false;
                    if tx.send(Write::Flush).await.is_err() {
                        return Ok(());
                    }
                    next_frame(&mut body, stall).await
                }
            }
        } else {
            next_frame(&mut body, stall).await
        };
        match frame.map_err(stalled)? {
            None => {
                // The last events (or the error of a truncated body) come from the parser.
                parser.finish();
                ended = true;
            }
            Some(frame) => {
                if let Ok(data) = frame.into_data() {
                    parser.push(data);
                }
            }
        }
    }
}

fn too_big(limit: usize) -> String {
    if limit == SOFT_BLOCK_LIMIT {
        "produced block is over 2MiB: big blocks can't be exchanged with other peers. consider \
         using UnixFS for automatic chunking of bigger files, or pass --allow-big-block to \
         override"
            .into()
    } else {
        format!("block is over the {limit}-byte limit of cairn's store")
    }
}

/// The writer: hashes each block, writes it through a batch, and after each commit pins the
/// committed blocks (with `pin`) and answers their lines, in order.
fn write_blocks(
    store: &Blockstore,
    pins: &Pinset,
    prefix: Prefix,
    pin: bool,
    mut rx: mpsc::Receiver<Write>,
    out: &Emitter,
) -> Result<(), String> {
    let mut batch = store.batch().with_limits(
        COMMIT_BLOCKS.saturating_mul(4),
        COMMIT_BYTES.saturating_mul(4),
    );
    let mut done: Vec<(Cid, u64)> = Vec::new();
    let mut pending_bytes = 0u64;
    let commit = |batch: &mut crate::store::WriteBatch<'_>,
                  done: &mut Vec<(Cid, u64)>|
     -> Result<bool, String> {
        batch.commit().map_err(|e| e.to_string())?;
        if pin {
            let new: Vec<Pin> = done.iter().map(|(cid, _)| Pin::recursive(cid)).collect();
            pins.add_all(&new).map_err(|e| e.to_string())?;
        }
        let mut lines = Vec::new();
        for (cid, size) in done.drain(..) {
            let stat = BlockStat {
                key: cid.to_string(),
                size,
            };
            lines.extend(crate::http::go_json::to_go_json(&stat).map_err(|e| e.to_string())?);
        }
        Ok(lines.is_empty() || out.blocking_send(lines))
    };
    while let Some(write) = rx.blocking_recv() {
        match write {
            Write::Block(data) => {
                let cid = match prefix.cid(&data) {
                    Ok(cid) => cid,
                    Err(e) => {
                        commit(&mut batch, &mut done)?;
                        return Err(e);
                    }
                };
                batch.put(&cid, &data).map_err(|e| e.to_string())?;
                pending_bytes += data.len() as u64;
                done.push((cid, data.len() as u64));
                if done.len() >= COMMIT_BLOCKS || pending_bytes >= COMMIT_BYTES {
                    pending_bytes = 0;
                    if !commit(&mut batch, &mut done)? {
                        return Ok(());
                    }
                }
            }
            Write::Flush => {
                pending_bytes = 0;
                if !commit(&mut batch, &mut done)? {
                    return Ok(());
                }
            }
            Write::Fail(message) => {
                commit(&mut batch, &mut done)?;
                return Err(message);
            }
        }
    }
    commit(&mut batch, &mut done)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(query: &str) -> Result<Prefix, Failure> {
        Prefix::from_args(&Args::parse(query, None))
    }

    /// Known answers from Kubo 0.43.1 (`ipfs block put` of `hello`).
    #[test]
    fn cids_are_kubos() {
        for (query, want) in [
            (
                "",
                "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
            ),
            (
                "cid-codec=dag-pb",
                "bafybeibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
            ),
            (
                "format=v0",
                "QmRN6wdp1S2A5EtjW9A3M1vKSBuQQGcgvuhoMUoEz4iiT5",
            ),
            (
                "format=v0&cid-codec=raw",
                "QmRN6wdp1S2A5EtjW9A3M1vKSBuQQGcgvuhoMUoEz4iiT5",
            ),
            (
                "format=cbor",
                "bafyreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
            ),
            (
                "cid-codec=dag-pb&mhlen=20",
                "bafybefbm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa",
            ),
            (
                "mhtype=blake3",
                "bafkr4ihkr4ld3m4gqkjf4reryxsy2s5tkbxprqkow6fin2iiyvreuzzab4",
            ),
            ("mhtype=identity", "bafkqablimvwgy3y"),
        ] {
            let cid = prefix(query).unwrap().cid(b"hello").unwrap();
            assert_eq!(cid.to_string(), want, "{query}");
        }
    }

    #[test]
    fn bad_prefixes_fail_with_kubos_words() {
        let message = |query: &str| prefix(query).unwrap_err().message().to_owned();
        assert_eq!(
            message("cid-codec=nosuch"),
            "unknown multicodec: \"nosuch\""
        );
        assert_eq!(
            message("mhtype=nosuch"),
            "unrecognized multihash function: nosuch"
        );
        assert!(message("format=v0&cid-codec=dag-cbor").contains("at the same time"));
        assert_eq!(
            message("mhlen=abc"),
            "could not convert value \"abc\" to type \"int\" (for option \"-mhlen\")"
        );
        assert_eq!(
            prefix("mhlen=64").unwrap().cid(b"hello").unwrap_err(),
            "invalid cid: requested length was too large for digest"
        );
    }
}
