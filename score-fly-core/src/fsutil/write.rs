//! Atomic writes (and a few reads) that never follow a planted symbolic link; see
//! [`super`] for the rules.

use std::ffi::{OsStr, OsString};
use std::io::{Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::{FsError, normalize};

/// A file to write with [`write_all_atomic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    /// Destination.
    pub path: PathBuf,
    /// Content.
    pub bytes: Vec<u8>,
    /// Unix mode for the new file (default 0644, less the umask).
    pub mode: Option<u32>,
    /// The folder used as given, when it is not the destination's own folder: nothing
    /// between it and the destination (the destination included) may be a link.
    anchor: Option<PathBuf>,
    /// Whether the file and the rename are synced to disk (not for throwaway files).
    durable: bool,
}

impl PendingWrite {
    /// A write to a path the user named: its folder is used as given (created if missing),
    /// and a symbolic link at the destination itself is replaced, never written through.
    pub fn new(path: PathBuf, bytes: Vec<u8>) -> Self {
        PendingWrite { path, bytes, mode: None, anchor: None, durable: true }
    }

    /// A write to `relative` inside `anchor`, a folder whose inside score-fly owns (the
    /// project root for `.score-fly/...`, an OCI layout folder): `anchor` is used as given,
    /// but every folder below it is opened without following links, and a link on the way
    /// or at the destination is an error naming it. `relative` must hold plain names only.
    pub fn inside(anchor: impl Into<PathBuf>, relative: impl AsRef<Path>, bytes: Vec<u8>) -> Self {
        let anchor = anchor.into();
        PendingWrite { path: anchor.join(relative), bytes, mode: None, anchor: Some(anchor), durable: true }
    }

    /// The same write with Unix permissions `mode` (e.g. `0o600` for secrets).
    #[must_use]
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The same write, still atomic but not synced to disk: for informational files (the
    /// lock holder's pid) that a crash may lose.
    #[must_use]
    pub fn not_durable(mut self) -> Self {
        self.durable = false;
        self
    }

    /// What the destination holds now, reached as the write would reach it (no link below
    /// the anchor is followed, nor one at the destination), at most `max_bytes` of it;
    /// `None` when it is missing, not a regular file (a FIFO is never opened for reading), a
    /// link, unreadable or longer: whatever it is, it is not this write's content.
    pub fn current(&self, max_bytes: usize) -> Option<Vec<u8>> {
        let (anchor, names) = self.split().ok()?;
        let relative: PathBuf = names.iter().collect();
        read_inside(&anchor, &relative, max_bytes).ok().flatten()
    }

    /// The folder used as given and the names below it (the last is the file's).
    fn split(&self) -> Result<(PathBuf, Vec<&OsStr>), FsError> {
        split(self.anchor.as_deref(), &self.path, "write")
    }
}

/// `path` as an anchor and the plain names below it.
fn split<'p>(
    anchor: Option<&Path>,
    path: &'p Path,
    action: &'static str,
) -> Result<(PathBuf, Vec<&'p OsStr>), FsError> {
    let Some(anchor) = anchor else {
        let name =
            path.file_name().ok_or_else(|| FsError::new(action, path, std::io::Error::other("it names no file")))?;
        return Ok((parent_of(path), vec![name]));
    };
    let relative = path.strip_prefix(anchor).map_err(|_| {
        FsError::new(action, path, std::io::Error::other(format!("it is not inside {}", anchor.display())))
    })?;
    let mut names = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => names.push(name),
            _ => {
                return Err(FsError::new(
                    action,
                    path,
                    std::io::Error::other(format!("only plain names may follow {}", anchor.display())),
                ));
            }
        }
    }
    if names.is_empty() {
        return Err(FsError::new(action, path, std::io::Error::other("it names no file")));
    }
    Ok((anchor.to_path_buf(), names))
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename), creating parent
/// folders. `mode` sets Unix permissions on the new file (e.g. `0o600` for secrets). See
/// [`PendingWrite::new`].
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FsError> {
    let mut write = PendingWrite::new(path.to_path_buf(), bytes.to_vec());
    write.mode = mode;
    write_all_atomic(std::slice::from_ref(&write))
}

