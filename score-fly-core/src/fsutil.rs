//! Filesystem helpers: atomic writes that never follow a planted link, and errors that
//! always name the path.
//!
//! Every file score-fly writes goes through [`write_all_atomic`] (or [`write_atomic`]):
//!
//! - **All or nothing.** The bytes go to a temporary file in the destination's folder, are
//!   synced, then renamed over the destination; several files are renamed only once every
//!   one of them was written and synced. A crash or an error never leaves a half-written
//!   file.
//! - **Never through a link.** A write names a folder used as given (its *anchor*) and the
//!   names below it. Below the anchor every folder is opened relative to the one above with
//!   `O_NOFOLLOW` (`openat`), so a symbolic link planted there is an error naming it, never
//!   followed. [`PendingWrite::new`] anchors at the destination's own folder (an output the
//!   user named: a link *at* the destination is replaced by the rename, never written
//!   through); [`PendingWrite::inside`] anchors at a folder whose inside score-fly owns (the
//!   project root for `.score-fly/...`, an OCI layout), where a link anywhere below, the
//!   destination included, is refused.
//! - **A temporary file of its own.** `.<name>.<pid>.<sequence>.<time>.tmp`, created with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW`: a name that exists (a planted link included) is skipped,
//!   never opened, so two writes never share one. [`is_temporary`] recognises the leftovers
//!   of a killed process.
//!
//! [`open_inside`], [`read_inside`] and [`remove_inside`] read and remove inside an anchor
//! by the same rules (regular files only: never a FIFO or a device).
//!
//! Which paths may be written at all (never an input or a project file) is
//! [`crate::outputs`]' rule.

use std::path::{Component, Path, PathBuf};

#[cfg(feature = "engine")]
mod write;
#[cfg(feature = "engine")]
pub use write::{
    PendingWrite, is_temporary, link_error, open_inside, read_inside, remove_inside, write_all_atomic, write_atomic,
    write_atomic_inside,
};

/// A filesystem operation that failed, with the path it was about.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} {}: {source}", path.display())]
pub struct FsError {
    /// What was being done (`read`, `write`, `create folder`...).
    pub action: &'static str,
    /// The path.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    /// Wraps an I/O error with the action and path.
    pub fn new(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        FsError { action, path: path.to_path_buf(), source }
    }
}

/// Reads a whole file as text.
pub fn read_to_string(path: &Path) -> Result<String, FsError> {
    std::fs::read_to_string(path).map_err(|e| FsError::new("read", path, e))
}

/// `path` as messages show it: relative to the current folder when below it.
pub fn shown(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).to_path_buf()
}

/// Removes `.` and resolves `..` without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() || out.as_os_str().is_empty() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to the folder `from`, lexically, with `/` separators. Both must be absolute
/// or both relative to the same folder; otherwise `to` is returned as is.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let from = normalize(from);
    let to = normalize(to);
    if from.is_absolute() != to.is_absolute() {
        return to.to_string_lossy().into_owned();
    }
    let from_parts: Vec<Component<'_>> = from.components().collect();
    let to_parts: Vec<Component<'_>> = to.components().collect();
    let common = from_parts.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    // Sharing only the root: an absolute path reads better than a climb to `/`.
    if to.is_absolute() && common <= 1 {
        return to.to_string_lossy().into_owned();
    }
    if from_parts[common..].iter().any(|c| matches!(c, Component::ParentDir)) {
        return to.to_string_lossy().into_owned();
    }
    let mut parts: Vec<String> = vec!["..".to_owned(); from_parts.len() - common];
    parts.extend(to_parts[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b/c.txt")), "c.txt");
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/d/c.txt")), "../d/c.txt");
        assert_eq!(relative_path(Path::new(""), Path::new("examples/hello/Dockerfile")), "examples/hello/Dockerfile");
        assert_eq!(relative_path(Path::new("out"), Path::new("./src/x")), "../src/x");
        assert_eq!(relative_path(Path::new("/a/./b/../b"), Path::new("/a/b/x")), "x");
        assert_eq!(relative_path(Path::new("/a"), Path::new("/a")), ".");
        assert_eq!(relative_path(Path::new("/tmp/x"), Path::new("/work/y")), "/work/y");
    }
}
