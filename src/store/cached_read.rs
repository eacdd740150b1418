//! Block-file reads that finish from the kernel's caches or not at all, so a request thread
//! can try them in place and hand only a read that would wait to the blocking pool.
//!
//! A block missing from the memory cache is still usually in the page cache (and a block that
//! is absent has a negative dentry once it has been looked up). Handing each such read to
//! another thread costs more than the read: a 404 of an absent CID ran at half its rate when
//! every miss went to `spawn_blocking`. Linux can answer these without any chance of blocking:
//! - `openat2(2)` with `RESOLVE_CACHED` (Linux 5.12) resolves the path from the dentry cache
//!   only, failing with `EAGAIN` when a component would need I/O; a cached negative entry
//!   answers `ENOENT` at once.
//! - `preadv2(2)` with `RWF_NOWAIT` (Linux 4.14) copies only pages already in the page cache,
//!   failing with `EAGAIN` (or reading short) when the rest would need the disk.
//!
//! Anything else (another OS, a filesystem without `RWF_NOWAIT`, a short read) is
//! [`Cached::WouldWait`]: the caller takes the blocking path, which gives the same answer.

use std::path::Path;

use bytes::Bytes;

use super::{Error, Result};

/// The outcome of a read that may not wait.
pub(super) enum Cached<T> {
    /// The answer, from cached data only.
    Answer(T),
    /// The read would have had to wait for the disk.
    WouldWait,
}

/// The block file's bytes (`None`: no such file), if the kernel has them all cached.
#[cfg(target_os = "linux")]
pub(super) fn read(path: &Path) -> Cached<Result<Option<Bytes>>> {
    use rustix::io::{Errno, IoSliceMut, ReadWriteFlags};

    let file = match open(path) {
        Cached::Answer(Ok(Some(file))) => file,
        Cached::Answer(Ok(None)) => return Cached::Answer(Ok(None)),
        Cached::Answer(Err(e)) => return Cached::Answer(Err(e)),
        Cached::WouldWait => return Cached::WouldWait,
    };
    let len = match rustix::fs::fstat(&file) {
        Ok(stat) => stat.st_size as usize,
        Err(e) => return Cached::Answer(Err(Error::io("stat block", path, e.into()))),
    };
    let mut data = vec![0u8; len];
    if len == 0 {
        return Cached::Answer(Ok(Some(Bytes::new())));
    }
    match rustix::io::preadv2(
        &file,
        &mut [IoSliceMut::new(&mut data)],
        0,
        ReadWriteFlags::NOWAIT,
    ) {
        Ok(n) if n == len => Cached::Answer(Ok(Some(Bytes::from(data)))),
        // Short: part of the file is not cached. Unsupported: the filesystem cannot tell.
        Ok(_) | Err(Errno::AGAIN | Errno::OPNOTSUPP | Errno::INVAL) => Cached::WouldWait,
        Err(e) => Cached::Answer(Err(Error::io("read block", path, e.into()))),
    }
}

/// The block file's size (`None`: no such file), if its dentry and inode are cached.
#[cfg(target_os = "linux")]
pub(super) fn size(path: &Path) -> Cached<Result<Option<u64>>> {
    match open(path) {
        Cached::Answer(Ok(Some(file))) => Cached::Answer(
            rustix::fs::fstat(&file)
                .map(|stat| Some(stat.st_size as u64))
                .map_err(|e| Error::io("stat block", path, e.into())),
        ),
        Cached::Answer(Ok(None)) => Cached::Answer(Ok(None)),
        Cached::Answer(Err(e)) => Cached::Answer(Err(e)),
        Cached::WouldWait => Cached::WouldWait,
    }
}

/// Opens the file for reading if every component of its path is in the dentry cache.
#[cfg(target_os = "linux")]
fn open(path: &Path) -> Cached<Result<Option<rustix::fd::OwnedFd>>> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};
    use rustix::io::Errno;

    match rustix::fs::openat2(
        CWD,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::CACHED,
    ) {
        Ok(file) => Cached::Answer(Ok(Some(file))),
        Err(Errno::NOENT) => Cached::Answer(Ok(None)),
        // EAGAIN: not all cached. ENOSYS/EINVAL: a kernel without openat2 or RESOLVE_CACHED.
        // EPERM/EACCES and the rest: let the ordinary path report it with its own context.
        Err(_) => Cached::WouldWait,
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn read(_path: &Path) -> Cached<Result<Option<Bytes>>> {
    Cached::WouldWait
}

#[cfg(not(target_os = "linux"))]
pub(super) fn size(_path: &Path) -> Cached<Result<Option<u64>>> {
    Cached::WouldWait
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn answer<T>(cached: Cached<T>) -> T {
        match cached {
            Cached::Answer(answer) => answer,
            Cached::WouldWait => panic!("a file just written or looked up should be cached"),
        }
    }

    #[test]
    fn a_cached_file_is_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("block.data");
        std::fs::write(&path, b"hello block").unwrap();
        assert_eq!(
            answer(read(&path)).unwrap().as_deref(),
            Some(&b"hello block"[..])
        );
        assert_eq!(answer(size(&path)).unwrap(), Some(11));
        let empty = dir.path().join("empty.data");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(answer(read(&empty)).unwrap().as_deref(), Some(&b""[..]));
    }

    #[test]
    fn an_absent_file_is_answered_from_the_negative_dentry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ab").join("absent.data");
        // The first lookup may need the disk; after it the kernel knows the name is absent.
        let _ = std::fs::metadata(&path);
        assert!(answer(read(&path)).unwrap().is_none());
        assert!(answer(size(&path)).unwrap().is_none());
    }

    #[test]
    fn a_directory_in_place_of_a_block_is_an_error_not_a_block() {
        let dir = tempfile::tempdir().unwrap();
        match read(dir.path()) {
            Cached::Answer(result) => assert!(result.is_err()),
            Cached::WouldWait => {} // the blocking path reports it
        }
    }
}
