//! The node's key store: named Ed25519 keys on disk, plus the node's own identity key `self`
//! (created on first open), whose name the IPNS, pubsub and Cluster APIs use.
//!
//! Layout follows Kubo's keystore (boxo `keystore.FSKeystore`) so key files move between the
//! two: one file per key in `<data_dir>/keys/`, named `key_` + lower-case unpadded base32 of
//! the key name (safe for any name: no separators, no dot files), holding the libp2p
//! `PrivateKey` protobuf (Type=Ed25519, Data = seed ++ public key). Unlike Kubo, `self` lives
//! in the same directory rather than in a config file. Files are created 0600 in a 0700
//! directory, written to a temporary file, synced, then hard-linked into place — atomic and
//! never replacing a key that already exists, so concurrent `generate` calls agree on one key.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::ipld::ipns::{self, IpnsName};

/// The reserved name of the node's identity key.
pub const SELF_KEY_NAME: &str = "self";
/// Longest key name in bytes: `key_` plus its base32 must fit a 255-byte file name.
pub const MAX_KEY_NAME_LEN: usize = 150;

const KEY_FILE_PREFIX: &str = "key_";
const TEMP_FILE_PREFIX: &str = ".tmp-";
/// Key files are 68 bytes (96 in go-libp2p's legacy form); anything far larger is not a key.
const MAX_KEY_FILE_LEN: u64 = 4096;

/// What went wrong with a keystore operation.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// A key name that is empty, too long, or contains `/` or control characters.
    #[error("invalid key name: {0}")]
    InvalidName(&'static str),
    /// `self` passed to an operation that may not touch the identity key.
    #[error("the key name \"self\" is reserved for the node's identity key")]
    Reserved,
    /// A key file that does not hold an Ed25519 libp2p private key.
    #[error("key file {path} is unusable: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// The filesystem failed.
    #[error("keystore I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate a key: no system randomness: {0}")]
    Random(String),
}

/// Result of keystore operations.
pub type Result<T> = std::result::Result<T, KeystoreError>;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> KeystoreError + '_ {
    move |source| KeystoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A named key.
#[derive(Clone)]
pub struct Key {
    name: String,
    signing_key: SigningKey,
    ipns_name: IpnsName,
}

impl Key {
    fn new(name: &str, signing_key: SigningKey) -> Key {
        let ipns_name = IpnsName::from_ed25519(&signing_key.verifying_key());
        Key {
            name: name.to_owned(),
            signing_key,
            ipns_name,
        }
    }

    /// The key's name in the store.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The private key, for signing IPNS records.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The IPNS name (peer ID) of the key.
    pub fn ipns_name(&self) -> IpnsName {
        self.ipns_name
    }

    /// The base58btc peer ID (`12D3KooW…`).
    pub fn peer_id(&self) -> String {
        self.ipns_name.to_peer_id()
    }
}

impl std::fmt::Debug for Key {
    // Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("ipns_name", &self.ipns_name)
            .finish_non_exhaustive()
    }
}

/// The key store of one data directory.
#[derive(Debug)]
pub struct Keystore {
    dir: PathBuf,
    self_key: Key,
}

impl Keystore {
    /// Opens (creating if needed) `<data_dir>/keys/` with mode 0700, removes temporary files
    /// an interrupted write left behind, and loads or creates the `self` key.
    pub fn open(data_dir: &Path) -> Result<Keystore> {
        crate::store::durable::create_dir_all(data_dir).map_err(io_error(data_dir))?;
        let dir = data_dir.join("keys");
        create_private_dir(&dir)?;
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(TEMP_FILE_PREFIX)
            {
                let path = entry.path();
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        let self_key = load_or_create(&dir, SELF_KEY_NAME)?;
        Ok(Keystore { dir, self_key })
    }

    /// The directory holding the key files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node's identity key.
    pub fn self_key(&self) -> &Key {
        &self.self_key
    }

    /// Returns the key called `name`, generating and storing a new one if there is none.
    pub fn generate(&self, name: &str) -> Result<Key> {
        check_name(name, false)?;
        load_or_create(&self.dir, name)
    }

    /// The key called `name` (`self` included), if stored.
    pub fn get(&self, name: &str) -> Result<Option<Key>> {
        check_name(name, true)?;
        if name == SELF_KEY_NAME {
            return Ok(Some(self.self_key.clone()));
        }
        read_key(&key_path(&self.dir, name), name)
    }

    /// Every stored key, `self` included, sorted by name. Files that are not key files (other
    /// names, undecodable or invalid key names) are ignored; an unreadable key file is an error.
    pub fn list(&self) -> Result<Vec<Key>> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let entry = entry.map_err(io_error(&self.dir))?;
            let Some(name) = entry.file_name().to_str().and_then(decode_file_name) else {
                continue;
            };
            if check_name(&name, true).is_err() {
                continue;
            }
            if let Some(key) = read_key(&entry.path(), &name)? {
                keys.push(key);
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// Deletes the key called `name`; false if there was none. `self` cannot be removed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        check_name(name, false)?;
        let path = key_path(&self.dir, name);
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path)(e)),
        }
    }
}