/// Writes `bytes` to `relative` inside `anchor` atomically, following no link below
/// `anchor` (see [`PendingWrite::inside`]).
pub fn write_atomic_inside(anchor: &Path, relative: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FsError> {
    let mut write = PendingWrite::inside(anchor, relative, bytes.to_vec());
    write.mode = mode;
    write_all_atomic(std::slice::from_ref(&write))
}

/// A written, not yet renamed temporary file.
struct Staged<'w> {
    write: &'w PendingWrite,
    /// The destination's folder, opened (renames happen relative to it, so a folder
    /// swapped for a link afterwards changes nothing); shared by the writes into it.
    folder: Arc<OwnedFd>,
    folder_path: PathBuf,
    name: OsString,
    temporary: OsString,
    file: std::fs::File,
}

impl Staged<'_> {
    fn discard(&self) {
        let _ = rustix::fs::unlinkat(&*self.folder, self.temporary.as_os_str(), AtFlags::empty());
    }
}

/// Writes several files all or nothing, as far as the filesystem allows: every file is
/// first written and synced to a temporary file of its own beside its destination; only
/// when all of them succeeded are they renamed into place (renames do not fail for the
/// reasons writes do). On a failure, the temporary files are removed and no destination
/// is touched. Two writes to one destination are an error (the second would silently win).
pub fn write_all_atomic(writes: &[PendingWrite]) -> Result<(), FsError> {
    check_distinct(writes)?;
    // Write every temporary file, then sync them all at once (concurrent fsyncs share
    // journal commits, so 100 files cost little more than one), then rename.
    let mut staged: Vec<Staged<'_>> = Vec::with_capacity(writes.len());
    let mut folders = Folders::new();
    for write in writes {
        match stage(write, &mut folders) {
            Ok(s) => staged.push(s),
            Err(e) => {
                staged.iter().for_each(Staged::discard);
                return Err(e);
            }
        }
    }
    let synced: Result<(), FsError> = std::thread::scope(|scope| {
        let sync = |chunk: &[Staged<'_>]| {
            chunk
                .iter()
                .filter(|s| s.write.durable)
                .try_for_each(|s| s.file.sync_all().map_err(|e| FsError::new("write", &s.write.path, e)))
        };
        let mut handles = Vec::new();
        let mut here = Ok(());
        for chunk in staged.chunks(staged.len().div_ceil(SYNC_THREADS).max(1)) {
            match std::thread::Builder::new().stack_size(SYNC_STACK_BYTES).spawn_scoped(scope, move || sync(chunk)) {
                Ok(handle) => handles.push((handle, chunk)),
                // No thread to be had (a process or memory limit): sync these here instead.
                Err(_) => here = here.and_then(|()| sync(chunk)),
            }
        }
        for (handle, chunk) in handles {
            handle.join().unwrap_or_else(|_| {
                let path = chunk.first().map_or(Path::new("."), |s| s.write.path.as_path());
                Err(FsError::new("write", path, std::io::Error::other("the thread syncing it stopped unexpectedly")))
            })?;
        }
        here
    });
    if let Err(e) = synced {
        staged.iter().for_each(Staged::discard);
        return Err(e);
    }
    for (i, s) in staged.iter().enumerate() {
        if let Err(e) = rustix::fs::renameat(&*s.folder, s.temporary.as_os_str(), &*s.folder, s.name.as_os_str()) {
            staged[i..].iter().for_each(Staged::discard);
            return Err(FsError::new("write", &s.write.path, e.into()));
        }
    }
    // Make the renames durable (best effort: not every filesystem syncs folders).
    let mut synced_folders: Vec<&Path> = Vec::new();
    for s in staged.iter().filter(|s| s.write.durable) {
        if !synced_folders.contains(&s.folder_path.as_path()) {
            let _ = rustix::fs::fsync(&*s.folder);
            synced_folders.push(&s.folder_path);
        }
    }
    Ok(())
}

/// Files synced at once by [`write_all_atomic`].
const SYNC_THREADS: usize = 16;

/// Stack of a thread that only calls `fsync`.
const SYNC_STACK_BYTES: usize = 64 * 1024;

/// Temporary names tried before giving up (each taken name, a planted link included, is
/// skipped; the next one differs in its sequence number and its time).
const TEMPORARY_ATTEMPTS: usize = 64;

/// Characters of the destination's name kept in its temporary file's name (file names are
/// at most 255 bytes; the rest of the temporary name needs about 40).
const TEMPORARY_NAME_BYTES: usize = 128;

