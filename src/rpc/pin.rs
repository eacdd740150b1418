//! `pin/add`, `pin/ls`, `pin/rm`, `pin/update` (Kubo's `core/commands/pin/pin.go`) over the
//! node's pinset — the one the gateway and the Cluster API use — and its pinning service,
//! which fetches what a pin needs over Bitswap (and any remote backends) before the pin is
//! recorded. CIDs are reported in the form they were given (`Qm…` stays `Qm…`).
//!
//! Differences from Kubo: a pin is keyed by its CIDv1, so `Qm…` and its `bafy…` are one pin
//! (Kubo keeps two); `indirect` pins are found by walking the recursive pins' DAGs in the
//! store when listed.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use cid::Cid;
use multihash::Multihash;
use serde::Serialize;

use super::args::Args;
use super::reply::{self, Emitter, Failure};
use super::RpcApi;
use crate::http::go_json::to_go_json;
use crate::http::Response;
use crate::services::pinning::WalkProgress;
use crate::services::pins::{Pin, PinMode, Pinset};
use crate::services::{gc, InPlace};
use crate::store::Blockstore;

/// How often `pin/add --progress` reports (Kubo's ticker).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// Bytes of `pin/ls` lines gathered before they are sent.
const LS_CHUNK: usize = 32 << 10;
/// Longest pin name Kubo accepts (`cmdutils.ValidatePinName`).
const MAX_PIN_NAME: usize = 255;

#[derive(Serialize, Default)]
struct AddPinOutput {
    #[serde(rename = "Pins", skip_serializing_if = "Option::is_none")]
    pins: Option<Vec<String>>,
    #[serde(rename = "Progress", skip_serializing_if = "is_zero")]
    progress: u64,
    #[serde(rename = "Bytes", skip_serializing_if = "is_zero")]
    bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct PinOutput {
    #[serde(rename = "Pins")]
    pins: Vec<String>,
}

/// One pin in a streamed `pin/ls`.
#[derive(Serialize)]
struct PinLsObject<'a> {
    #[serde(rename = "Cid", skip_serializing_if = "str::is_empty")]
    cid: &'a str,
    #[serde(rename = "Name", skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "Type", skip_serializing_if = "str::is_empty")]
    kind: &'a str,
}

/// One pin in an unstreamed `pin/ls` (`{"Keys":{cid:{…}}}`).
#[derive(Serialize)]
struct PinLsType {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Serialize)]
struct PinLsList {
    #[serde(rename = "Keys", skip_serializing_if = "BTreeMap::is_empty")]
    keys: BTreeMap<String, PinLsType>,
}

/// Which pins `pin/ls` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Direct,
    Recursive,
    Indirect,
    All,
}

impl Listed {
    fn parse(text: &str) -> Result<Listed, Failure> {
        Ok(match text {
            "direct" => Listed::Direct,
            "recursive" => Listed::Recursive,
            "indirect" => Listed::Indirect,
            "all" => Listed::All,
            other => {
                return Err(Failure::command(format!(
                    "invalid type '{other}', must be one of {{direct, indirect, recursive, all}}"
                )))
            }
        })
    }

    fn direct(self) -> bool {
        matches!(self, Listed::Direct | Listed::All)
    }

    fn recursive(self) -> bool {
        matches!(self, Listed::Recursive | Listed::All)
    }

    fn indirect(self) -> bool {
        matches!(self, Listed::Indirect | Listed::All)
    }
}

fn mode_name(mode: PinMode) -> &'static str {
    match mode {
        PinMode::Recursive => "recursive",
        PinMode::Direct => "direct",
    }
}

fn validate_name(name: &str) -> Result<(), Failure> {
    if name.len() > MAX_PIN_NAME {
        return Err(Failure::command(format!(
            "pin name is {} bytes (max {MAX_PIN_NAME})",
            name.len()
        )));
    }
    Ok(())
}

