//! Small JSON files written atomically (temp file, fsync, rename) and read forgivingly: a
//! corrupt file is moved aside as `*.bad`, a warning is logged and the default is used.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Turns an I/O error on `path` into the crate's error.
pub fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::File {
        path: path.to_owned(),
        source,
    }
}

/// Writes `value` as pretty JSON to `path` so that a crash leaves the old or the new file,
/// never a torn one.
///
/// # Errors
/// When the directory cannot be created or the file cannot be written.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::File {
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    bytes.push(b'\n');
    write_atomically(path, &bytes, Readers::Anyone)
}

/// Who may read a file [`write_atomically`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// As the process's umask says.
    Anyone,
    /// Its owner only (mode 0600 on Unix), from the moment it exists.
    OwnerOnly,
}

/// Writes `bytes` to `path` so that a crash leaves the old or the new file, never a torn one.
///
/// # Errors
/// When the directory cannot be created or the file cannot be written.
pub fn write_atomically(path: &Path, bytes: &[u8], readers: Readers) -> Result<()> {
    let tmp = write_temp(path, bytes, readers)?;
    fs::rename(&tmp, path).map_err(file_error(path))?;
    sync_parent(path);
    Ok(())
}

/// Writes `bytes` to `path` only if nothing is there yet, whole or not at all: `false` when a
/// file was there already (it is left as it was: another process may have just made it).
///
/// # Errors
/// When the directory cannot be created or the file cannot be written.
pub fn create_atomically(path: &Path, bytes: &[u8], readers: Readers) -> Result<bool> {
    let tmp = write_temp(path, bytes, readers)?;
    // A hard link, unlike a rename, never replaces what is there.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_parent(path);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(file_error(path)(e)),
    }
}

/// Makes a rename or a link in `path`'s directory durable, where the platform allows opening a
/// directory.
fn sync_parent(path: &Path) {
    if let Ok(dir) = File::open(path.parent().unwrap_or(Path::new("."))) {
        let _ = dir.sync_all();
    }
}

/// Writes `bytes` to a temp file beside `path`, synced; returns the temp file's path.
fn write_temp(path: &Path, bytes: &[u8], readers: Readers) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(file_error(dir))?;
    let tmp = temp_path(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if readers == Readers::OwnerOnly {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(file_error(&tmp))?;
    #[cfg(unix)]
    if readers == Readers::OwnerOnly {
        // A temp file left by a crash keeps the mode it was made with: set it again.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(file_error(&tmp))?;
    }
    file.write_all(bytes).map_err(file_error(&tmp))?;
    file.sync_all().map_err(file_error(&tmp))?;
    Ok(tmp)
}

/// Reads `path` as JSON. Missing → default. Unreadable as `T` → the file is renamed to
/// `<name>.bad` (kept for inspection), a warning is logged, and the default is returned.
pub fn read_json_or_default<T: DeserializeOwned + Default>(path: &Path) -> T {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return T::default(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read; using defaults");
            return T::default();
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            let aside = bad_path(path);
            match fs::rename(path, &aside) {
                Ok(()) => {
                    tracing::warn!(path = %path.display(), kept_as = %aside.display(), error = %e, "corrupt file set aside; using defaults");
                }
                Err(rename) => {
                    tracing::warn!(path = %path.display(), error = %e, rename_error = %rename, "corrupt file; using defaults");
                }
            }
            T::default()
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// `config.json` → `config.json.bad`.
#[must_use]
pub fn bad_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bad");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/state.json");
        let value = BTreeMap::from([("a".to_owned(), 1)]);
        write_json(&path, &value).expect("writes");
        write_json(&path, &value).expect("overwrites");
        assert_eq!(read_json_or_default::<BTreeMap<String, i32>>(&path), value);
        let leftovers: Vec<_> = fs::read_dir(path.parent().expect("dir"))
            .expect("lists")
            .collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn corrupt_files_are_set_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        fs::write(&path, b"{ not json").expect("writes");
        let value: BTreeMap<String, i32> = read_json_or_default(&path);
        assert!(value.is_empty());
        assert!(!path.exists());
        assert_eq!(
            fs::read(bad_path(&path)).expect("kept aside"),
            b"{ not json"
        );
    }
}
