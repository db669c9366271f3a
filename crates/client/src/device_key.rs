//! This device's key for one name on one server: 256 random bits, made here and written to the
//! data directory (readable by its owner only, on Unix) before it is ever sent. The server keeps
//! only a hash of it; whoever has the file is this device for that name, so it never leaves the
//! machine (another device gets a key of its own through a link code).

use std::fs;
use std::path::Path;

use charla_protocol::chat::device_key_is_valid;

use crate::error::{Error, Result};
use crate::files::{create_atomically, file_error, Readers};

/// Reads the key at `path`, or makes one and writes it there first. A file that holds no key
/// (damaged) is kept beside it as `*.bad` and a new key made: the name then has to be linked
/// again from another device, but nothing is thrown away.
///
/// # Errors
/// When the file cannot be read or written.
pub fn load_or_create(path: &Path) -> Result<String> {
    // Twice at most: when another process (the CLI beside the app) makes the key at the same
    // moment, its key is the one, and is read back.
    for _ in 0..2 {
        match fs::read(path) {
            Ok(bytes) => match std::str::from_utf8(&bytes).map(str::trim) {
                Ok(text) if device_key_is_valid(text) => return Ok(text.to_owned()),
                _ => {
                    let aside = path.with_extension("key.bad");
                    tracing::warn!(path = %path.display(), aside = %aside.display(), "the device key file is damaged; kept aside, making a new key");
                    fs::rename(path, &aside).map_err(file_error(path))?;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::File {
                    path: path.to_owned(),
                    source,
                })
            }
        }
        let key = new_key();
        if create_atomically(path, format!("{key}\n").as_bytes(), Readers::OwnerOnly)? {
            return Ok(key);
        }
    }
    Err(Error::File {
        path: path.to_owned(),
        source: std::io::Error::other("the key file keeps changing under us"),
    })
}

/// Deletes the key at `path` (this device forgot the name). Missing already is fine.
///
/// # Errors
/// When the file exists and cannot be deleted.
pub fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::File {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn new_key() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_kept_private_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/a.key");
        let key = load_or_create(&path).expect("made");
        assert!(device_key_is_valid(&key));
        assert_eq!(load_or_create(&path).expect("read"), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = load_or_create(&dir.path().join("keys/b.key")).expect("made");
        assert_ne!(other, key, "each name gets its own key");
        remove(&path).expect("removed");
        remove(&path).expect("gone already is fine");
        assert_ne!(load_or_create(&path).expect("made again"), key);
    }

    #[test]
    fn a_key_made_meanwhile_by_another_process_wins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.key");
        let theirs = "ab".repeat(32);
        assert!(crate::files::create_atomically(
            &path,
            format!("{theirs}\n").as_bytes(),
            Readers::OwnerOnly
        )
        .expect("made"));
        assert!(
            !crate::files::create_atomically(&path, b"ours", Readers::OwnerOnly)
                .expect("not replaced")
        );
        assert_eq!(load_or_create(&path).expect("read"), theirs);
    }

    #[test]
    fn a_damaged_key_file_is_kept_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.key");
        fs::write(&path, b"not a key \xff").expect("written");
        let key = load_or_create(&path).expect("replaced");
        assert!(device_key_is_valid(&key));
        assert_eq!(
            fs::read(dir.path().join("a.key.bad")).expect("kept"),
            b"not a key \xff"
        );
    }
}