/// One destination, one write.
fn check_distinct(writes: &[PendingWrite]) -> Result<(), FsError> {
    let mut seen: Vec<PathBuf> = writes.iter().map(|w| normalize(&w.path)).collect();
    seen.sort();
    if let Some([twice, _]) = seen.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(FsError::new(
            "write",
            twice,
            std::io::Error::other("two outputs of this run are this one file; give each its own path"),
        ));
    }
    Ok(())
}

/// The folders a batch of writes opened, by anchor and path (the same folder reached from
/// another anchor is opened again: what may be followed differs).
type Folders = std::collections::HashMap<(PathBuf, PathBuf), Arc<OwnedFd>>;

/// Writes a temporary file beside the destination (not synced yet).
fn stage<'w>(write: &'w PendingWrite, opened: &mut Folders) -> Result<Staged<'w>, FsError> {
    let (anchor, names) = write.split()?;
    let (name, folders) = names.split_last().expect("split gives at least one name");
    let folder_path = folders.iter().fold(anchor.clone(), |p, n| p.join(n));
    let key = (anchor.clone(), folder_path.clone());
    let folder = if let Some(folder) = opened.get(&key) {
        Arc::clone(folder)
    } else {
        let folder = Arc::new(open_folders(&anchor, folders, &write.path, "write", true)?);
        opened.insert(key, Arc::clone(&folder));
        folder
    };
    match rustix::fs::statat(&*folder, *name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                return Err(FsError::new("write", &write.path, std::io::Error::other("it is a folder")));
            }
            // A link the user named is replaced by the rename; inside an anchor it is refused.
            FileType::Symlink if write.anchor.is_some() => {
                return Err(link_error("write", &write.path, &write.path, &scope_of(&anchor, &names)));
            }
            FileType::RegularFile | FileType::Symlink => {}
            _ => {
                return Err(FsError::new(
                    "write",
                    &write.path,
                    std::io::Error::other("it is a device, a FIFO or a socket, which score-fly never replaces"),
                ));
            }
        },
        Err(Errno::NOENT) => {}
        Err(e) => return Err(FsError::new("write", &write.path, e.into())),
    }
    let names_to_try = std::iter::repeat_with(|| temporary_name(name)).take(TEMPORARY_ATTEMPTS);
    let (temporary, fd) =
        create_temporary(&folder, names_to_try, write.mode).map_err(|e| FsError::new("write", &write.path, e))?;
    let mut file = std::fs::File::from(fd);
    let written = (|| {
        if let Some(mode) = write.mode {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(&write.bytes)
    })();
    if let Err(e) = written {
        let _ = rustix::fs::unlinkat(&*folder, temporary.as_os_str(), AtFlags::empty());
        return Err(FsError::new("write", &write.path, e));
    }
    Ok(Staged { write, folder, folder_path, name: name.to_os_string(), temporary, file })
}

/// Creates the first of `names` that does not exist yet in `folder`, exclusively
/// (`O_CREAT|O_EXCL|O_NOFOLLOW`): an existing name, a planted link included, is skipped and
/// never opened.
fn create_temporary(
    folder: &OwnedFd,
    names: impl Iterator<Item = OsString>,
    mode: Option<u32>,
) -> std::io::Result<(OsString, OwnedFd)> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(mode.unwrap_or(0o644));
    for name in names {
        match rustix::fs::openat(folder, name.as_os_str(), flags, mode) {
            Ok(fd) => return Ok((name, fd)),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{TEMPORARY_ATTEMPTS} temporary names beside it were all taken; remove the `.*.tmp` files there"),
    ))
}

