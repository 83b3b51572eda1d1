//! The data directory (and the embedded EverOS's directory in it): created owner-only
//! (0700 on unix), since it holds the signing key and customers' messages; an existing
//! one others can read is kept as it is, with a warning.

use std::{fs::OpenOptions, io, path::Path};

/// Create-if-missing options for a data file; owner-only (0600) on unix, since data
/// files hold the signing key and customers' messages.
pub fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `path` (and missing parents) owner-only; warns when it already exists and
/// is open to other users.
pub fn create_private(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    let existed = path.is_dir();
    builder.create(path)?;
    #[cfg(unix)]
    if existed {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "the data dir is open to other users; consider chmod 700"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = existed;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_directories_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private(&nested).unwrap();
        let mode = std::fs::metadata(&nested).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        create_private(&nested).unwrap();
    }
}
