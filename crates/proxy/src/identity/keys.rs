//! Where the proxy's signing key comes from: `EVERDESK_SIGNING_KEY`, else a random key
//! generated once and kept in `<data dir>/signing.key` so visitor tokens survive restarts.

use std::{io, path::Path};

use rand::RngCore;

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "signing.key";

/// A fresh random 32-byte key, hex-encoded.
pub fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The configured key, or the one persisted in `data_dir` (created when missing).
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> io::Result<String> {
    if let Some(key) = configured {
        return Ok(key.to_owned());
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim().len() >= 32 => return Ok(existing.trim().to_owned()),
        Ok(_) | Err(_) => {}
    }
    std::fs::create_dir_all(data_dir)?;
    let key = random_key();
    std::fs::write(&path, &key)?;
    restrict(&path);
    tracing::info!(
        path = %path.display(),
        "no EVERDESK_SIGNING_KEY given: generated a signing key and saved it in the data dir \
         (visitor tokens survive restarts; set EVERDESK_SIGNING_KEY to manage it yourself)"
    );
    Ok(key)
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_path: &Path) {}

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
    }
}