/// Validates a key name: 1..=150 bytes, no `/`, no control characters; `self` only where the
/// identity key may be read.
fn check_name(name: &str, allow_self: bool) -> Result<()> {
    if name.is_empty() {
        return Err(KeystoreError::InvalidName("empty"));
    }
    if name.len() > MAX_KEY_NAME_LEN {
        return Err(KeystoreError::InvalidName("longer than 150 bytes"));
    }
    if name.contains('/') {
        return Err(KeystoreError::InvalidName("contains '/'"));
    }
    if name.chars().any(char::is_control) {
        return Err(KeystoreError::InvalidName("contains control characters"));
    }
    if !allow_self && name == SELF_KEY_NAME {
        return Err(KeystoreError::Reserved);
    }
    Ok(())
}

/// Kubo's file name for a key: `key_` + lower-case unpadded base32 of the name.
fn key_path(dir: &Path, name: &str) -> PathBuf {
    let encoded = data_encoding::BASE32_NOPAD
        .encode(name.as_bytes())
        .to_ascii_lowercase();
    dir.join(format!("{KEY_FILE_PREFIX}{encoded}"))
}

fn decode_file_name(file_name: &str) -> Option<String> {
    let encoded = file_name.strip_prefix(KEY_FILE_PREFIX)?;
    let bytes = data_encoding::BASE32_NOPAD
        .decode(encoded.to_ascii_uppercase().as_bytes())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Reads and decodes a key file; `None` if it does not exist.
fn read_key(path: &Path, name: &str) -> Result<Option<Key>> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let mut bytes = Vec::with_capacity(128);
    file.take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    let decoded = if bytes.len() as u64 > MAX_KEY_FILE_LEN {
        Err("file is too large to be a key".to_owned())
    } else {
        ipns::decode_ed25519_private_key(&bytes).map_err(|e| e.to_string())
    };
    bytes.fill(0);
    match decoded {
        Ok(signing_key) => Ok(Some(Key::new(name, signing_key))),
        Err(reason) => Err(KeystoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        }),
    }
}

/// Returns the stored key `name`, or creates it. Creation writes a temporary file and links
/// it to the final name, which fails if the name exists: a concurrent creator's key wins and
/// is returned, never overwritten.
fn load_or_create(dir: &Path, name: &str) -> Result<Key> {
    let path = key_path(dir, name);
    if let Some(key) = read_key(&path, name)? {
        return Ok(key);
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeystoreError::Random(e.to_string()))?;
    let signing_key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let mut encoded = ipns::encode_ed25519_private_key(&signing_key);

    let temp = dir.join(format!("{TEMP_FILE_PREFIX}{:016x}", temp_suffix()?));
    let written = write_private_file(&temp, &encoded);
    encoded.fill(0);
    written?;
    let linked = fs::hard_link(&temp, &path);
    fs::remove_file(&temp).map_err(io_error(&temp))?;
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(Key::new(name, signing_key))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_key(&path, name)?.ok_or_else(|| KeystoreError::Io {
                path: path.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "key vanished while created"),
            })
        }
        Err(e) => Err(io_error(&path)(e)),
    }
}

fn temp_suffix() -> Result<u64> {
    getrandom::u64().map_err(|e| KeystoreError::Random(e.to_string()))
}

/// Creates `path` (which must not exist) with owner-only permissions and syncs its contents.
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    let result = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = result {
        let _ = fs::remove_file(path);
        return Err(io_error(path)(e));
    }
    Ok(())
}

/// Creates `dir` with mode 0700, or tightens an existing one to 0700.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        // The new directory's name, durable before a key is written into it.
        Ok(()) => sync_dir(dir.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                    .map_err(io_error(dir))?;
            }
            Ok(())
        }
        Err(e) => Err(io_error(dir)(e)),
    }
}

