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
    let tmp = stage(path, bytes, mode)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(FsError::new("write", path, e));
    }
    sync_parent(path);
    Ok(())
}

/// A file to write with [`write_all_atomic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    /// Destination.
    pub path: PathBuf,
    /// Content.
    pub bytes: Vec<u8>,
    /// Unix mode for the new file (default 0644).
    pub mode: Option<u32>,
}

impl PendingWrite {
    /// A write with the default mode.
    pub fn new(path: PathBuf, bytes: Vec<u8>) -> Self {
        PendingWrite { path, bytes, mode: None }
    }
}

/// Writes several files all or nothing, as far as the filesystem allows: every file is
/// first written and synced to a temporary file beside its destination; only when all of
/// them succeeded are they renamed into place (renames do not fail for the reasons writes
/// do). On a failure, the temporary files are removed and no destination is touched.
pub fn write_all_atomic(writes: &[PendingWrite]) -> Result<(), FsError> {
    // Write every temporary file, then sync them all at once (concurrent fsyncs share
    // journal commits, so 100 files cost little more than one), then rename.
    let mut staged: Vec<(PathBuf, std::fs::File, &Path)> = Vec::with_capacity(writes.len());
    let cleanup = |staged: &[(PathBuf, std::fs::File, &Path)]| {
        for (tmp, _, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for write in writes {
        match stage_unsynced(&write.path, &write.bytes, write.mode) {
            Ok((tmp, file)) => staged.push((tmp, file, &write.path)),
            Err(e) => {
                cleanup(&staged);
                return Err(e);
            }
        }
    }
    let synced: Result<(), FsError> = std::thread::scope(|scope| {
        let handles: Vec<_> = staged
            .chunks(staged.len().div_ceil(SYNC_THREADS).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .try_for_each(|(_, file, path)| file.sync_all().map_err(|e| FsError::new("write", path, e)))
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().expect("sync threads do not panic"))
    });
    if let Err(e) = synced {
        cleanup(&staged);
        return Err(e);
    }
    for (i, (tmp, _, path)) in staged.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup(&staged[i..]);
            return Err(FsError::new("write", path, e));
        }
    }
    let mut parents: Vec<PathBuf> = staged.iter().map(|(_, _, path)| parent_of(path)).collect();
    parents.sort();
    parents.dedup();
    for parent in parents {
        sync_folder(&parent);
    }
    Ok(())
}

/// Files synced at once by [`write_all_atomic`].
const SYNC_THREADS: usize = 16;

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes and syncs a temporary file beside `path`; returns its path.
fn stage(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<PathBuf, FsError> {
    let (tmp, file) = stage_unsynced(path, bytes, mode)?;
    if let Err(e) = file.sync_all() {
        let _ = std::fs::remove_file(&tmp);
        return Err(FsError::new("write", path, e));
    }
    Ok(tmp)
}

/// Writes a temporary file beside `path` (not synced yet); returns its path and handle.
fn stage_unsynced(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(PathBuf, std::fs::File), FsError> {
    let parent = parent_of(path);
    std::fs::create_dir_all(&parent).map_err(|e| FsError::new("create folder", &parent, e))?;
    if path.is_dir() {
        return Err(FsError::new("write", path, std::io::Error::other("it is a folder")));
    }
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
        Ok(file)
    })();
    match result {
        Ok(file) => Ok((tmp, file)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(FsError::new("write", path, e))
        }
    }
}

/// Makes a rename durable (best effort: not every filesystem supports syncing folders).
fn sync_parent(path: &Path) {
    sync_folder(&parent_of(path));
}

fn sync_folder(folder: &Path) {
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
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
    fn write_all_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.toml");
        std::fs::write(dir.path().join("blocker"), "x").unwrap();
        let bad = dir.path().join("blocker/b.toml");
        let err =
            write_all_atomic(&[PendingWrite::new(good.clone(), b"a".to_vec()), PendingWrite::new(bad, b"b".to_vec())])
                .unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
        assert!(!good.exists(), "the first file must not be written when the second fails");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("blocker")], "no temporary file left");
        write_all_atomic(&[PendingWrite::new(good.clone(), b"a".to_vec())]).unwrap();
        assert_eq!(std::fs::read(&good).unwrap(), b"a");
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