impl RpcApi {
    /// `pin/add`: fetches each DAG (only the root with `recursive=false`) and pins it. With
    /// `progress=true`, `{"Progress","Bytes"}` every 500 ms while it works, then `{"Pins"}`.
    pub(super) async fn pin_add(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let paths = args.required_all("ipfs-path")?.to_vec();
        let recursive = args.bool(&["recursive", "r"], true)?;
        let name = args.string(&["name", "n"]).map(str::to_owned);
        if let Some(name) = &name {
            validate_name(name)?;
        }
        if !args.bool(&["progress"], false)? {
            let pins = self.add_pins(&paths, recursive, name, None).await?;
            return reply::single(&AddPinOutput {
                pins: Some(pins),
                ..AddPinOutput::default()
            });
        }
        let this = self.clone();
        Ok(reply::stream(args.trailers(), move |out| async move {
            let counted = Arc::new(WalkProgress::default());
            let work = this.add_pins(&paths, recursive, name, Some(Arc::clone(&counted)));
            tokio::pin!(work);
            let start = tokio::time::Instant::now() + PROGRESS_INTERVAL;
            let mut tick = tokio::time::interval_at(start, PROGRESS_INTERVAL);
            let progress = |counted: &WalkProgress| AddPinOutput {
                pins: None,
                progress: counted.blocks(),
                bytes: counted.bytes(),
            };
            loop {
                tokio::select! {
                    pins = &mut work => {
                        let pins = pins?;
                        if counted.blocks() != 0 {
                            out.emit(&progress(&counted)).await;
                        }
                        out.emit(&AddPinOutput { pins: Some(pins), ..AddPinOutput::default() })
                            .await;
                        return Ok(());
                    }
                    _ = tick.tick() => {
                        if !out.emit(&progress(&counted)).await {
                            // The client went away: so does the request (the fetch job
                            // carries on; nothing is pinned).
                            return Ok(());
                        }
                    }
                }
            }
        })
        .await)
    }

    /// Resolves, fetches and pins each path in turn; the CIDs pinned, as given.
    async fn add_pins(
        &self,
        paths: &[String],
        recursive: bool,
        name: Option<String>,
        progress: Option<Arc<WalkProgress>>,
    ) -> Result<Vec<String>, Failure> {
        let mut added = Vec::with_capacity(paths.len());
        for path in paths {
            let cid = self.resolve_path(path).await?;
            if !recursive {
                if let Some(pin) = self.on_pins(move |pins| Ok(pins.get(&cid)?)).await? {
                    if pin.mode == PinMode::Recursive {
                        return Err(Failure::command(format!(
                            "pin: {cid} already pinned recursively"
                        )));
                    }
                }
            }
            // GC stays off the fetched blocks until the pin is on disk.
            let lease = self.write_lease().await?;
            self.pinning
                .keep_counting(cid, recursive, progress.clone())
                .await?;
            let name = name.clone();
            self.on_pins(move |pins| {
                let mut pin = pins.get(&cid)?.unwrap_or_else(|| {
                    let mut pin = Pin::recursive(&cid);
                    pin.mode = PinMode::Direct;
                    pin
                });
                pin.cid = cid.to_string();
                if recursive {
                    pin.mode = PinMode::Recursive;
                }
                if let Some(name) = name {
                    pin.name = name;
                }
                pins.add(&pin)?;
                Ok(())
            })
            .await?;
            drop(lease);
            added.push(cid.to_string());
        }
        Ok(added)
    }

    /// `pin/rm`: removes each pin (a recursive one only with `recursive=true`, the default).
    pub(super) async fn pin_rm(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let paths = args.required_all("ipfs-path")?;
        let recursive = args.bool(&["recursive", "r"], true)?;
        let mut removed = Vec::with_capacity(paths.len());
        for path in paths {
            let cid = self.resolve_path(path).await?;
            self.on_pins(move |pins| match pins.get(&cid)? {
                None => Err(Failure::command("not pinned or pinned indirectly")),
                Some(pin) if pin.mode == PinMode::Recursive && !recursive => {
                    Err(Failure::command(format!("{cid} is pinned recursively")))
                }
                Some(_) => {
                    pins.remove(&cid)?;
                    Ok(())
                }
            })
            .await?;
            removed.push(cid.to_string());
        }
        reply::single(&PinOutput { pins: removed })
    }