/// Makes a directory entry change durable (a rename or link is only on disk once its
/// directory is synced).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    crate::store::durable::sync_dir(dir).map_err(io_error(dir))?;
    #[cfg(not(unix))]
    let _ = dir; // directories cannot be opened for syncing here
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn open_creates_a_private_directory_and_a_persistent_self_key() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::open(data.path()).unwrap();
        let dir = data.path().join("keys");
        assert_eq!(store.dir(), dir);
        assert_eq!(mode(&dir), 0o700);
        let self_file = dir.join("key_onswyzq"); // base32("self") = ONSWYZQ
        assert_eq!(mode(&self_file), 0o600);
        let bytes = fs::read(&self_file).unwrap();
        assert_eq!(bytes.len(), 68);
        assert_eq!(bytes[..4], [0x08, 0x01, 0x12, 0x40]);
        let self_key = store.self_key().clone();
        assert_eq!(self_key.name(), "self");
        assert!(self_key.peer_id().starts_with("12D3KooW"));
        assert_eq!(
            self_key.ipns_name(),
            IpnsName::from_ed25519(&self_key.signing_key().verifying_key())
        );
        drop(store);
        let reopened = Keystore::open(data.path()).unwrap();
        assert_eq!(reopened.self_key().ipns_name(), self_key.ipns_name());
        assert_eq!(
            reopened.get("self").unwrap().unwrap().ipns_name(),
            self_key.ipns_name()
        );
        // Another data directory gets another identity.
        let other = tempfile::tempdir().unwrap();
        let other_store = Keystore::open(other.path()).unwrap();
        assert_ne!(other_store.self_key().ipns_name(), self_key.ipns_name());
    }

    #[test]
    fn open_tightens_an_existing_directory_and_clears_temporary_files() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("keys");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join(".tmp-0123456789abcdef"), b"half-written").unwrap();
        fs::write(dir.join("README"), b"not a key").unwrap();
        let store = Keystore::open(data.path()).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert!(!dir.join(".tmp-0123456789abcdef").exists());
        let names: Vec<String> = store
            .list()
            .unwrap()
            .iter()
            .map(|k| k.name().to_owned())
            .collect();
        assert_eq!(names, ["self"]);
        // A file where the directory should be is an error, not a panic.
        let blocked = tempfile::tempdir().unwrap();
        fs::write(blocked.path().join("keys"), b"").unwrap();
        assert!(matches!(
            Keystore::open(blocked.path()),
            Err(KeystoreError::Io { .. })
        ));
    }

    #[test]
    fn generate_is_idempotent_and_persistent() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::open(data.path()).unwrap();
        let first = store.generate("website").unwrap();
        let again = store.generate("website").unwrap();
        assert_eq!(first.ipns_name(), again.ipns_name());
        assert_eq!(
            first.signing_key().to_bytes(),
            again.signing_key().to_bytes()
        );
        let other = store.generate("blog").unwrap();
        assert_ne!(other.ipns_name(), first.ipns_name());
        assert_ne!(first.ipns_name(), store.self_key().ipns_name());
        let path = data.path().join("keys").join("key_o5swe43jorsq"); // base32("website")
        assert_eq!(mode(&path), 0o600);

        drop(store);
        let reopened = Keystore::open(data.path()).unwrap();
        let loaded = reopened.get("website").unwrap().unwrap();
        assert_eq!(loaded.ipns_name(), first.ipns_name());
        assert_eq!(
            loaded.signing_key().to_bytes(),
            first.signing_key().to_bytes()
        );
        let listed: Vec<(String, IpnsName)> = reopened
            .list()
            .unwrap()
            .into_iter()
            .map(|k| (k.name().to_owned(), k.ipns_name()))
            .collect();
        assert_eq!(
            listed,
            [
                ("blog".to_owned(), other.ipns_name()),
                ("self".to_owned(), reopened.self_key().ipns_name()),
                ("website".to_owned(), first.ipns_name()),
            ]
        );
        // Debug output never includes key material.
        let debug = format!("{loaded:?}");
        assert!(debug.contains("website"));
        assert!(!debug.contains(&format!("{:?}", loaded.signing_key().to_bytes())));
    }

    #[test]
    fn concurrent_generates_agree_on_one_key() {
        let data = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Keystore::open(data.path()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || store.generate("shared").unwrap().ipns_name())
            })
            .collect();
        let names: Vec<IpnsName> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(names.iter().all(|n| *n == names[0]), "{names:?}");
        assert_eq!(store.get("shared").unwrap().unwrap().ipns_name(), names[0]);
        // No temporary files remain.
        let leftovers: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(TEMP_FILE_PREFIX))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn remove_deletes_and_reports_absence() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::open(data.path()).unwrap();
        let key = store.generate("temp").unwrap();
        assert!(store.remove("temp").unwrap());
        assert!(!store.remove("temp").unwrap());
        assert!(store.get("temp").unwrap().is_none());
        // Generating again makes a new key.
        assert_ne!(store.generate("temp").unwrap().ipns_name(), key.ipns_name());
        assert!(matches!(store.remove("self"), Err(KeystoreError::Reserved)));
        assert!(matches!(
            store.generate("self"),
            Err(KeystoreError::Reserved)
        ));
        assert!(store.get("self").unwrap().is_some());
    }

    #[test]
    fn hostile_names_are_refused_or_stay_inside_the_directory() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::open(data.path()).unwrap();
        let too_long = "x".repeat(MAX_KEY_NAME_LEN + 1);
        for name in [
            "",
            "a/b",
            "../escape",
            "/etc/passwd",
            "nul\0byte",
            "new\nline",
            "tab\t",
            too_long.as_str(),
        ] {
            assert!(
                matches!(store.generate(name), Err(KeystoreError::InvalidName(_))),
                "{name:?}"
            );
            assert!(
                matches!(store.get(name), Err(KeystoreError::InvalidName(_))),
                "{name:?}"
            );
            assert!(
                matches!(store.remove(name), Err(KeystoreError::InvalidName(_))),
                "{name:?}"
            );
        }
        let longest = "ü".repeat(MAX_KEY_NAME_LEN / 2);
        let odd_names = [
            "..",
            ".",
            "-rf",
            "key_onswyzq",
            "Self",
            "spaces in name",
            "ünïcödé",
            longest.as_str(),
        ];
        for name in odd_names {
            let key = store.generate(name).unwrap();
            assert_eq!(key.name(), name);
            assert_eq!(
                store.get(name).unwrap().unwrap().ipns_name(),
                key.ipns_name()
            );
        }
        // Everything landed inside keys/ as key_ files, and lists back by name.
        let files: Vec<String> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), odd_names.len() + 1);
        assert!(
            files
                .iter()
                .all(|f| f.starts_with("key_") && f.len() <= 255),
            "{files:?}"
        );
        let entries: Vec<_> = fs::read_dir(data.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        let mut expected: Vec<&str> = odd_names.to_vec();
        expected.push("self");
        expected.sort_unstable();
        let listed: Vec<String> = store
            .list()
            .unwrap()
            .iter()
            .map(|k| k.name().to_owned())
            .collect();
        assert_eq!(listed, expected);
    }

    #[test]
    fn corrupt_key_files_are_reported_not_replaced() {
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::open(data.path()).unwrap();
        let path = key_path(store.dir(), "broken");
        fs::write(&path, b"\x08\x01\x12\x40short").unwrap();
        assert!(matches!(
            store.get("broken"),
            Err(KeystoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store.generate("broken"),
            Err(KeystoreError::Corrupt { .. })
        ));
        assert!(matches!(store.list(), Err(KeystoreError::Corrupt { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"\x08\x01\x12\x40short");
        // A huge file is refused without being read whole.
        fs::write(&path, vec![0u8; 1 << 20]).unwrap();
        assert!(matches!(
            store.get("broken"),
            Err(KeystoreError::Corrupt { .. })
        ));
        // An RSA key (Kubo can hold them) is reported, not misread.
        fs::write(&path, b"\x08\x00\x12\x02\x30\x00").unwrap();
        assert!(matches!(
            store.get("broken"),
            Err(KeystoreError::Corrupt { .. })
        ));
        // A corrupt self key stops open instead of being silently replaced.
        fs::remove_file(&path).unwrap();
        fs::write(store.dir().join("key_onswyzq"), b"garbage").unwrap();
        assert!(matches!(
            Keystore::open(data.path()),
            Err(KeystoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn key_files_interoperate_with_kubo() {
        let Some(kubo) = crate::test_support::peer("ipfs") else {
            return;
        };
        let repo = tempfile::tempdir().unwrap();
        let ipfs = |args: &[&str]| {
            let output = std::process::Command::new(&kubo)
                .env("IPFS_PATH", repo.path())
                .env("IPFS_TELEMETRY", "off")
                .args(args)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "ipfs {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        };
        ipfs(&["init", "--profile=test"]);
        let data = tempfile::tempdir().unwrap();
        let store = Keystore::open(data.path()).unwrap();

        // Our key file imports into Kubo under the same name.
        let ours = store.generate("ours").unwrap();
        let ours_file = key_path(store.dir(), "ours");
        let imported = ipfs(&[
            "key",
            "import",
            "--ipns-base=base36",
            "ours",
            ours_file.to_str().unwrap(),
        ]);
        assert_eq!(imported, ours.ipns_name().to_base36());

        // Kubo's key file, under the same file name, reads back with the name Kubo printed.
        let kubo_name = ipfs(&[
            "key",
            "gen",
            "--type=ed25519",
            "--ipns-base=base36",
            "from-kubo",
        ]);
        let kubo_file = key_path(&repo.path().join("keystore"), "from-kubo");
        assert!(
            kubo_file.exists(),
            "Kubo's file name differs: {}",
            kubo_file.display()
        );
        fs::copy(&kubo_file, key_path(store.dir(), "from-kubo")).unwrap();
        let key = store.get("from-kubo").unwrap().unwrap();
        assert_eq!(key.ipns_name().to_base36(), kubo_name);
        let peer_ids = ipfs(&["key", "list", "-l", "--ipns-base=b58mh"]);
        assert!(
            peer_ids.contains(&format!("{} from-kubo", key.peer_id())),
            "{peer_ids}"
        );
    }
}
