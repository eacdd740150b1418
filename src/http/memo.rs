//! Replayed answers: the finished response to a `GET` or `HEAD` that comes again, byte for
//! byte, kept in memory when the response says it can never change (`Cache-Control:
//! immutable`, RFC 8246, and `public`) and its body is small. A repeat is answered from here
//! without routing, resolving or reading a block: on a hot 1 KiB file that work was more
//! than half of the server's CPU per request (BENCHMARKS.md, session 9).
//!
//! The key is the whole request head — method, version, target and every header, in order —
//! so whatever a response depends on (`Accept`, `Range`, `If-None-Match`, `Host`, `Origin`,
//! `Cache-Control: only-if-cached`, …) is part of it and no rule about what varies can be
//! wrong: a different head is a different entry. This is stricter than an RFC 9111 shared
//! cache, which would match on the `Vary` headers only; it trades hits from clients that
//! send other headers for answers that are always what the handler would give. `Date` is
//! not kept: hyper adds the current one to every response.
//!
//! Each connection worker thread also keeps its own copies of the answers it gives most
//! ([`Near`]): replaying from the shared memo alone made both cores take its shard lock and
//! bump the same reference counts (the answer's, its header values', its body's) on every
//! request, and those contended atomics were half of a lookup's time.
//!
//! What would make a kept answer wrong is content going away (deleted, collected) or being
//! blocked: the caller passes an epoch that grows whenever either may have happened, and an
//! entry kept under another epoch is a miss. An answer is kept under the epoch read before
//! its request was served, so one racing a removal is never taken for current.

use std::hash::BuildHasher;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, StatusCode, Version};

use super::{Body, Response};

/// Largest body kept: small files and pages, where the per-request work dwarfs the bytes.
pub const MAX_BODY: u64 = 64 << 10;

/// Longest request head that is looked up; longer ones are served as usual (and their key
/// would cost more than it saves).
const MAX_KEY: usize = 4 << 10;

/// Largest body a worker thread copies for itself ([`Near`]).
const NEAR_MAX_BODY: usize = 16 << 10;

/// Answers each worker thread keeps for itself: a direct-mapped table (a key's slot is its
/// hash modulo the size; a newcomer replaces the slot's answer), so that a thread holds at
/// most this many copies, of at most [`NEAR_MAX_BODY`] each.
const NEAR_SLOTS: usize = 256;

/// The finished answers to repeated requests, within a byte budget (least recently and
/// least frequently used evicted first: quick_cache's CLOCK-Pro, which keeps one-off
/// requests from pushing hot ones out).
pub struct ResponseMemo {
    answers: quick_cache::sync::Cache<Box<[u8]>, Arc<Answer>, AnswerWeight>,
    /// Tells this memo's answers from another's in the threads' own tables (a process may
    /// run several gateways: tests, benches).
    id: u64,
}

/// A thread's own copies of answers it replayed ([`NEAR_SLOTS`]).
struct Near {
    slots: Vec<Option<NearAnswer>>,
}

/// One slot of a thread's table: a request head and what this thread knows of its answer.
struct NearAnswer {
    memo: u64,
    hash: u64,
    key: Box<[u8]>,
    known: Known,
}

enum Known {
    /// A copy whose header values and body this thread allocated, so that replaying it
    /// touches no memory another core writes.
    Kept(Answer),
    /// The last answer, under `epoch`, could not be kept (an error, a mutable or large
    /// answer): the next `skips` requests alike are served afresh without asking the shared
    /// memo (whose shard lock both cores would take for a miss) or copying their key.
    Declined { skips: u32, epoch: u64 },
}

/// How many requests alike skip the memo after an answer it declined, before one tries
/// again (content added since may now give an answer it keeps).
const DECLINED_SKIPS: u32 = 63;

impl NearAnswer {
    fn holds(&self, memo: u64, hash: u64, key: &[u8]) -> bool {
        self.memo == memo && self.hash == hash && *self.key == *key
    }
}

thread_local! {
    static NEAR: std::cell::RefCell<Near> = const {
        std::cell::RefCell::new(Near { slots: Vec::new() })
    };
}

