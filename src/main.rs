//! The `cairn` command line. Parsing only; the work is in `cairn::app`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cairn::app::{self, ServeOptions};
use cairn::http::server::{shutdown_channel, ServerLimits};
use cairn::store::StoreOptions;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "IPFS gateway with an embedded block store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway on the data directory's block store.
    Serve {
        /// Data directory [default: $CAIRN_DATA, else the platform data directory]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Address the gateway listens on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        gateway: SocketAddr,
        /// Bytes of hot blocks kept in memory.
        #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
        cache_size: u64,
        /// Accept POST/PUT/DELETE even when the gateway listens beyond loopback (writes are on
        /// by default only on a loopback address).
        #[arg(long)]
        writable: bool,
        /// Largest upload accepted, in bytes; larger ones get 413. Unlimited if not given.
        #[arg(long, value_name = "BYTES")]
        max_upload: Option<u64>,
    },
    /// Import CAR files (v1 or v2) into the block store and print their roots.
    Import {
        /// Data directory [default: $CAIRN_DATA, else the platform data directory]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Pin each CAR's roots (recursively), as `ipfs dag import` does.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        pin_roots: bool,
        /// CAR files to import.
        #[arg(required = true, value_name = "FILE.car")]
        files: Vec<PathBuf>,
    },
    /// Remove every block that no pin reaches (safe beside a running server).
    Gc {
        /// Data directory [default: $CAIRN_DATA, else the platform data directory]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Serve {
            data,
            gateway,
            cache_size,
            writable,
            max_upload,
        } => serve(ServeOptions {
            data: app::data_dir(data),
            gateway,
            store: StoreOptions {
                cache_bytes: cache_size,
            },
            limits: ServerLimits::default(),
            writable,
            max_upload,
        }),
        Command::Gc { data, quiet } => app::gc(&app::data_dir(data)).map(|report| {
            if !quiet {
                for cid in &report.removed {
                    println!("removed {cid}");
                }
            }
            for root in &report.incomplete_pins {
                eprintln!("warning: pinned DAG {root} has blocks missing from the store");
            }
        }),
        Command::Import {
            data,
            pin_roots,
            files,
        } => app::import(&app::data_dir(data), &files, pin_roots).map(|reports| {
            for (file, report) in files.iter().zip(reports) {
                for root in &report.roots {
                    println!("{}", cairn::ipld::cid::to_v1_string(root));
                }
                eprintln!(
                    "{}: {} blocks ({} new, {} bytes)",
                    file.display(),
                    report.blocks,
                    report.new_blocks,
                    report.block_bytes
                );
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cairn: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(options: ServeOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let (trigger, shutdown) = shutdown_channel();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            trigger.trigger();
        });
        let data = options.data.clone();
        app::serve(options, shutdown, |addr| {
            // Tests and scripts read this line to learn the port when given port 0.
            println!("gateway listening on http://{addr}");
            tracing::info!(data = %data.display(), "serving");
        })
        .await
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
