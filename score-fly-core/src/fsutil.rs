//! Filesystem helpers: atomic writes and errors that always name the path.
//!
//! Every file score-fly writes goes through [`write_atomic`]: a temporary file in the same
//! folder, `fsync`, then `rename`, so a crash or an error never leaves a half-written file.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

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

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename), creating parent
/// folders. `mode` sets Unix permissions on the new file (e.g. `0o600` for secrets).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FsError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| FsError::new("create folder", &parent, e))?;
    let file_name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(mode.unwrap_or(0o644));
        }
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(FsError::new("write", path, e));
    }
    // Make the rename durable too (best effort: not every filesystem supports it).
    if let Ok(dir) = std::fs::File::open(&parent) {
        let _ = dir.sync_all();
    }
    Ok(())
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

    #[test]
    fn atomic_write_creates_folders_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/secret.env");
        write_atomic(&path, b"one", Some(0o600)).unwrap();
        write_atomic(&path, b"two", Some(0o600)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let err = write_atomic(&blocker.join("child.toml"), b"x", None).unwrap_err().to_string();
        assert!(err.contains("file"), "{err}");
        assert!(err.starts_with("failed to create folder"), "{err}");
    }
}