impl Answer {
    fn response(&self) -> Response {
        let mut response = Response::new(Body::full(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }

    /// A copy sharing no allocation with `self`.
    fn deep_copy(&self) -> Answer {
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let name = http::HeaderName::from_bytes(name.as_str().as_bytes())
                .unwrap_or_else(|_| name.clone());
            let mut copy =
                http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
            copy.set_sensitive(value.is_sensitive());
            headers.append(name, copy);
        }
        Answer {
            status: self.status,
            headers,
            body: Bytes::copy_from_slice(&self.body),
            epoch: self.epoch,
            until: self.until,
        }
    }
}

impl std::fmt::Debug for ResponseMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseMemo")
            .field("entries", &self.answers.len())
            .field("bytes", &self.answers.weight())
            .finish()
    }
}

/// One kept answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    epoch: u64,
    /// When the answer stops being given, if it may change without the epoch moving (see
    /// [`ResponseMemo::keep`]).
    until: Option<std::time::Instant>,
}

impl Answer {
    /// Whether it may be given now, under `epoch`.
    fn current(&self, epoch: u64) -> bool {
        self.epoch == epoch && self.until.is_none_or(|t| std::time::Instant::now() < t)
    }
}

#[derive(Clone)]
struct AnswerWeight;

impl quick_cache::Weighter<Box<[u8]>, Arc<Answer>> for AnswerWeight {
    fn weight(&self, key: &Box<[u8]>, answer: &Arc<Answer>) -> u64 {
        let headers: usize = answer
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum();
        (key.len() + headers + answer.body.len() + 128) as u64
    }
}

/// What a lookup found.
// Unpacked as soon as it is returned; boxing the hit would add an allocation to the path
// the memo exists to make short.
#[allow(clippy::large_enum_variant)]
pub enum Lookup {
    /// The kept answer, ready to send.
    Hit(Response),
    /// Nothing kept: serve the request, then offer the response to [`ResponseMemo::keep`]
    /// with this (when the request may be kept at all).
    Miss(Option<Pending>),
}

/// A request that missed, remembered until its response is known.
pub struct Pending {
    key: Box<[u8]>,
    hash: u64,
    epoch: u64,
}