    /// `pin/update`: pins `to` (fetching it) in place of the recursive pin `from`, keeping
    /// `from` too with `unpin=false`.
    pub(super) async fn pin_update(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let from_path = args.required("from-path")?;
        let to_path = args
            .all()
            .get(1)
            .ok_or_else(|| Failure::request("argument \"to-path\" is required"))?;
        let unpin = args.bool(&["unpin"], true)?;
        let from = self.resolve_path(from_path).await?;
        let to = self.resolve_path(to_path).await?;
        let old = self.on_pins(move |pins| Ok(pins.get(&from)?)).await?;
        let old = match old {
            Some(pin) if pin.mode == PinMode::Recursive => pin,
            _ => {
                return Err(Failure::command(
                    "'from' cid was not recursively pinned already",
                ))
            }
        };
        if from.hash() != to.hash() {
            let existing = self.on_pins(move |pins| Ok(pins.get(&to)?)).await?;
            if existing.is_some_and(|pin| pin.mode == PinMode::Recursive) {
                return Err(Failure::command("'to' cid was already recursively pinned"));
            }
        }
        let lease = self.write_lease().await?;
        self.pinning.keep(to, true).await?;
        self.on_pins(move |pins| {
            let mut pin = Pin::recursive(&to);
            pin.name = old.name;
            pins.add(&pin)?;
            if unpin && from.hash() != to.hash() {
                pins.remove(&from)?;
            }
            Ok(())
        })
        .await?;
        drop(lease);
        reply::single(&PinOutput {
            pins: vec![from.to_string(), to.to_string()],
        })
    }

    /// `pin/ls`: the pins of a type (all by default), or whether each path given is pinned;
    /// a stream of `{"Cid","Type"}` with `stream=true`, else one `{"Keys":{…}}`.
    pub(super) async fn pin_ls(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let listed = Listed::parse(args.string(&["type", "t"]).unwrap_or("all"))?;
        let stream = args.bool(&["stream", "s"], false)?;
        let name_filter = args.string(&["name", "n"]).unwrap_or("").to_owned();
        validate_name(&name_filter)?;
        let names = args.bool(&["names"], false)? || !name_filter.is_empty();
        args.bool(&["quiet", "q"], false)?;
        let paths = args.all().to_vec();
        let (store, pins) = (Arc::clone(&self.store), Arc::clone(&self.pins));
        if !paths.is_empty() {
            let mut found = Vec::with_capacity(paths.len());
            for path in &paths {
                let cid = self.resolve_path(path).await?;
                let (store, pins) = (Arc::clone(&store), Arc::clone(&pins));
                let kind =
                    tokio::task::spawn_blocking(move || pin_type(&store, &pins, &cid, listed))
                        .await
                        .map_err(|e| Failure::command(e.to_string()))??;
                let Some((kind, name)) = kind else {
                    return Err(Failure::command(format!("path '{path}' is not pinned")));
                };
                found.push((
                    cid.to_string(),
                    kind,
                    if names { name } else { String::new() },
                ));
            }
            if !stream {
                let keys = found
                    .into_iter()
                    .map(|(cid, kind, name)| (cid, PinLsType { kind, name }))
                    .collect();
                return reply::single(&PinLsList { keys });
            }
            return Ok(reply::stream(args.trailers(), move |out| async move {
                for (cid, kind, name) in &found {
                    let line = PinLsObject { cid, name, kind };
                    if !out.emit(&line).await {
                        break;
                    }
                }
                Ok(())
            })
            .await);
        }
        if !stream {
            let keys = tokio::task::spawn_blocking(move || {
                let mut keys = BTreeMap::new();
                list_pins(
                    &store,
                    &pins,
                    listed,
                    names,
                    &name_filter,
                    &mut |cid, kind, name| {
                        keys.insert(
                            cid.to_owned(),
                            PinLsType {
                                kind: kind.to_owned(),
                                name: name.to_owned(),
                            },
                        );
                        true
                    },
                )?;
                Ok::<_, Failure>(keys)
            })
            .await
            .map_err(|e| Failure::command(e.to_string()))??;
            return reply::single(&PinLsList { keys });
        }
        Ok(
            reply::stream(args.trailers(), move |out: Emitter| async move {
                tokio::task::spawn_blocking(move || {
                    let mut chunk = Vec::with_capacity(LS_CHUNK + 256);
                    let mut open = true;
                    list_pins(
                        &store,
                        &pins,
                        listed,
                        names,
                        &name_filter,
                        &mut |cid, kind, name| {
                            let line = PinLsObject { cid, name, kind };
                            if let Ok(json) = to_go_json(&line) {
                                chunk.extend_from_slice(&json);
                            }
                            if chunk.len() >= LS_CHUNK {
                                open = out.blocking_send(std::mem::take(&mut chunk));
                                chunk.reserve(LS_CHUNK + 256);
                            }
                            open
                        },
                    )?;
                    if open && !chunk.is_empty() {
                        out.blocking_send(chunk);
                    }
                    Ok(())
                })
                .await
                .map_err(|e| Failure::command(e.to_string()))?
            })
            .await,
        )
    }

