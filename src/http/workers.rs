//! Connection workers: one thread per core, each running a single-threaded Tokio runtime,
//! and every accepted connection pinned to one of them for its whole life.
//!
//! On the multi-threaded runtime a keep-alive connection's task migrates between threads and
//! every wake goes through shared run queues; for small responses that bookkeeping is a large
//! share of a request's cost. Pinned to one thread, a connection's socket is registered with
//! that thread's own reactor, its task is woken and polled there, and nothing it does touches
//! another core's cache lines. The cost: a connection's work cannot be stolen by an idle
//! thread, so connections are spread by how many each worker holds.
//! Measured on the 1 KiB hot GET (wrk -c64, 2 cores): 98–104k req/s on the multi-threaded
//! runtime, 114–116k pinned, p99 2.1–2.3 ms instead of 2.5–3.4 ms.
//!
//! When there is a worker for every CPU the process may run on, each worker's thread is
//! bound to its CPU, and a new connection goes to the worker on the CPU that received its
//! packets (`SO_INCOMING_CPU`, socket(7)): the kernel's receive work for the connection, the
//! worker that answers and, on loopback, the client itself then share one core's caches, and
//! a reply wakes its reader without an inter-processor interrupt. The same steering a server
//! behind a multi-queue NIC uses to keep a flow on the core its receive queue interrupts. A
//! worker that already holds many more connections than another does not take more this way
//! ([`Dealing::pick`]): the least busy one does, so one busy receive CPU cannot pile every
//! connection on one worker.
//!
//! Blocking work (`spawn_blocking`) and tasks a request spawns run on the worker's runtime;
//! each worker has its own blocking pool.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Work handed to a worker: runs on its thread, inside its runtime.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of worker threads connections are handed to.
pub struct ConnectionWorkers {
    workers: Vec<Worker>,
    threads: Vec<JoinHandle<()>>,
    /// Taken only to deal a connection: never contended under load.
    dealing: std::sync::Mutex<Dealing>,
}

struct Worker {
    queue: mpsc::UnboundedSender<Job>,
    /// The CPU its thread is bound to, when it is.
    cpu: Option<usize>,
    /// The connections it serves now.
    connections: Arc<AtomicUsize>,
}

impl ConnectionWorkers {
    /// Starts `count` workers (at least one), not bound to any CPU.
    pub fn start(count: usize) -> std::io::Result<ConnectionWorkers> {
        Self::start_on(vec![None; count.max(1)])
    }

    /// One worker per core the process may use, each bound to its CPU when the process may
    /// use every CPU it is allowed on (no CPU quota below that).
    pub fn per_core() -> std::io::Result<ConnectionWorkers> {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpus = affinity::allowed_cpus();
        if cpus.len() == count {
            Self::start_on(cpus.into_iter().map(Some).collect())
        } else {
            Self::start(count)
        }
    }

    /// A worker for each entry, bound to that CPU when it names one.
    fn start_on(cpus: Vec<Option<usize>>) -> std::io::Result<ConnectionWorkers> {
        let mut workers = Vec::new();
        let mut threads = Vec::new();
        // Read here, before any thread is bound: the process's own CPU set.
        let allowed = affinity::current();
        for (index, cpu) in cpus.into_iter().enumerate() {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            builder.enable_all();
            if cpu.is_some() {
                // The worker's blocking pool (ingest, disk writes) starts its threads from the
                // bound worker thread; they would inherit its one CPU.
                builder.on_thread_start(move || affinity::restore(&allowed));
            }
            let runtime = builder.build()?;
            let (queue, mut jobs) = mpsc::unbounded_channel::<Job>();
            let (bound_tx, bound_rx) = std::sync::mpsc::channel();
            let thread = std::thread::Builder::new()
                .name(format!("cairn-conn-{index}"))
                .spawn(move || {
                    let _ = bound_tx.send(cpu.filter(|&cpu| affinity::bind_to(cpu)));
                    runtime.block_on(async move {
                        while let Some(job) = jobs.recv().await {
                            job();
                        }
                    });
                    // Dropping the runtime here cancels what is left: by now the servers
                    // have drained their connections or given up waiting.
                })?;
            workers.push(Worker {
                queue,
                // A worker whose binding failed takes no connection by its CPU.
                cpu: bound_rx.recv().ok().flatten(),
                connections: Arc::default(),
            });
            threads.push(thread);
        }
        let dealing = std::sync::Mutex::new(Dealing::new(workers.len()));
        Ok(ConnectionWorkers {
            workers,
            threads,
            dealing,
        })
    }

