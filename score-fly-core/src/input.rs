//! Reading the files a user points score-fly at, within [`crate::limits`].
//!
//! - [`read_document`]: a Score file or an overrides file, at most [`MAX_DOCUMENT_BYTES`]
//!   (a pipe such as `<(...)` is fine: the user named it; `/dev/zero` stops at the limit).
//! - [`read_regular`] (with the `engine` feature): a file referenced **from** a document (a
//!   container's `source` file), which must be a regular file: it is opened without
//!   blocking (a FIFO cannot hang the run), checked on the opened descriptor (no race between
//!   a check and the open), refused when it lives on `/proc` (the environment and memory of
//!   processes), and read up to its limit plus one byte, never further.
//!
//! Neither reads more than its limit, whatever the file claims to be.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::limits::MAX_DOCUMENT_BYTES;

/// A file that could not be read, or was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system said no (missing, permissions...).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not UTF-8 text.
    #[error("cannot read {}: it is not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// Larger than the limit (only the limit plus one byte was read).
    #[error("{} is larger than {} (limits::{limit}); {hint}", path.display(), crate::limits::human_bytes(*limit_bytes))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit's name in [`crate::limits`].
        limit: &'static str,
        /// Its value.
        limit_bytes: usize,
        /// What to do.
        hint: &'static str,
    },
    /// A FIFO, device, folder or socket where a regular file is needed.
    #[error("{} is {kind}, not a regular file; point it at a file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is: `a named pipe (FIFO)`, `a character device`...
        kind: &'static str,
    },
    /// On `/proc`.
    #[error(
        "{} is on /proc, which holds the environment and memory of processes (secrets included); score-fly never reads files from there",
        path.display()
    )]
    Proc {
        /// The file.
        path: PathBuf,
    },
}

/// Reads at most `limit` bytes from `reader`; more is [`ReadError::TooLarge`].
fn read_bounded(
    reader: impl std::io::Read,
    path: &Path,
    limit: (&'static str, usize, &'static str),
) -> Result<Vec<u8>, ReadError> {
    let (name, limit_bytes, hint) = limit;
    let mut bytes = Vec::new();
    reader
        .take(limit_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    if bytes.len() > limit_bytes {
        return Err(ReadError::TooLarge { path: path.to_path_buf(), limit: name, limit_bytes, hint });
    }
    Ok(bytes)
}

/// Reads a Score file or an overrides file as text: at most
/// [`MAX_DOCUMENT_BYTES`].
///
/// A named pipe is opened without waiting for a writer (`O_NONBLOCK`, then cleared for the
/// read), so a FIFO nobody writes to reads as empty instead of blocking the run for ever,
/// while `<(...)` process substitution still works.
pub fn read_document(path: &Path) -> Result<String, ReadError> {
    let file = open_without_waiting(path).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    let limit =
        ("MAX_DOCUMENT_BYTES", MAX_DOCUMENT_BYTES, "keep large content in `source` files, or split the workload");
    let bytes = read_bounded(file, path, limit)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotText { path: path.to_path_buf() })
}

/// Opens `path` for reading without blocking on a FIFO that has no writer: `O_NONBLOCK` for
/// the open, cleared afterwards so reads wait for data as usual (a FIFO without a writer
/// then reads as end of file). Without the `engine` feature (the macro), a plain open.
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(feature = "engine")]
    {
        use std::os::unix::fs::OpenOptionsExt as _;

        use rustix::fs::OFlags;
        let flags = OFlags::NONBLOCK | OFlags::NOCTTY;
        let file = std::fs::OpenOptions::new().read(true).custom_flags(flags.bits().cast_signed()).open(path)?;
        let current = rustix::fs::fcntl_getfl(&file)?;
        rustix::fs::fcntl_setfl(&file, current - OFlags::NONBLOCK)?;
        Ok(file)
    }
    #[cfg(not(feature = "engine"))]
    std::fs::File::open(path)
}

/// What a file that is not a regular file is, for messages; `None` for a regular file.
#[cfg(feature = "engine")]
fn not_regular(file_type: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;

    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("a folder")
    } else if file_type.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// Whether a path is under `/proc` (checked on a path with symlinks resolved).
pub fn is_proc_path(path: &Path) -> bool {
    path.starts_with("/proc")
}