/// `.<name>.<pid>.<sequence>.<time>.tmp`: unique within this process by its sequence,
/// between processes by the pid, hard to guess by the time.
fn temporary_name(name: &OsStr) -> OsString {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let name = name.to_string_lossy();
    let mut end = name.len().min(TEMPORARY_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    OsString::from(format!(".{}.{}.{sequence}.{nanos:08x}.tmp", &name[..end], std::process::id()))
}

/// Whether a file name has the shape of score-fly's temporary files (`.<...>.tmp`): the
/// leftovers of a process killed mid-write.
pub fn is_temporary(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.len() > ".tmp".len() + 1 && name.starts_with(b".") && name.ends_with(b".tmp")
}

/// Opens `folders` one below the other from `anchor` without following links (creating
/// the missing ones when `create`). Errors name `target`, what was being done to it.
fn open_folders(
    anchor: &Path,
    folders: &[&OsStr],
    target: &Path,
    action: &'static str,
    create: bool,
) -> Result<OwnedFd, FsError> {
    let anchor_path = if anchor.as_os_str().is_empty() { Path::new(".") } else { anchor };
    if create {
        std::fs::create_dir_all(anchor_path).map_err(|e| FsError::new("create folder", anchor_path, e))?;
    }
    let mut fd = rustix::fs::open(anchor_path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| FsError::new(action, target, e.into()))?;
    let mut here = anchor.to_path_buf();
    for name in folders {
        here.push(name);
        let mut opened = open_child_folder(&fd, name);
        if create && matches!(opened, Err(Errno::NOENT)) {
            match rustix::fs::mkdirat(&fd, *name, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(FsError::new("create folder", &here, e.into())),
            }
            opened = open_child_folder(&fd, name);
        }
        match opened {
            Ok(next) => fd = next,
            Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                let is_link = rustix::fs::statat(&fd, *name, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink);
                if is_link {
                    return Err(link_error(action, target, &here, &anchor.join(folders[0])));
                }
                let e = if e == Errno::NOTDIR { std::io::Error::other("it is not a folder") } else { e.into() };
                return Err(FsError::new(action, &here, e));
            }
            Err(e) => return Err(FsError::new(action, target, e.into())),
        }
    }
    Ok(fd)
}

fn open_child_folder(folder: &OwnedFd, name: &OsStr) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        folder,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The folder named in a link error: the first folder below `anchor` on the way to the
/// file `names` lead to ("inside .score-fly/" reads better than "below the project").
fn scope_of(anchor: &Path, names: &[&OsStr]) -> PathBuf {
    match names {
        [first, _, ..] => anchor.join(first),
        _ if anchor.as_os_str().is_empty() => PathBuf::from("."),
        _ => anchor.to_path_buf(),
    }
}

/// The error for `link` (below the folder `scope`), a symbolic link met while doing
/// `action` to `target`.
pub fn link_error(action: &'static str, target: &Path, link: &Path, scope: &Path) -> FsError {
    FsError::new(
        action,
        target,
        std::io::Error::other(format!(
            "{} is a symbolic link, and score-fly never follows links inside {}/; replace it with a real file or folder, or remove it",
            link.display(),
            scope.display()
        )),
    )
}