    /// Moves an accepted connection to a worker ([`Dealing::pick`]), which registers it with
    /// its own reactor and runs `serve(stream)` there as a task.
    pub fn run<F, Fut>(&self, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let loads: smallvec::SmallVec<[usize; 16]> = self
            .workers
            .iter()
            .map(|w| w.connections.load(Ordering::Relaxed))
            .collect();
        let incoming = affinity::incoming_cpu(&stream);
        let local = incoming.and_then(|cpu| self.workers.iter().position(|w| w.cpu == Some(cpu)));
        let index = self
            .dealing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pick(local, &loads);
        tracing::trace!(?incoming, worker = index, "a connection dealt");
        let worker = &self.workers[index];
        // Deregistered from the accepting runtime's reactor, registered with the worker's.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "could not hand a connection to a worker");
                return;
            }
        };
        let open = Open::count(&worker.connections);
        let job: Job = Box::new(move || match TcpStream::from_std(stream) {
            Ok(stream) => {
                tokio::spawn(async move {
                    let _open = open;
                    serve(stream).await
                });
            }
            Err(e) => tracing::debug!(error = %e, "a worker could not take a connection"),
        });
        // A worker only stops when this struct is dropped, so sending cannot fail while
        // `self` exists; if it ever did, the connection is closed by being dropped.
        let _ = worker.queue.send(job);
    }

    /// How many workers there are.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }
}

