//! Reading what the gateway's export formats put on the wire, for tests: CARv1 streams (with
//! cairn's own push decoder, whose unit tests check it against the spec's vectors) and TAR
//! archives (a small USTAR/PAX reader written here, independent of the archive writer under
//! test). Included with `#[path = "support/formats.rs"] mod formats;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use cairn::ipld::car::{CarDecoder, CarEvent, CarLimits};
use cid::Cid;

/// A decoded CARv1: the header's roots and every section, in stream order.
#[derive(Debug)]
pub struct Car {
    pub version: u8,
    pub roots: Vec<Cid>,
    pub blocks: Vec<(Cid, Bytes)>,
}

impl Car {
    /// The block CIDs in stream order, as the CAR writes them (a CIDv0 stays `Qm…`).
    pub fn cids(&self) -> Vec<String> {
        self.blocks.iter().map(|(cid, _)| cid.to_string()).collect()
    }
}

/// Decodes a whole CAR body; `Err` when it is malformed or truncated.
pub fn try_decode_car(body: &[u8]) -> Result<Car, String> {
    let mut decoder = CarDecoder::new(CarLimits::default());
    decoder.push(Bytes::copy_from_slice(body));
    decoder.finish();
    let mut car = Car {
        version: 0,
        roots: Vec::new(),
        blocks: Vec::new(),
    };
    loop {
        match decoder.next() {
            Ok(Some(CarEvent::Header { version, roots })) => {
                car.version = version;
                car.roots = roots;
            }
            Ok(Some(CarEvent::Block { cid, data })) => car.blocks.push((cid, data)),
            Ok(None) => return Ok(car),
            Err(e) => return Err(format!("{e}")),
        }
    }
}

/// Decodes a whole CAR body, panicking with `what` when it is not a complete CARv1.
pub fn decode_car(body: &[u8], what: &str) -> Car {
    let car = try_decode_car(body).unwrap_or_else(|e| panic!("{what}: not a valid CAR: {e}"));
    assert_eq!(car.version, 1, "{what}: CAR version");
    car
}

/// The blocks of a fixture CAR (path relative to the fixtures directory), by CID text.
pub fn fixture_blocks(relative: &str) -> HashMap<String, Bytes> {
    let path = super_fixtures().join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    decode_car(&bytes, relative)
        .blocks
        .into_iter()
        .map(|(cid, data)| (cid.to_string(), data))
        .collect()
}

fn super_fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway-conformance")
}

/// One TAR entry, with the PAX records that preceded it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub name: String,
    /// The typeflag: `b'0'` file, `b'2'` symlink, `b'5'` directory.
    pub kind: u8,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub link: String,
    pub data: Vec<u8>,
}

const BLOCK: usize = 512;

/// Reads a whole TAR archive: USTAR headers (checksums verified, `prefix` joined to `name`),
/// PAX extended headers (`x`: `path`, `linkpath`, `size`, `mtime`; `g` skipped) and the
/// two-zero-block end marker, which must be present.
pub fn read_tar(archive: &[u8]) -> Result<Vec<TarEntry>, String> {
    let mut entries = Vec::new();
    let mut pax: HashMap<String, String> = HashMap::new();
    let mut at = 0;
    loop {
        let header = archive
            .get(at..at + BLOCK)
            .ok_or_else(|| format!("archive ends at byte {at} without the end marker"))?;
        if header.iter().all(|&b| b == 0) {
            let next = archive
                .get(at + BLOCK..at + 2 * BLOCK)
                .ok_or("only one zero block at the end")?;
            if !next.iter().all(|&b| b == 0) {
                return Err(format!("a lone zero block at byte {at}"));
            }
            return Ok(entries);
        }
        let stored = octal(&header[148..156])?;
        let sum: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if stored != sum {
            return Err(format!("bad header checksum at byte {at}"));
        }
        if &header[257..263] != b"ustar\0" {
            return Err(format!("not a USTAR header at byte {at}"));
        }
        let kind = header[156];
        let mut size = octal(&header[124..136])?;
        if let Some(s) = pax.get("size") {
            size = s.parse().map_err(|_| format!("bad PAX size {s:?}"))?;
        }
        let data_start = at + BLOCK;
        let data = archive
            .get(data_start..data_start + size as usize)
            .ok_or_else(|| format!("entry data truncated at byte {data_start}"))?;
        at = data_start + (size as usize).div_ceil(BLOCK) * BLOCK;
        match kind {
            b'x' => {
                pax = parse_pax(data)?;
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        let mut name = text(&header[0..100]);
        let prefix = text(&header[345..500]);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        let mut mtime = octal(&header[136..148])? as i64;
        if let Some(t) = pax.get("mtime") {
            let whole = t.split('.').next().unwrap_or(t);
            mtime = whole.parse().map_err(|_| format!("bad PAX mtime {t:?}"))?;
        }
        entries.push(TarEntry {
            name: pax.remove("path").unwrap_or(name),
            kind,
            size,
            mode: octal(&header[100..108])? as u32,
            mtime,
            link: pax
                .remove("linkpath")
                .unwrap_or_else(|| text(&header[157..257])),
            data: data.to_vec(),
        });
        pax.clear();
    }
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn octal(field: &[u8]) -> Result<u64, String> {
    let digits = text(field);
    let digits = digits.trim_matches(|c| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8).map_err(|_| format!("bad octal field {digits:?}"))
}

/// PAX records: `"<len> <key>=<value>\n"`, `len` counting the whole record.
fn parse_pax(mut data: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut records = HashMap::new();
    while !data.is_empty() {
        let space = data
            .iter()
            .position(|&b| b == b' ')
            .ok_or("PAX record without a length")?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad PAX record length")?;
        let record = data.get(space + 1..len).ok_or("PAX record truncated")?;
        let record = record
            .strip_suffix(b"\n")
            .ok_or("PAX record without newline")?;
        let record = std::str::from_utf8(record).map_err(|_| "PAX record not UTF-8")?;
        let (key, value) = record.split_once('=').ok_or("PAX record without '='")?;
        records.insert(key.to_owned(), value.to_owned());
        data = &data[len..];
    }
    Ok(records)
}