/// Opens `relative` inside `anchor` for reading, following no link below `anchor`; `None`
/// when it (or a folder on the way) does not exist. Only a regular file is opened: a link,
/// a FIFO, a device or a folder there is an error naming it.
pub fn open_inside(anchor: &Path, relative: &Path) -> Result<Option<std::fs::File>, FsError> {
    let path = anchor.join(relative);
    let (anchor, names) = split(Some(anchor), &path, "read")?;
    let (name, folders) = names.split_last().expect("split gives at least one name");
    let folder = match open_folders(&anchor, folders, &path, "read", false) {
        Ok(folder) => folder,
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(&folder, *name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err(link_error("read", &path, &path, &scope_of(&anchor, &names))),
        Err(e) => return Err(FsError::new("read", &path, e.into())),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| FsError::new("read", &path, e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(FsError::new("read", &path, std::io::Error::other("it is not a regular file")));
    }
    Ok(Some(std::fs::File::from(fd)))
}

/// Reads `relative` inside `anchor` like [`open_inside`], at most `max_bytes` of it (a
/// longer file is an error naming the bound).
pub fn read_inside(anchor: &Path, relative: &Path, max_bytes: usize) -> Result<Option<Vec<u8>>, FsError> {
    let Some(file) = open_inside(anchor, relative)? else { return Ok(None) };
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    file.take(limit).read_to_end(&mut bytes).map_err(|e| FsError::new("read", &anchor.join(relative), e))?;
    if bytes.len() > max_bytes {
        return Err(FsError::new(
            "read",
            &anchor.join(relative),
            std::io::Error::other(format!("it is larger than {max_bytes} bytes")),
        ));
    }
    Ok(Some(bytes))
}

/// Removes the file `relative` inside `anchor` without following links below `anchor` (a
/// link there is removed itself, never its target). A missing file is not an error.
pub fn remove_inside(anchor: &Path, relative: &Path) -> Result<(), FsError> {
    let path = anchor.join(relative);
    let (anchor, names) = split(Some(anchor), &path, "remove")?;
    let (name, folders) = names.split_last().expect("split gives at least one name");
    let folder = match open_folders(&anchor, folders, &path, "remove", false) {
        Ok(folder) => folder,
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    match rustix::fs::unlinkat(&folder, *name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(FsError::new("remove", &path, e.into())),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _, symlink};

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_creates_folders_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/secret.env");
        write_atomic(&path, b"one", Some(0o600)).unwrap();
        write_atomic(&path, b"two", Some(0o600)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(names_in(path.parent().unwrap()), ["secret.env"], "no temporary file left behind");
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
        assert_eq!(names_in(dir.path()), ["blocker"], "no temporary file left");
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

    /// The `--secrets-file fly_<name>.toml` defect: two writes to one file in one run
    /// shared a temporary file (opened with `O_TRUNC`), so the last content won silently.
    #[test]
    fn two_writes_to_one_destination_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fly_web.toml");
        let err = write_all_atomic(&[
            PendingWrite::new(path.clone(), b"app = 'web'".to_vec()),
            PendingWrite::new(dir.path().join("./fly_web.toml"), b"SECRET=x".to_vec()).with_mode(0o600),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("two outputs of this run are this one file"), "{err}");
        assert!(names_in(dir.path()).is_empty(), "{:?}", names_in(dir.path()));
    }

    #[test]
    fn writes_in_one_folder_never_share_a_temporary_file() {
        let a = temporary_name(OsStr::new("fly.toml"));
        let b = temporary_name(OsStr::new("fly.toml"));
        assert_ne!(a, b);
        assert!(is_temporary(&a) && is_temporary(&b), "{a:?} {b:?}: the stale-file cleanup must recognise them");
        let long = temporary_name(OsStr::new(&"é".repeat(120)));
        assert!(long.len() <= 255, "{} bytes", long.len());
        assert!(!is_temporary(OsStr::new("state.json")) && !is_temporary(OsStr::new(".tmp")));
    }

    /// A link planted at the temporary name is skipped (`O_EXCL`), never opened or followed.
    #[test]
    fn a_planted_link_at_a_temporary_name_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        symlink(&victim, dir.path().join(".fly.toml.planted.tmp")).unwrap();
        // A dangling link too: O_CREAT alone would create its target.
        symlink(outside.path().join("created"), dir.path().join(".fly.toml.dangling.tmp")).unwrap();
        let folder = open_folders(dir.path(), &[], dir.path(), "write", false).unwrap();
        let names = ["planted", "dangling", "free"].map(|n| OsString::from(format!(".fly.toml.{n}.tmp")));
        let (name, fd) = create_temporary(&folder, names.into_iter(), None).unwrap();
        assert_eq!(name, ".fly.toml.free.tmp");
        std::fs::File::from(fd).write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!outside.path().join("created").exists());
        // Every name taken: an error, still nothing followed.
        let names = ["planted", "dangling"].map(|n| OsString::from(format!(".fly.toml.{n}.tmp")));
        let err = create_temporary(&folder, names.into_iter(), None).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    /// The old temporary name, `.<name>.<pid>.tmp`, planted as a link: the write ignores it.
    #[test]
    fn the_old_predictable_temporary_name_planted_as_a_link_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.path().join(format!(".fly.toml.{}.tmp", std::process::id()));
        symlink(&victim, &planted).unwrap();
        write_atomic(&dir.path().join("fly.toml"), b"app = 'x'", None).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read(dir.path().join("fly.toml")).unwrap(), b"app = 'x'");
        assert!(std::fs::symlink_metadata(dir.path().join("fly.toml")).unwrap().is_file());
    }

    /// Inside an anchor, a link on the way or at the destination is refused, naming it.
    #[test]
    fn inside_an_anchor_no_link_is_followed() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::create_dir_all(root.path().join(".score-fly/files")).unwrap();
        symlink(outside.path(), root.path().join(".score-fly/files/web")).unwrap();
        symlink(&victim, root.path().join(".score-fly/state.json")).unwrap();

        let err = write_atomic_inside(root.path(), Path::new(".score-fly/files/web/victim"), b"x", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(".score-fly/files/web is a symbolic link"), "{err}");
        assert!(err.contains("never follows links inside") && err.contains(".score-fly/"), "{err}");
        let err = write_atomic_inside(root.path(), Path::new(".score-fly/state.json"), b"{}", Some(0o600)).unwrap_err();
        assert!(err.to_string().contains("state.json is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(names_in(outside.path()), ["victim"]);
        assert_eq!(names_in(&root.path().join(".score-fly")), ["files", "state.json"], "no temporary file left");

        // `.score-fly` itself a link.
        let other = tempfile::tempdir().unwrap();
        symlink(outside.path(), other.path().join(".score-fly")).unwrap();
        let err = write_atomic_inside(other.path(), Path::new(".score-fly/lock"), b"1\n", None).unwrap_err();
        assert!(err.to_string().contains(".score-fly is a symbolic link"), "{err}");
        assert_eq!(names_in(outside.path()), ["victim"]);

        // Reads and removals do not follow either.
        let err = read_inside(root.path(), Path::new(".score-fly/state.json"), 100).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        let err = read_inside(other.path(), Path::new(".score-fly/lock"), 100).unwrap_err();
        assert!(err.to_string().contains(".score-fly is a symbolic link"), "{err}");
        remove_inside(root.path(), Path::new(".score-fly/state.json")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "the link is removed, not its target");
        let err = remove_inside(root.path(), Path::new(".score-fly/files/web/victim")).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert!(victim.exists());
        // `..` cannot climb out of an anchor.
        let err = write_atomic_inside(root.path(), Path::new(".score-fly/../../x"), b"x", None).unwrap_err();
        assert!(err.to_string().contains("only plain names"), "{err}");
    }

    /// One batch, one folder reached two ways: as a named output's folder (followed, the
    /// user named it) and inside an anchor (never followed). The second is still refused.
    #[test]
    fn a_folder_opened_for_one_write_is_not_reused_from_another_anchor() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        symlink(outside.path(), root.path().join("out")).unwrap();
        let err = write_all_atomic(&[
            PendingWrite::new(root.path().join("out/fly.toml"), b"a".to_vec()),
            PendingWrite::inside(root.path(), "out/x", b"b".to_vec()),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("out is a symbolic link"), "{err}");
        assert!(names_in(outside.path()).is_empty(), "{:?}", names_in(outside.path()));
        // Many writes into one folder share it.
        let writes: Vec<PendingWrite> = (0..50)
            .map(|i| PendingWrite::inside(root.path(), format!(".score-fly/files/web/f{i}"), vec![b'x'; i]))
            .collect();
        write_all_atomic(&writes).unwrap();
        assert_eq!(names_in(&root.path().join(".score-fly/files/web")).len(), 50);
        assert_eq!(std::fs::read(root.path().join(".score-fly/files/web/f7")).unwrap(), b"xxxxxxx");
    }

    /// A link the user named as an output is replaced, never written through.
    #[test]
    fn a_link_at_a_named_destination_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("fly.toml");
        symlink(&victim, &link).unwrap();
        write_atomic(&link, b"app = 'x'", None).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    }

    /// `--secrets-file /dev/null` (as root) would have replaced the device with a file.
    #[test]
    fn a_device_or_fifo_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let err = write_atomic(&fifo, b"x", None).unwrap_err().to_string();
        assert!(err.contains("a device, a FIFO or a socket, which score-fly never replaces"), "{err}");
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names_in(dir.path()), ["fifo"]);
        let err = write_atomic(Path::new("/dev/null"), b"x", None).unwrap_err().to_string();
        assert!(err.contains("never replaces"), "{err}");
        assert!(std::fs::symlink_metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[test]
    fn reads_inside_take_regular_files_only_and_are_bounded() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(read_inside(root.path(), Path::new(".score-fly/lock"), 10).unwrap(), None);
        std::fs::create_dir(root.path().join(".score-fly")).unwrap();
        assert_eq!(read_inside(root.path(), Path::new(".score-fly/lock"), 10).unwrap(), None);
        std::fs::write(root.path().join(".score-fly/lock"), "123\n").unwrap();
        assert_eq!(read_inside(root.path(), Path::new(".score-fly/lock"), 10).unwrap().unwrap(), b"123\n");
        let err = read_inside(root.path(), Path::new(".score-fly/lock"), 2).unwrap_err();
        assert!(err.to_string().contains("larger than 2 bytes"), "{err}");
        let fifo = root.path().join(".score-fly/fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let err = read_inside(root.path(), Path::new(".score-fly/fifo"), 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert_eq!(remove_inside(root.path(), Path::new(".score-fly/nothing")).unwrap(), ());
    }
}
