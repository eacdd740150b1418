//! Paths and names: how a command's `ipfs-path` argument becomes a CID (Kubo's
//! `cmdutils.PathOrCidPath` then `ResolvePath`: a bare CID, `/ipfs/<cid>[/…]`,
//! `/ipld/<cid>[/…]` or `/ipns/<name>[/…]`), and the `resolve` and `name/resolve` commands.
//! Blocks on the way come from the store or, failing that, the network.

use std::future::Future;

use cid::Cid;
use serde::Serialize;

use super::args::Args;
use super::reply::{self, Failure};
use super::RpcApi;
use crate::http::Response;
use crate::services::resolve::{locate_traced, Remainder};

#[derive(Serialize)]
struct PathOutput {
    #[serde(rename = "Path")]
    path: String,
}

impl RpcApi {
    /// The CID `text` names, in the form the path gave it (a CIDv0 stays `Qm…`) or, below
    /// the root, the form the DAG links with.
    pub(super) async fn resolve_path(&self, text: &str) -> Result<Cid, Failure> {
        if let Some(blocked) = self.options.denylist.check_path(text) {
            return Err(crate::store::Error::from(blocked).into());
        }
        let (root, segments) = self.split_path(text).await?;
        self.walk(root, &segments).await
    }

    /// A path's root (a name resolved) and the segments below it.
    async fn split_path(&self, text: &str) -> Result<(Cid, Vec<String>), Failure> {
        let invalid = |why: &str| Failure::command(format!("invalid path {text:?}: {why}"));
        let Some(rooted) = text.strip_prefix('/') else {
            // A bare CID is `/ipfs/<cid>`.
            let root = crate::ipld::cid::parse(text)
                .map_err(|_| invalid("path does not have enough components"))?;
            return Ok((root, Vec::new()));
        };
        let mut parts = rooted.split('/');
        let namespace = parts.next().unwrap_or("");
        let Some(id) = parts.next().filter(|id| !id.is_empty()) else {
            return Err(invalid("path does not have enough components"));
        };
        let rest = parts.filter(|s| !s.is_empty()).map(str::to_owned);
        match namespace {
            "ipfs" | "ipld" => {
                let root = crate::ipld::cid::parse(id).map_err(|e| invalid(&e.to_string()))?;
                Ok((root, rest.collect()))
            }
            "ipns" => {
                let resolution = self.names.resolve(id).await.map_err(Failure::from_names)?;
                let mut segments = resolution.segments;
                segments.extend(rest);
                Ok((resolution.root, segments))
            }
            other => Err(invalid(&format!("unknown namespace {other:?}"))),
        }
    }

    /// The CID `segments` lead to below `root`, fetching what is missing.
    async fn walk(&self, root: Cid, segments: &[String]) -> Result<Cid, Failure> {
        if segments.is_empty() {
            return Ok(root);
        }
        let source = self.pinning.source();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let located = self
            .within(locate_traced(
                &**source,
                root,
                &segments,
                Remainder::Refuse,
                &mut |_, _| {},
            ))
            .await??;
        Ok(located.cid)
    }

    /// `fut`, given up after the retrieval timeout (a path whose blocks nobody has would
    /// otherwise wait forever, as Kubo's does until the client hangs up).
    pub(super) async fn within<T>(&self, fut: impl Future<Output = T>) -> Result<T, Failure> {
        match self.pinning.block_timeout() {
            Some(limit) => tokio::time::timeout(limit, fut).await.map_err(|_| {
                Failure::command(format!("the blocks needed were not found within {limit:?}"))
            }),
            None => Ok(fut.await),
        }
    }

    /// `resolve`: the immutable path a path or name ends at.
    pub(super) async fn resolve(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let text = args.required("name")?;
        let cid = self.resolve_path(text).await?;
        reply::single(&PathOutput {
            path: format!("/ipfs/{cid}"),
        })
    }

    /// `name/resolve`: what an IPNS name (this node's own when none is given), a local key's
    /// name or a DNSLink domain points at, as `/ipfs/<cid>[/<path>]`.
    pub(super) async fn name_resolve(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let own = self.options.peer_id.to_base58();
        let name = args.all().first().map_or(own.as_str(), String::as_str);
        let name = name.strip_prefix("/ipns/").unwrap_or(name);
        let resolution = self
            .names
            .resolve(name)
            .await
            .map_err(Failure::from_names)?;
        let mut path = format!("/ipfs/{}", resolution.root);
        for segment in &resolution.segments {
            path.push('/');
            path.push_str(segment);
        }
        reply::single(&PathOutput { path })
    }
}

impl Failure {
    fn from_names(e: crate::services::names::NameError) -> Failure {
        Failure::command(e.to_string())
    }
}