impl Drop for ConnectionWorkers {
    fn drop(&mut self) {
        self.workers.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One connection a worker holds, counted until it is dropped (served, or never started).
struct Open(Arc<AtomicUsize>);

impl Open {
    fn count(connections: &Arc<AtomicUsize>) -> Open {
        connections.fetch_add(1, Ordering::Relaxed);
        Open(Arc::clone(connections))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many more connections than the least busy worker a worker may hold and still take
/// the connections its CPU received (or a quarter more, when that is more). A client opens
/// its connections in a burst from one core (wrk: 32 per thread at `-t2 -c64`), which a
/// tighter bound would deal half away.
const LOCAL_SLACK: usize = 32;

/// How many of the latest connections [`Dealing`] remembers the receiving CPU of.
const RECENT: usize = 64;

/// How connections are dealt: the rotating start of the search for the least busy worker,
/// which workers are held back from taking their own CPU's connections, and the local
/// workers of the latest connections.
struct Dealing {
    turn: usize,
    held_back: Vec<bool>,
    recent: [Option<usize>; RECENT],
}

impl Dealing {
    fn new(workers: usize) -> Dealing {
        Dealing {
            turn: 0,
            held_back: vec![false; workers],
            recent: [None; RECENT],
        }
    }

    /// The worker for a new connection, given each worker's connections (`loads`) and the
    /// worker on the CPU that received the connection (`local`).
    ///
    /// The local worker, when the latest [`RECENT`] connections arrived on more than one
    /// CPU and it is not held back. When they all arrived on one (a NIC with one queue, one
    /// client thread), serving each on that CPU would only pile them onto one worker. A
    /// worker is held back from when it holds [`LOCAL_SLACK`] more than the least busy one
    /// until it holds no more than it: when a burst from one CPU outruns the others, they
    /// get every connection until they have caught up, rather than every other one.
    /// Otherwise the least busy, searched from a rotating start so that ties are dealt in
    /// turn.
    fn pick(&mut self, local: Option<usize>, loads: &[usize]) -> usize {
        self.turn = self.turn.wrapping_add(1);
        self.recent[self.turn % RECENT] = local;
        let least = (0..loads.len())
            .map(|i| (self.turn + i) % loads.len())
            .min_by_key(|&i| loads[i])
            .unwrap_or(0);
        let spread = self.recent.iter().flatten().any(|&w| Some(w) != local);
        if let Some(local) = local.filter(|_| spread) {
            if loads[local] <= loads[least] {
                self.held_back[local] = false;
            } else if loads[local] >= loads[least] + LOCAL_SLACK.max(loads[least] / 4) {
                self.held_back[local] = true;
            }
            if !self.held_back[local] {
                return local;
            }
        }
        least
    }
}

/// CPU affinity (sched_setaffinity(2)) and where a connection's packets arrived (socket(7)).
#[cfg(target_os = "linux")]
mod affinity {
    use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
    use tokio::net::TcpStream;

    /// The calling thread's CPU set (the process's, before any binding).
    pub(super) fn current() -> Option<CpuSet> {
        sched_getaffinity(None).ok()
    }

    /// The CPUs the calling thread may run on, in order.
    pub(super) fn allowed_cpus() -> Vec<usize> {
        current().map_or_else(Vec::new, |set| {
            (0..CpuSet::MAX_CPU)
                .filter(|&cpu| set.is_set(cpu))
                .collect()
        })
    }

    /// Binds the calling thread to `cpu`; whether it could.
    pub(super) fn bind_to(cpu: usize) -> bool {
        let mut set = CpuSet::new();
        set.set(cpu);
        match sched_setaffinity(None, &set) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(cpu, error = %e, "a connection worker could not be bound to its CPU");
                false
            }
        }
    }

    /// Gives the calling thread back the CPUs of `allowed`.
    pub(super) fn restore(allowed: &Option<CpuSet>) {
        if let Some(set) = allowed {
            if let Err(e) = sched_setaffinity(None, set) {
                tracing::debug!(error = %e, "a blocking thread could not be unbound");
            }
        }
    }

    /// The CPU that last received the connection's packets.
    pub(super) fn incoming_cpu(stream: &TcpStream) -> Option<usize> {
        rustix::net::sockopt::socket_incoming_cpu(stream)
            .ok()
            .map(|cpu| cpu as usize)
    }
}

/// Elsewhere: no binding, and connections dealt by load alone.
#[cfg(not(target_os = "linux"))]
mod affinity {
    use tokio::net::TcpStream;

    pub(super) fn current() -> Option<()> {
        None
    }

    pub(super) fn allowed_cpus() -> Vec<usize> {
        Vec::new()
    }

    pub(super) fn bind_to(_cpu: usize) -> bool {
        false
    }

    pub(super) fn restore(_allowed: &Option<()>) {}

    pub(super) fn incoming_cpu(_stream: &TcpStream) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn connections_are_dealt_to_every_worker_and_served_on_their_threads() {
        let workers = ConnectionWorkers::start(2).unwrap();
        assert_eq!(workers.len(), 2);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let threads = Arc::new(Mutex::new(HashSet::new()));
        for _ in 0..4 {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let seen = Arc::clone(&threads);
            workers.run(stream, move |mut stream| async move {
                seen.lock()
                    .unwrap()
                    .insert(std::thread::current().name().map(str::to_owned));
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await.unwrap();
                stream.write_all(&[byte[0] + 1]).await.unwrap();
            });
            client.write_all(&[41]).await.unwrap();
            let mut answer = [0u8; 1];
            client.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer, [42]);
        }
        let threads = threads.lock().unwrap().clone();
        assert_eq!(
            threads,
            HashSet::from([
                Some("cairn-conn-0".to_owned()),
                Some("cairn-conn-1".to_owned())
            ])
        );
    }

    fn dealt(dealing: &mut Dealing, loads: &mut [usize], local: Option<usize>) -> usize {
        let worker = dealing.pick(local, loads);
        loads[worker] += 1;
        worker
    }

    /// Dealing that has seen connections arrive on each of `workers` CPUs (since closed).
    fn dealing(workers: usize) -> Dealing {
        let mut dealing = Dealing::new(workers);
        for worker in 0..workers {
            dealing.pick(Some(worker), &vec![0; workers]);
        }
        dealing
    }

    #[test]
    fn without_a_local_worker_the_least_busy_takes_it_and_ties_go_in_turn() {
        let mut d = dealing(3);
        let mut loads = [0, 0, 0];
        let first: Vec<usize> = (0..3).map(|_| dealt(&mut d, &mut loads, None)).collect();
        assert_eq!(first.iter().collect::<HashSet<_>>().len(), 3, "{first:?}");
        let mut loads = [5, 2, 9];
        assert_eq!(d.pick(None, &loads), 1);
        loads[1] = 7;
        assert_eq!(d.pick(None, &loads), 0);
    }

    #[test]
    fn bursts_from_two_cpus_each_stay_on_their_own_worker() {
        // A client with two threads, each opening its 32 connections from its own core,
        // one after the other.
        let mut d = dealing(2);
        let mut loads = [0, 0];
        for _ in 0..32 {
            assert_eq!(dealt(&mut d, &mut loads, Some(0)), 0);
        }
        for _ in 0..32 {
            assert_eq!(dealt(&mut d, &mut loads, Some(1)), 1);
        }
        assert_eq!(loads, [32, 32]);
    }

    #[test]
    fn a_burst_from_one_cpu_after_others_ends_even_and_in_runs() {
        let mut d = dealing(2);
        let mut loads = [0, 0];
        let order: Vec<usize> = (0..64)
            .map(|_| dealt(&mut d, &mut loads, Some(0)))
            .collect();
        assert_eq!(loads, [32, 32]);
        // The local worker takes the first burst whole, the other the next: each worker's
        // connections come from one client thread when a client opens them thread by thread.
        assert!(order[..32].iter().all(|&w| w == 0), "{order:?}");
        assert!(order[32..].iter().all(|&w| w == 1), "{order:?}");
    }

    #[test]
    fn connections_that_all_arrive_on_one_cpu_are_dealt_by_load_alone() {
        let mut d = Dealing::new(2);
        let mut loads = [0, 0];
        let order: Vec<usize> = (0..8).map(|_| dealt(&mut d, &mut loads, Some(0))).collect();
        assert_eq!(loads, [4, 4], "{order:?}");
        for _ in 0..1000 {
            dealt(&mut d, &mut loads, Some(0));
            assert!(loads[0].abs_diff(loads[1]) <= 1, "{loads:?}");
        }
        // Once one arrives elsewhere, the CPU a connection arrived on counts again.
        let mut loads = [0, 0];
        dealt(&mut d, &mut loads, Some(1));
        assert_eq!(dealt(&mut d, &mut loads, Some(0)), 0);
        assert_eq!(dealt(&mut d, &mut loads, Some(0)), 0);
    }

    #[test]
    fn a_worker_far_ahead_takes_no_more_of_its_cpus_connections_until_others_catch_up() {
        let mut d = dealing(2);
        let mut loads = [40, 0];
        assert_eq!(dealt(&mut d, &mut loads, Some(0)), 1);
        // Held back though now only 39 ahead, until the loads are even.
        while loads[1] < 40 {
            assert_eq!(dealt(&mut d, &mut loads, Some(0)), 1, "{loads:?}");
        }
        assert_eq!(dealt(&mut d, &mut loads, Some(0)), 0);
        // Large loads: a quarter more is allowed.
        let mut d = dealing(2);
        assert_eq!(d.pick(Some(0), &[1200, 1000]), 0);
        assert_eq!(d.pick(Some(0), &[1250, 1000]), 1);
    }

    /// A client thread bound to each CPU in turn: its connection is served by the worker on
    /// that CPU, and work that worker hands to its blocking pool may run on every CPU.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_connection_is_served_on_the_cpu_that_received_it() {
        let cpus = affinity::allowed_cpus();
        let workers = ConnectionWorkers::per_core().unwrap();
        if cpus.len() < 2 || workers.workers.iter().any(|w| w.cpu.is_none()) {
            eprintln!(
                "skipped: needs two CPUs and workers bound to them (CPUs: {cpus:?}, available \
                 parallelism: {:?})",
                std::thread::available_parallelism()
            );
            return;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // First a connection from each of two CPUs, dealt by load alone (connections are
        // steered by CPU once they have arrived on more than one), then the ones checked.
        let warm_up = cpus.iter().take(2).map(|&cpu| (cpu, false));
        let checked = cpus.iter().take(4).chain(cpus.iter().rev().take(2));
        for (cpu, check) in warm_up.chain(checked.map(|&cpu| (cpu, true))) {
            let client = std::thread::spawn(move || {
                assert!(affinity::bind_to(cpu));
                let mut client = std::net::TcpStream::connect(addr).unwrap();
                std::io::Write::write_all(&mut client, &[1]).unwrap();
                let mut answer = [0u8; 2];
                std::io::Read::read_exact(&mut client, &mut answer).unwrap();
                answer
            });
            let (stream, _) = listener.accept().await.unwrap();
            workers.run(stream, move |mut stream| async move {
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await.unwrap();
                let served_on = rustix::thread::sched_getcpu() as u8;
                let blocking_cpus = tokio::task::spawn_blocking(|| affinity::allowed_cpus().len())
                    .await
                    .unwrap() as u8;
                stream.write_all(&[served_on, blocking_cpus]).await.unwrap();
            });
            let [served_on, blocking_cpus] = tokio::task::spawn_blocking(move || client.join())
                .await
                .unwrap()
                .unwrap();
            if check {
                assert_eq!(usize::from(served_on), cpu);
            }
            assert_eq!(usize::from(blocking_cpus), cpus.len());
        }
    }
}
