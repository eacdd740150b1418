//! Directory durability: what makes a new name survive power loss, not only process death.
//!
//! A rename or a new file is durable once the directory holding its name is synced; a new
//! directory is durable once *its* parent is synced (ext4 and XFS order neither for you). Every
//! writer in the crate that acknowledges something stored under a directory it may have just
//! created goes through [`create_dir_all`] and [`sync_dir`] here: the block store (shard
//! directories, `blocks/`, `tmp/`), the pin set, the keystore and the IPNS record store.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// Syncs a directory, making the names created or removed in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()?;
    #[cfg(test)]
    testing::record(dir);
    Ok(())
}

/// Creates `dir` and any missing parents, syncing the parent of each directory it creates
/// (after creating it), so the whole chain survives a power loss once this returns. Returns
/// whether anything was created.
pub fn create_dir_all(dir: &Path) -> io::Result<bool> {
    if dir.is_dir() {
        return Ok(false);
    }
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at {
        if path.as_os_str().is_empty() || path.is_dir() {
            break;
        }
        missing.push(path);
        at = path.parent();
    }
    for path in missing.into_iter().rev() {
        match fs::create_dir(path) {
            Ok(()) => {}
            // Another writer made it meanwhile: its creator syncs the parent.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => continue,
            Err(e) => return Err(e),
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync_dir(parent)?;
    }
    Ok(true)
}

/// Which directories were synced, for tests of the rules above (a power cut cannot be
/// simulated; the syncs it depends on can be observed).
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static SYNCED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    pub(super) fn record(dir: &Path) {
        if let Ok(mut synced) = SYNCED.lock() {
            synced.push(dir.to_path_buf());
        }
    }

    /// The directories under `root` synced so far (tests run in parallel: each looks at its
    /// own temporary directory).
    pub fn synced_under(root: &Path) -> Vec<PathBuf> {
        SYNCED
            .lock()
            .map(|s| s.iter().filter(|d| d.starts_with(root)).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_created_directory_has_its_parent_synced() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        assert!(create_dir_all(&deep).unwrap());
        assert!(deep.is_dir());
        let synced = testing::synced_under(root.path());
        for parent in ["", "a", "a/b"] {
            let parent = root.path().join(parent);
            let parent = parent.components().collect::<std::path::PathBuf>();
            assert!(
                synced
                    .iter()
                    .any(|d| d.components().collect::<std::path::PathBuf>() == parent),
                "{} not synced: {synced:?}",
                parent.display()
            );
        }
        assert!(
            !create_dir_all(&deep).unwrap(),
            "nothing new the second time"
        );
    }
}