impl ResponseMemo {
    /// A memo of at most `budget` bytes; `None` for 0 (no memo).
    pub fn new(budget: u64) -> Option<ResponseMemo> {
        if budget == 0 {
            return None;
        }
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let estimated = (budget / 4096).clamp(16, 1 << 20) as usize;
        Some(ResponseMemo {
            answers: quick_cache::sync::Cache::with_weighter(estimated, budget, AnswerWeight),
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The kept answer to `request`, if one was kept under `epoch`.
    pub fn lookup<B>(&self, request: &Request<B>, epoch: u64) -> Lookup {
        if !matches!(*request.method(), Method::GET | Method::HEAD) || refuses_memo(request) {
            return Lookup::Miss(None);
        }
        let mut key = smallvec::SmallVec::<[u8; 1024]>::new();
        if !write_key(request, &mut key) {
            return Lookup::Miss(None);
        }
        let hash = foldhash::fast::FixedState::with_seed(0).hash_one(&key[..]);
        NEAR.with_borrow_mut(|near| {
            if near.slots.is_empty() {
                near.slots.resize_with(NEAR_SLOTS, || None);
            }
            let slot = &mut near.slots[hash as usize % NEAR_SLOTS];
            if let Some(mine) = slot.as_mut().filter(|m| m.holds(self.id, hash, &key)) {
                match &mut mine.known {
                    Known::Kept(answer) if answer.current(epoch) => {
                        return Lookup::Hit(answer.response())
                    }
                    Known::Declined { skips, epoch: at } if *skips > 0 && *at == epoch => {
                        *skips -= 1;
                        return Lookup::Miss(None);
                    }
                    _ => {}
                }
            }
            let pending = || Pending {
                key: Box::from(&key[..]),
                hash,
                epoch,
            };
            let Some(shared) = self.answers.get(&key[..]).filter(|a| a.current(epoch)) else {
                return Lookup::Miss(Some(pending()));
            };
            if shared.body.len() > NEAR_MAX_BODY {
                return Lookup::Hit(shared.response());
            }
            let copy = shared.deep_copy();
            let response = copy.response();
            *slot = Some(NearAnswer {
                memo: self.id,
                hash,
                key: Box::from(&key[..]),
                known: Known::Kept(copy),
            });
            Lookup::Hit(response)
        })
    }

    /// Notes in this thread's table that the answer to `pending` was not kept.
    fn decline(&self, pending: Pending) {
        NEAR.with_borrow_mut(|near| {
            if near.slots.is_empty() {
                return;
            }
            near.slots[pending.hash as usize % NEAR_SLOTS] = Some(NearAnswer {
                memo: self.id,
                hash: pending.hash,
                key: pending.key,
                known: Known::Declined {
                    skips: DECLINED_SKIPS,
                    epoch: pending.epoch,
                },
            });
        });
    }

    /// Keeps `response` as the answer to the request of `pending` when it may be replayed:
    /// it says it is immutable and public, sets no cookie, and its body has a known length
    /// of at most [`MAX_BODY`] (read whole here, before the response leaves; a body whose
    /// source fails is not kept and goes out cut, as it would have). `epoch` is the epoch
    /// now: one that moved while the request was served voids the answer. `for_at_most`
    /// bounds how long it is given when it rests on something the epoch does not follow
    /// (a Host that had no DNSLink when asked, and might have one later).
    pub async fn keep(
        &self,
        pending: Pending,
        response: &mut Response,
        epoch: u64,
        for_at_most: Option<std::time::Duration>,
    ) {
        if epoch != pending.epoch || !replayable(response.headers()) {
            return self.decline(pending);
        }
        let Some(body) = response.body_mut().gather(MAX_BODY).await else {
            return self.decline(pending);
        };
        let answer = Answer {
            status: response.status(),
            headers: response.headers().clone(),
            // A copy: the body may be a slice of a far larger block (a range), which the
            // budget would count as only the slice.
            body: Bytes::copy_from_slice(&body),
            epoch: pending.epoch,
            until: for_at_most.map(|d| std::time::Instant::now() + d),
        };
        self.answers.insert(pending.key, Arc::new(answer));
    }
}

/// RFC 8246 §2: `immutable` says the representation "will not be updated during the
/// freshness lifetime"; `public` that a shared cache may keep it (RFC 9111 §5.2.2.9). Never
/// `no-store`, `no-cache` or `private`, and never a `Set-Cookie`.
fn replayable(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::SET_COOKIE) {
        return false;
    }
    let mut immutable = false;
    let mut public = false;
    for value in headers.get_all(header::CACHE_CONTROL) {
        let Some(names) = directive_names(value) else {
            return false;
        };
        for name in names {
            if name.eq_ignore_ascii_case("immutable") {
                immutable = true;
            } else if name.eq_ignore_ascii_case("public") {
                public = true;
            } else if ["no-store", "no-cache", "private"]
                .iter()
                .any(|d| name.eq_ignore_ascii_case(d))
            {
                return false;
            }
        }
    }
    immutable && public
}

/// Whether the client asks not to be answered from a cache: RFC 9111 §5.2.1.4 (`no-cache`:
/// not without validating, which for this memo means serving afresh; a browser's reload
/// sends it), §5.2.1.5 (`no-store`: not kept either), and `Pragma: no-cache` from HTTP/1.0
/// clients (§5.4). `only-if-cached` (§5.2.1.7) asks the gateway whether the node holds the
/// content now, which only serving can tell (a fetched block may have been evicted since).
fn refuses_memo<B>(request: &Request<B>) -> bool {
    let says_no = |name: header::HeaderName| {
        request.headers().get_all(name).iter().any(|value| {
            directive_names(value).is_none_or(|mut names| {
                names.any(|name| {
                    ["no-cache", "no-store", "only-if-cached"]
                        .iter()
                        .any(|d| name.eq_ignore_ascii_case(d))
                })
            })
        })
    };
    says_no(header::CACHE_CONTROL) || says_no(header::PRAGMA)
}

/// The directive names of one `Cache-Control` (or `Pragma`) value, RFC 9111 §5.2:
/// `name[=argument]` items separated by commas; `None` when the value is not text.
fn directive_names(value: &http::HeaderValue) -> Option<impl Iterator<Item = &str>> {
    let text = value.to_str().ok()?;
    Some(
        text.split(',')
            .map(|directive| directive.split('=').next().unwrap_or("").trim()),
    )
}

/// Writes the request head into `key`: method, version, scheme, authority, path and query,
/// then each header's name and value, every part ended by a NUL (which none of them may
/// hold: `http` refuses it in a URI, a name or a value), so that two different heads never
/// write the same bytes. `false` past [`MAX_KEY`].
fn write_key<B>(request: &Request<B>, key: &mut smallvec::SmallVec<[u8; 1024]>) -> bool {
    let mut part = |bytes: &[u8]| {
        key.extend_from_slice(bytes);
        key.push(0);
    };
    part(request.method().as_str().as_bytes());
    part(version_text(request.version()));
    let uri = request.uri();
    part(uri.scheme_str().unwrap_or("").as_bytes());
    part(uri.authority().map_or("", |a| a.as_str()).as_bytes());
    part(uri.path_and_query().map_or("", |pq| pq.as_str()).as_bytes());
    for (name, value) in request.headers() {
        part(name.as_str().as_bytes());
        part(value.as_bytes());
    }
    key.len() <= MAX_KEY
}

fn version_text(version: Version) -> &'static [u8] {
    match version {
        Version::HTTP_09 => b"0.9",
        Version::HTTP_10 => b"1.0",
        Version::HTTP_11 => b"1.1",
        Version::HTTP_2 => b"2",
        Version::HTTP_3 => b"3",
        _ => b"?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http_body_util::BodyExt;

    const IMMUTABLE: &str = "public, max-age=29030400, immutable";

    fn request(method: Method, target: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn response(cache_control: Option<&str>, body: &'static str) -> Response {
        let mut response = Response::new(Body::from(body));
        if let Some(value) = cache_control {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        response
            .headers_mut()
            .insert("x-test", HeaderValue::from_static("kept"));
        response
    }

    async fn body_of(response: Response) -> Bytes {
        response.into_body().collect().await.unwrap().to_bytes()
    }

    /// Serves `request` through the memo the way the gateway does: the answer kept, or
    /// `make`'s response offered to it.
    async fn serve(
        memo: &ResponseMemo,
        request: &Request<()>,
        epoch: u64,
        make: impl FnOnce() -> Response,
    ) -> (bool, Response) {
        match memo.lookup(request, epoch) {
            Lookup::Hit(response) => (true, response),
            Lookup::Miss(pending) => {
                let mut response = make();
                if let Some(pending) = pending {
                    memo.keep(pending, &mut response, epoch, None).await;
                }
                (false, response)
            }
        }
    }

    #[tokio::test]
    async fn a_repeated_request_for_immutable_content_is_replayed_whole() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/ipfs/x", &[("host", "a")]);
        let (hit, first) = serve(&memo, &get, 0, || response(Some(IMMUTABLE), "hello")).await;
        assert!(!hit);
        assert_eq!(body_of(first).await, "hello");
        let (hit, again) = serve(&memo, &get, 0, || unreachable!()).await;
        assert!(hit);
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.headers()["x-test"], "kept");
        assert_eq!(again.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(body_of(again).await, "hello");
    }

    #[tokio::test]
    async fn any_difference_in_the_head_is_another_entry() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let base = request(Method::GET, "/ipfs/x", &[("host", "a")]);
        serve(&memo, &base, 0, || response(Some(IMMUTABLE), "base")).await;
        let variants = [
            request(Method::HEAD, "/ipfs/x", &[("host", "a")]),
            request(Method::GET, "/ipfs/x?format=raw", &[("host", "a")]),
            request(Method::GET, "/ipfs/x", &[("host", "b")]),
            request(
                Method::GET,
                "/ipfs/x",
                &[("host", "a"), ("accept", "text/html")],
            ),
            request(
                Method::GET,
                "/ipfs/x",
                &[("host", "a"), ("range", "bytes=0-1")],
            ),
            request(Method::GET, "/ipfs/x", &[("accept", "a"), ("host", "a")]),
            request(Method::GET, "http://a/ipfs/x", &[("host", "a")]),
        ];
        for variant in &variants {
            let (hit, _) = serve(&memo, variant, 0, || response(None, "other")).await;
            assert!(
                !hit,
                "{variant:?} was answered with another request's answer"
            );
        }
        // A header value that would run into the next part is still another head.
        let joined = request(Method::GET, "/ipfs/x", &[("host", "aaccept")]);
        assert!(!serve(&memo, &joined, 0, || response(None, "")).await.0);
        assert!(serve(&memo, &base, 0, || unreachable!()).await.0);
    }

    #[tokio::test]
    async fn only_public_immutable_small_answers_are_kept() {
        let cases: [(Option<&str>, bool); 7] = [
            (Some(IMMUTABLE), true),
            (Some("immutable, public"), true),
            (None, false),
            (Some("public, max-age=60"), false),
            (Some("max-age=29030400, immutable"), false),
            (Some("public, immutable, no-store"), false),
            (Some("public, immutable, private"), false),
        ];
        for (cache_control, kept) in cases {
            let memo = ResponseMemo::new(1 << 20).unwrap();
            let get = request(Method::GET, "/", &[]);
            serve(&memo, &get, 0, || response(cache_control, "x")).await;
            let (hit, _) = serve(&memo, &get, 0, || response(None, "y")).await;
            assert_eq!(hit, kept, "Cache-Control: {cache_control:?}");
        }
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/", &[]);
        serve(&memo, &get, 0, || {
            let mut r = response(Some(IMMUTABLE), "x");
            r.headers_mut()
                .insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
            r
        })
        .await;
        assert!(!serve(&memo, &get, 0, || response(None, "")).await.0);
        // Too large a body is sent as it is, not kept.
        let large = Bytes::from(vec![7u8; MAX_BODY as usize + 1]);
        let (_, sent) = serve(&memo, &get, 0, || {
            let mut r = Response::new(Body::full(large.clone()));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
            r
        })
        .await;
        assert_eq!(body_of(sent).await, large);
        assert!(!serve(&memo, &get, 0, || response(None, "")).await.0);
        // Writes are never looked up.
        let post = request(Method::POST, "/", &[]);
        assert!(matches!(memo.lookup(&post, 0), Lookup::Miss(None)));
    }

    #[tokio::test]
    async fn an_answer_kept_under_another_epoch_is_a_miss() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/ipfs/x", &[]);
        serve(&memo, &get, 3, || response(Some(IMMUTABLE), "old")).await;
        let (hit, fresh) = serve(&memo, &get, 4, || response(Some(IMMUTABLE), "new")).await;
        assert!(!hit);
        assert_eq!(body_of(fresh).await, "new");
        let (hit, again) = serve(&memo, &get, 4, || unreachable!()).await;
        assert!(hit);
        assert_eq!(body_of(again).await, "new");
    }

    #[test]
    fn a_threads_own_copy_shares_no_allocation_with_the_kept_answer() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ipfs-path", HeaderValue::from_str("/ipfs/x").unwrap());
        let mut secret = HeaderValue::from_str("t").unwrap();
        secret.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, secret);
        let kept = Answer {
            status: StatusCode::PARTIAL_CONTENT,
            headers,
            body: Bytes::from(vec![1u8; 100]),
            epoch: 7,
            until: None,
        };
        let copy = kept.deep_copy();
        assert_eq!(copy.status, kept.status);
        assert_eq!(copy.epoch, 7);
        assert_eq!(copy.headers, kept.headers);
        assert_eq!(copy.body, kept.body);
        assert_ne!(copy.body.as_ptr(), kept.body.as_ptr());
        for (name, value) in &kept.headers {
            let theirs = &copy.headers[name];
            assert_ne!(theirs.as_bytes().as_ptr(), value.as_bytes().as_ptr());
            assert_eq!(theirs.is_sensitive(), value.is_sensitive());
        }
    }

    #[tokio::test]
    async fn an_answer_declined_is_retried_after_a_while() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/ipfs/later", &[]);
        // Not kept (no immutable caching): the next requests alike skip the memo.
        serve(&memo, &get, 0, || response(None, "404")).await;
        for _ in 0..DECLINED_SKIPS {
            assert!(matches!(memo.lookup(&get, 0), Lookup::Miss(None)));
        }
        // Then one asks again, and its answer, immutable now, is kept.
        let (hit, _) = serve(&memo, &get, 0, || response(Some(IMMUTABLE), "here")).await;
        assert!(!hit);
        let (hit, again) = serve(&memo, &get, 0, || unreachable!()).await;
        assert!(hit);
        assert_eq!(body_of(again).await, "here");
        // A removal since a decline asks again at once.
        let other = request(Method::GET, "/ipfs/other", &[]);
        serve(&memo, &other, 0, || response(None, "404")).await;
        assert!(matches!(memo.lookup(&other, 1), Lookup::Miss(Some(_))));
    }

    #[tokio::test]
    async fn an_answer_made_while_the_epoch_moved_is_not_kept() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/ipfs/x", &[]);
        let Lookup::Miss(Some(pending)) = memo.lookup(&get, 5) else {
            panic!("nothing kept yet");
        };
        // A block went (epoch 5 → 6) while the request was being served.
        let mut answer = response(Some(IMMUTABLE), "made before");
        memo.keep(pending, &mut answer, 6, None).await;
        assert!(!matches!(memo.lookup(&get, 5), Lookup::Hit(_)));
        assert!(!matches!(memo.lookup(&get, 6), Lookup::Hit(_)));
    }

    #[tokio::test]
    async fn an_answer_kept_for_a_while_is_not_given_after_it() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/ipfs/x", &[("host", "maybe-dnslink.example")]);
        let Lookup::Miss(Some(pending)) = memo.lookup(&get, 0) else {
            panic!("nothing kept yet");
        };
        let mut answer = response(Some(IMMUTABLE), "path gateway");
        let window = std::time::Duration::from_millis(100);
        memo.keep(pending, &mut answer, 0, Some(window)).await;
        assert!(matches!(memo.lookup(&get, 0), Lookup::Hit(_)));
        tokio::time::sleep(window + std::time::Duration::from_millis(20)).await;
        assert!(matches!(memo.lookup(&get, 0), Lookup::Miss(Some(_))));
    }

    #[tokio::test]
    async fn a_kept_body_is_a_copy_not_a_slice_of_a_larger_block() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let block = Bytes::from(vec![9u8; 1 << 20]);
        let get = request(Method::GET, "/ipfs/x", &[("range", "bytes=0-9")]);
        serve(&memo, &get, 0, || {
            let mut r = Response::new(Body::full(block.slice(0..10)));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
            r
        })
        .await;
        let (_, kept) = memo.answers.iter().next().expect("kept");
        assert_eq!(kept.body, block.slice(0..10));
        let inside = block.as_ptr_range();
        assert!(
            !inside.contains(&kept.body.as_ptr()),
            "the block is held by the memo"
        );
    }

    #[tokio::test]
    async fn a_client_that_asks_for_no_cache_is_served_afresh() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        for (name, value) in [
            ("cache-control", "no-cache"),
            ("cache-control", "max-age=0, No-Store"),
            ("cache-control", "only-if-cached"),
            ("pragma", "no-cache"),
        ] {
            let get = request(Method::GET, "/ipfs/x", &[(name, value)]);
            serve(&memo, &get, 0, || response(Some(IMMUTABLE), "a")).await;
            let (hit, again) = serve(&memo, &get, 0, || response(Some(IMMUTABLE), "b")).await;
            assert!(!hit, "{name}: {value}");
            assert_eq!(body_of(again).await, "b");
        }
        // Other directives do not stop it.
        let get = request(Method::GET, "/ipfs/x", &[("cache-control", "max-age=0")]);
        serve(&memo, &get, 0, || response(Some(IMMUTABLE), "a")).await;
        assert!(serve(&memo, &get, 0, || unreachable!()).await.0);
    }

    #[tokio::test]
    async fn an_overlong_head_is_served_without_the_memo() {
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let long = "v".repeat(MAX_KEY);
        let get = request(Method::GET, "/", &[("x-long", &long)]);
        assert!(matches!(memo.lookup(&get, 0), Lookup::Miss(None)));
    }

    #[tokio::test]
    async fn a_body_whose_source_fails_is_sent_cut_and_not_kept() {
        use crate::services::resolve::Node;
        // `multiblock.txt`: 1026 bytes in five raw leaves; the fourth is gone.
        let (_dir, store) = crate::services::testing::store_with(&[
            "trustless_gateway_car/subdir-with-mixed-block-files.car",
        ]);
        let root: cid::Cid = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa"
            .parse()
            .unwrap();
        let Node::File(file) = Node::load(&*store, &root).await.unwrap() else {
            panic!("not a file");
        };
        let leaves = crate::ipld::dagpb::decode(&store.get(&root).unwrap().unwrap())
            .unwrap()
            .links;
        assert!(store.delete(leaves[3].cid.hash()).unwrap());
        let memo = ResponseMemo::new(1 << 20).unwrap();
        let get = request(Method::GET, "/", &[]);
        let source: crate::store::SharedSource = store.clone();
        let make = || {
            let stream = crate::services::file::FileStream::new(source, &file, 0, 1026).unwrap();
            let mut r = Response::new(Body::file(stream));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
            r
        };
        let (_, sent) = serve(&memo, &get, 0, make).await;
        let mut body = sent.into_body();
        let mut came = 0;
        loop {
            match body.frame().await {
                Some(Ok(frame)) => came += frame.into_data().unwrap().len(),
                Some(Err(_)) => break,
                None => panic!("a body with a missing block ended as if whole"),
            }
        }
        assert_eq!(
            came, 768,
            "the three leaves before the missing one went out"
        );
        assert!(!serve(&memo, &get, 0, || response(None, "")).await.0);
    }
}
