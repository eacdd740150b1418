//! Counts heap allocations per request on the in-process hot path (a counting allocator
//! around the system one), for the closing notes and BENCHMARKS.md:
//! `cargo bench --bench allocations`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use support::{drain, get, DIR_LISTING, DIR_WITH_FILES};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let data = tempfile::tempdir().unwrap();
    let gateway = support::gateway(data.path());
    let cases = [
        (
            "cached small-file GET",
            get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"), &[]),
        ),
        (
            "range GET (multi-block file)",
            get(
                &format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"),
                &[("Range", "bytes=300-700")],
            ),
        ),
        (
            "HTML listing (4 entries)",
            get(&format!("/ipfs/{DIR_LISTING}/"), &[("Accept", "text/html")]),
        ),
    ];
    println!("| request | allocations | bytes allocated |");
    println!("|---|---|---|");
    for (label, request) in cases {
        // Warm the block cache first: the figure is for the cached path.
        drain(gateway.respond(&request).into_body());
        const N: u64 = 1000;
        let (a0, b0) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        for _ in 0..N {
            drain(gateway.respond(&request).into_body());
        }
        let (a1, b1) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        println!("| {label} | {} | {} |", (a1 - a0) / N, (b1 - b0) / N);
    }
}