/// Reads a regular file of at most `limit` bytes (`(name, value, what to do)` of a limit in
/// [`crate::limits`]). A FIFO, device, folder or socket is refused without blocking on it, and
/// so is a symlink as the last component (resolve the path first) and anything on `/proc`.
#[cfg(feature = "engine")]
pub fn read_regular(path: &Path, limit: (&'static str, usize, &'static str)) -> Result<Vec<u8>, ReadError> {
    use std::os::unix::fs::OpenOptionsExt as _;

    use rustix::fs::OFlags;

    let io = |source: std::io::Error| ReadError::Io { path: path.to_path_buf(), source };
    if is_proc_path(path) {
        return Err(ReadError::Proc { path: path.to_path_buf() });
    }
    // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one
    // (it is refused below); O_NOCTTY: a terminal never becomes ours; O_NOFOLLOW: the path was
    // resolved by the caller, a symlink now is a swap.
    let flags = OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::NOFOLLOW;
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(flags.bits().cast_signed()).open(path).map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                ReadError::NotRegular { path: path.to_path_buf(), kind: "a symbolic link" }
            } else {
                io(e)
            }
        })?;
    read_opened(file, path, limit)
}

/// The checks of [`read_regular`] on an opened file, then the bounded read.
#[cfg(feature = "engine")]
fn read_opened(
    file: std::fs::File,
    path: &Path,
    limit: (&'static str, usize, &'static str),
) -> Result<Vec<u8>, ReadError> {
    let io = |source: std::io::Error| ReadError::Io { path: path.to_path_buf(), source };
    // Checked on the opened file, not on the path: what was checked is what is read.
    if let Some(kind) = not_regular(file.metadata().map_err(io)?.file_type()) {
        return Err(ReadError::NotRegular { path: path.to_path_buf(), kind });
    }
    // procfs mounted elsewhere, or reached through a bind mount.
    #[cfg(target_os = "linux")]
    if rustix::fs::fstatfs(&file).map_err(|e| io(e.into()))?.f_type == rustix::fs::PROC_SUPER_MAGIC {
        return Err(ReadError::Proc { path: path.to_path_buf() });
    }
    read_bounded(file, path, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "engine")]
    const LIMIT: (&str, usize, &str) = ("MAX_SOURCE_FILE_BYTES", 16, "make it smaller");

    #[test]
    fn documents_are_read_up_to_their_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("score.yaml");
        std::fs::write(&path, "a: 1\n").unwrap();
        assert_eq!(read_document(&path).unwrap(), "a: 1\n");
        std::fs::write(&path, vec![b'#'; MAX_DOCUMENT_BYTES + 10]).unwrap();
        let e = read_document(&path).unwrap_err().to_string();
        assert!(e.contains("score.yaml is larger than 1 MiB (limits::MAX_DOCUMENT_BYTES)"), "{e}");
        // An endless device stops at the limit.
        let e = read_document(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { .. }), "{e}");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_document(&path), Err(ReadError::NotText { .. })));
    }

    #[cfg(feature = "engine")]
    #[test]
    fn only_regular_files_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"0123456789abcdef").unwrap();
        assert_eq!(read_regular(&file, LIMIT).unwrap().len(), 16);
        std::fs::write(&file, b"0123456789abcdefg").unwrap();
        let e = read_regular(&file, LIMIT).unwrap_err().to_string();
        assert!(e.ends_with("is larger than 16 bytes (limits::MAX_SOURCE_FILE_BYTES); make it smaller"), "{e}");

        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = read_regular(&fifo, LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a named pipe (FIFO)", .. }), "{e}");
        let e = read_regular(Path::new("/dev/zero"), LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a character device", .. }), "{e}");
        let e = read_regular(dir.path(), LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a folder", .. }), "{e}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(read_regular(&link, LIMIT), Err(ReadError::NotRegular { kind: "a symbolic link", .. })));
        let e = read_regular(Path::new("/proc/self/environ"), LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::Proc { .. }), "{e}");
        // procfs is recognised on the opened file too (mounted elsewhere, bind-mounted).
        let environ = std::fs::File::open("/proc/self/environ").unwrap();
        let e = read_opened(environ, Path::new("/elsewhere/environ"), LIMIT).unwrap_err();
        assert!(matches!(e, ReadError::Proc { .. }), "{e}");
        assert!(matches!(read_regular(&dir.path().join("missing"), LIMIT), Err(ReadError::Io { .. })));
    }
}
