//! Where the proxy's signing key comes from: `EVERDESK_SIGNING_KEY`, else a random key
//! generated once and kept in `<data dir>/signing.key` (created owner-only) so visitor
//! tokens survive restarts. A key file that exists but cannot be read, or is too short,
//! stops the start instead of being replaced: a new key would orphan every visitor's
//! memory.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use rand::RngCore;

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "signing.key";
/// Shortest accepted key, characters.
pub const MIN_KEY_CHARS: usize = 32;

/// Why the signing key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file exists but could not be read.
    #[error(
        "signing key file {path} exists but cannot be read ({source}); fix it or restore it \
         from a backup (deleting it makes every visitor's saved identity and memory unreachable)"
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The key file holds fewer than [`MIN_KEY_CHARS`] characters.
    #[error(
        "signing key file {path} holds {len} characters, at least {MIN_KEY_CHARS} are needed; \
         fix it or restore it from a backup (deleting it makes every visitor's saved identity \
         and memory unreachable)"
    )]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Characters found (after trimming).
        len: usize,
    },
    /// A new key file could not be written.
    #[error("could not create the signing key file {path}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// A fresh random 32-byte key, hex-encoded.
pub fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The configured key, or the one persisted in `data_dir` (created when missing).
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<String, KeyError> {
    if let Some(key) = configured {
        return Ok(key.to_owned());
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(existing) => {
            let key = existing.trim();
            let len = key.chars().count();
            if len < MIN_KEY_CHARS {
                return Err(KeyError::TooShort { path, len });
            }
            return Ok(key.to_owned());
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(KeyError::Unreadable { path, source }),
    }
    let key = random_key();
    create(&path, &key).map_err(|source| KeyError::Create {
        path: path.clone(),
        source,
    })?;
    tracing::info!(
        path = %path.display(),
        "no EVERDESK_SIGNING_KEY given: generated a signing key and saved it in the data dir \
         (visitor tokens survive restarts; set EVERDESK_SIGNING_KEY to manage it yourself)"
    );
    Ok(key)
}

/// Writes a new key file, owner-only from its creation (never an existing file).
fn create(path: &Path, key: &str) -> io::Result<()> {
    let mut file = crate::data_dir::private_file_options()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(key.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_persisted_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(None, dir.path()).unwrap();
        let b = load_or_create(None, dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(load_or_create(Some("given"), dir.path()).unwrap(), "given");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_key_file_stops_the_start_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::write(&path, "too-short\n").unwrap();
        let e = load_or_create(None, dir.path()).unwrap_err();
        assert!(matches!(e, KeyError::TooShort { len: 9, .. }), "{e}");
        assert!(e.to_string().contains("signing.key"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "too-short\n");
    }

    #[test]
    fn an_unreadable_key_file_stops_the_start_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        // Not UTF-8: unreadable as a key.
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
        let e = load_or_create(None, dir.path()).unwrap_err();
        assert!(matches!(e, KeyError::Unreadable { .. }), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), [0xff, 0xfe, 0x00, 0x41]);
    }
}