    /// Pinset work (file writes and fsyncs) on the blocking pool.
    async fn on_pins<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Pinset) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        let pins = Arc::clone(&self.pins);
        tokio::task::spawn_blocking(move || op(&pins))
            .await
            .map_err(|e| Failure::command(e.to_string()))?
    }

    /// The store's write lease (GC waits while it is held), taken off the async workers: it
    /// waits for a collection in progress.
    pub(super) async fn write_lease(&self) -> Result<crate::store::GcLock, Failure> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.write_lease())
            .await
            .map_err(|e| Failure::command(e.to_string()))?
            .map_err(Failure::from)
    }
}

/// How `cid` is pinned, among the types `listed` asks about: the type's text (`indirect
/// through <root>` for a block a recursive pin reaches) and the pin's name.
fn pin_type(
    store: &Blockstore,
    pins: &Pinset,
    cid: &Cid,
    listed: Listed,
) -> Result<Option<(String, String)>, Failure> {
    if let Some(pin) = pins.get(cid)? {
        let wanted = match pin.mode {
            PinMode::Recursive => listed.recursive(),
            PinMode::Direct => listed.direct(),
        };
        if wanted {
            return Ok(Some((mode_name(pin.mode).to_owned(), pin.name)));
        }
    }
    if !listed.indirect() {
        return Ok(None);
    }
    let mut roots = Vec::new();
    pins.each(|pin| {
        if pin.mode == PinMode::Recursive {
            roots.push(pin);
        }
        true
    })?;
    let mut seen: HashSet<Multihash<64>> = HashSet::new();
    for pin in roots {
        let Ok(root) = pin.root() else { continue };
        if root.hash() == cid.hash() {
            continue;
        }
        let mut reached = false;
        crate::services::in_place(gc::walk_dag(&InPlace(store), root, &mut seen, &mut |c| {
            reached |= c.hash() == cid.hash()
        }))?;
        if reached {
            return Ok(Some((
                format!("indirect through {}", pin.cid),
                String::new(),
            )));
        }
    }
    Ok(None)
}

/// Calls `emit(cid, type, name)` for every pin `listed` asks for (recursive ones, then direct
/// ones, then the blocks recursive pins reach, each once), until it returns false. Names are
/// given only with `names`; `name_filter` keeps the pins whose name contains it.
fn list_pins(
    store: &Blockstore,
    pins: &Pinset,
    listed: Listed,
    names: bool,
    name_filter: &str,
    emit: &mut dyn FnMut(&str, &str, &str) -> bool,
) -> Result<(), Failure> {
    let mut roots: Vec<Cid> = Vec::new();
    let mut direct: Vec<Pin> = Vec::new();
    let mut open = true;
    pins.each(|pin| {
        if pin.mode == PinMode::Recursive && listed.indirect() {
            if let Ok(root) = pin.root() {
                roots.push(root);
            }
        }
        if !name_filter.is_empty() && !pin.name.contains(name_filter) {
            return true;
        }
        match pin.mode {
            PinMode::Recursive if listed.recursive() => {
                let name = if names { pin.name.as_str() } else { "" };
                open = emit(&pin.cid, "recursive", name);
            }
            // Direct pins come after the recursive ones, as in Kubo.
            PinMode::Direct if listed.direct() => direct.push(pin),
            _ => {}
        }
        open
    })?;
    for pin in &direct {
        if !open {
            return Ok(());
        }
        let name = if names { pin.name.as_str() } else { "" };
        open = emit(&pin.cid, "direct", name);
    }
    // Indirect pins have no names: a name filter leaves none.
    if !open || !listed.indirect() || !name_filter.is_empty() {
        return Ok(());
    }
    let mut seen: HashSet<Multihash<64>> = roots.iter().map(|r| *r.hash()).collect();
    for root in roots {
        let mut children = Vec::new();
        // The root is in `seen` already; walk from its links.
        seen.remove(root.hash());
        crate::services::in_place(gc::walk_dag(&InPlace(store), root, &mut seen, &mut |cid| {
            children.push(*cid)
        }))?;
        for cid in children.iter().skip(1) {
            if !emit(&cid.to_string(), "indirect", "") {
                return Ok(());
            }
        }
    }
    Ok(())
}
