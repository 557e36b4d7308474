//! Which paths a run may write: an output never replaces an input, a project file, or
//! another output of the same run.
//!
//! The rule is decided on the file each path reaches, not on its spelling:
//! `./x/../score.yaml`, a symbolic link to the Score file and a hard link to it are all the
//! Score file. A path that does not exist yet is resolved through its nearest existing
//! folder (so `new/../score.yaml` is still the Score file).
//!
//! - A **protected file** (a Score file, an overrides file, a `source` file, a package's
//!   `Cargo.toml`) is never an output.
//! - A **protected folder** (the project folder `.score-fly/`: state, lock, provisioner
//!   files, `.gitignore`) holds no output the user names; score-fly's own generated files
//!   (`.score-fly/files/<app>/...`) are the only outputs that live in a `.score-fly`
//!   folder.
//! - A **protected tree** (a package's `src/`) may receive new files, but none of its
//!   existing files is replaced.
//! - Two outputs of one run are never one file (`--secrets-file fly_web.toml`, two
//!   workloads written to one `-o` file).
//! - A **folder output** (`--output-oci DIR`, which fills the folder with an image layout)
//!   holds no protected path: never the project, never a package.
//!
//! The CLI gathers the protected paths and the outputs of a command and calls [`check`]
//! before writing anything (and before provisioning, for what is known by then).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::fsutil::normalize;

/// The project folder's name (see `state::STATE_DIR`).
const PROJECT_FOLDER: &str = ".score-fly";

/// A path no output may replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// The path, as the user knows it.
    pub path: PathBuf,
    /// What it is, e.g. `the Score file`.
    pub what: String,
    kind: ProtectedKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProtectedKind {
    File,
    Folder,
    Tree,
}

impl Protected {
    /// A file no output may be.
    pub fn file(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Protected { path: path.into(), what: what.into(), kind: ProtectedKind::File }
    }

    /// A folder no named output may be inside (the project folder `.score-fly/`).
    pub fn folder(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Protected { path: path.into(), what: what.into(), kind: ProtectedKind::Folder }
    }

    /// A folder whose existing files no output may replace (a package's `src/`).
    pub fn tree(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Protected { path: path.into(), what: what.into(), kind: ProtectedKind::Tree }
    }
}

/// A path a run will write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The path, as the user gave it (or as score-fly made it).
    pub path: PathBuf,
    /// How the user knows it, e.g. `--secrets-file` or ``the fly.toml of workload `web` ``.
    pub what: String,
    /// What to do when it is refused, e.g. `choose another --secrets-file`.
    pub remedy: String,
    kind: OutputKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Named,
    Generated,
    Folder,
}

impl Output {
    /// A file at a path the user named (`-o`, `--secrets-file`) or recorded by an earlier run.
    pub fn named(path: impl Into<PathBuf>, what: impl Into<String>, remedy: impl Into<String>) -> Self {
        Output { path: path.into(), what: what.into(), remedy: remedy.into(), kind: OutputKind::Named }
    }

    /// A file score-fly generates in a `.score-fly/files/` folder.
    pub fn generated(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Output {
            path: path.into(),
            what: what.into(),
            remedy: "give each workload its own output folder".to_owned(),
            kind: OutputKind::Generated,
        }
    }

    /// A folder the output fills (an OCI image layout).
    pub fn folder(path: impl Into<PathBuf>, what: impl Into<String>, remedy: impl Into<String>) -> Self {
        Output { path: path.into(), what: what.into(), remedy: remedy.into(), kind: OutputKind::Folder }
    }
}

/// An output refused by [`check`].
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output is a protected file (or would replace one).
    #[error("{what} {} would overwrite {victim_what} {}; {remedy}", path.display(), victim.display())]
    Overwrites {
        /// How the user knows the output.
        what: String,
        /// The output.
        path: PathBuf,
        /// What the protected file is.
        victim_what: String,
        /// The protected file.
        victim: PathBuf,
        /// What to do.
        remedy: String,
    },
    /// A named output inside a `.score-fly` folder.
    #[error(
        "{what} {} is inside {}, score-fly's project folder (state, lock, provisioners), where it writes only its own files; {remedy}",
        path.display(),
        folder.display()
    )]
    InProjectFolder {
        /// How the user knows the output.
        what: String,
        /// The output.
        path: PathBuf,
        /// The `.score-fly` folder.
        folder: PathBuf,
        /// What to do.
        remedy: String,
    },
    /// A folder output would hold a protected path.
    #[error("{what} {} holds {victim_what} {}: the folder is for the output alone; {remedy}", path.display(), victim.display())]
    FolderHolds {
        /// How the user knows the output.
        what: String,
        /// The folder.
        path: PathBuf,
        /// What the protected path is.
        victim_what: String,
        /// The protected path.
        victim: PathBuf,
        /// What to do.
        remedy: String,
    },
    /// Two outputs of one run are one file.
    #[error(
        "{first_what} {} and {second_what} {} are the same file: the second would replace the first; {remedy}",
        first.display(),
        second.display()
    )]
    Twice {
        /// How the user knows the first output.
        first_what: String,
        /// The first output.
        first: PathBuf,
        /// How the user knows the second.
        second_what: String,
        /// The second output.
        second: PathBuf,
        /// What to do.
        remedy: String,
    },
}

/// The file a path reaches: its real path (links resolved, through its nearest existing
/// folder when it does not exist) and, when it exists, its device and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    real: PathBuf,
    inode: Option<(u64, u64)>,
}

/// Resolves paths to [`Identity`]s, each folder once (a run may write a hundred generated
/// files into one folder).
#[derive(Default)]
struct Resolver {
    folders: HashMap<PathBuf, Option<PathBuf>>,
}

impl Resolver {
    fn identity(&mut self, path: &Path) -> Identity {
        use std::os::unix::fs::MetadataExt as _;
        let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
        // `absolute` keeps `..` as written: it must be resolved after the links before it.
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        // A name that is not a link, in a folder that exists: the real folder and the name.
        if let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) {
            let inode = match std::fs::symlink_metadata(&absolute) {
                Ok(meta) if !meta.file_type().is_symlink() => Some(Some((meta.dev(), meta.ino()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
                _ => None,
            };
            if let Some(inode) = inode
                && let Some(real_parent) = self.folder(parent)
            {
                return Identity { real: real_parent.join(name), inode };
            }
        }
        if let Ok(real) = std::fs::canonicalize(&absolute) {
            let inode = std::fs::metadata(&real).ok().map(|m| (m.dev(), m.ino()));
            return Identity { real, inode };
        }
        let components: Vec<Component<'_>> = absolute.components().collect();
        for existing in (1..components.len()).rev() {
            let base: PathBuf = components[..existing].iter().collect();
            if let Some(real) = self.folder(&base) {
                let rest: PathBuf = components[existing..].iter().collect();
                return Identity { real: normalize(&real.join(rest)), inode: None };
            }
        }
        Identity { real: normalize(&absolute), inode: None }
    }

    /// The real path of a folder that exists (`None` if it does not).
    fn folder(&mut self, folder: &Path) -> Option<PathBuf> {
        self.folders.entry(folder.to_path_buf()).or_insert_with(|| std::fs::canonicalize(folder).ok()).clone()
    }
}

impl Identity {
    fn same_file(&self, other: &Identity) -> bool {
        self.real == other.real || (self.inode.is_some() && self.inode == other.inode)
    }

    /// The `.score-fly` folder this path is in, if any.
    fn project_folder(&self) -> Option<PathBuf> {
        let mut folder = PathBuf::new();
        for component in self.real.components() {
            folder.push(component);
            if component.as_os_str() == PROJECT_FOLDER {
                return Some(folder);
            }
        }
        None
    }
}

/// Checks every output of a run against the protected paths and against each other; the
/// first conflict is the error (nothing has been written when it is returned).
pub fn check(protected: &[Protected], outputs: &[Output]) -> Result<(), OutputError> {
    let mut resolver = Resolver::default();
    let guarded: Vec<(&Protected, Identity)> = protected.iter().map(|p| (p, resolver.identity(&p.path))).collect();
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    let mut seen_inodes: HashMap<(u64, u64), usize> = HashMap::new();
    let mut identities: Vec<Identity> = Vec::with_capacity(outputs.len());
    for (index, output) in outputs.iter().enumerate() {
        let id = resolver.identity(&output.path);
        check_one(output, &id, &guarded)?;
        let earlier = seen.get(&id.real).or_else(|| id.inode.and_then(|i| seen_inodes.get(&i))).copied();
        if let Some(first) = earlier {
            let first_output = &outputs[first];
            return Err(OutputError::Twice {
                first_what: first_output.what.clone(),
                first: first_output.path.clone(),
                second_what: output.what.clone(),
                second: output.path.clone(),
                remedy: output.remedy.clone(),
            });
        }
        seen.insert(id.real.clone(), index);
        if let Some(inode) = id.inode {
            seen_inodes.insert(inode, index);
        }
        identities.push(id);
    }
    // A folder output holds no other output of the run either.
    for (output, id) in outputs.iter().zip(&identities).filter(|(o, _)| o.kind == OutputKind::Folder) {
        for (other, other_id) in outputs.iter().zip(&identities) {
            if !std::ptr::eq(output, other) && other_id.real.starts_with(&id.real) {
                return Err(OutputError::FolderHolds {
                    what: output.what.clone(),
                    path: output.path.clone(),
                    victim_what: other.what.clone(),
                    victim: other.path.clone(),
                    remedy: output.remedy.clone(),
                });
            }
        }
    }
    Ok(())
}

fn check_one(output: &Output, id: &Identity, guarded: &[(&Protected, Identity)]) -> Result<(), OutputError> {
    let overwrites = |victim: &Protected| OutputError::Overwrites {
        what: output.what.clone(),
        path: output.path.clone(),
        victim_what: victim.what.clone(),
        victim: victim.path.clone(),
        remedy: output.remedy.clone(),
    };
    if output.kind != OutputKind::Generated
        && let Some(folder) = id.project_folder()
    {
        return Err(OutputError::InProjectFolder {
            what: output.what.clone(),
            path: output.path.clone(),
            folder: shown_folder(&output.path, folder),
            remedy: output.remedy.clone(),
        });
    }
    for (victim, victim_id) in guarded {
        let refused = match victim.kind {
            ProtectedKind::File => id.same_file(victim_id),
            ProtectedKind::Folder => output.kind != OutputKind::Generated && id.real.starts_with(&victim_id.real),
            ProtectedKind::Tree => {
                output.kind != OutputKind::Folder && id.inode.is_some() && id.real.starts_with(&victim_id.real)
            }
        };
        if refused {
            return Err(match victim.kind {
                ProtectedKind::Folder => OutputError::InProjectFolder {
                    what: output.what.clone(),
                    path: output.path.clone(),
                    folder: victim.path.clone(),
                    remedy: output.remedy.clone(),
                },
                _ => overwrites(victim),
            });
        }
        if output.kind == OutputKind::Folder && (victim_id.real.starts_with(&id.real) || id.same_file(victim_id)) {
            return Err(OutputError::FolderHolds {
                what: output.what.clone(),
                path: output.path.clone(),
                victim_what: victim.what.clone(),
                victim: victim.path.clone(),
                remedy: output.remedy.clone(),
            });
        }
    }
    Ok(())
}

/// The `.score-fly` folder as the user spelled it (the real path if they did not).
fn shown_folder(given: &Path, real_folder: PathBuf) -> PathBuf {
    let mut shown = PathBuf::new();
    for component in given.components() {
        shown.push(component);
        if component.as_os_str() == PROJECT_FOLDER {
            return shown;
        }
    }
    real_folder
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("score.yaml"), "x").unwrap();
            std::fs::create_dir_all(dir.path().join(".score-fly/files/acme-web")).unwrap();
            std::fs::write(dir.path().join(".score-fly/state.json"), "{}").unwrap();
            std::fs::create_dir_all(dir.path().join("src")).unwrap();
            std::fs::write(dir.path().join("src/main.rs"), "fn main() {}").unwrap();
            Fixture { dir }
        }

        fn p(&self, relative: &str) -> PathBuf {
            self.dir.path().join(relative)
        }

        fn protected(&self) -> Vec<Protected> {
            vec![
                Protected::file(self.p("score.yaml"), "the Score file"),
                Protected::folder(self.p(".score-fly"), "the project folder"),
                Protected::tree(self.p("src"), "the sources of package `web`"),
            ]
        }

        fn check(&self, outputs: &[Output]) -> Result<(), OutputError> {
            check(&self.protected(), outputs)
        }
    }

    fn secrets(path: PathBuf) -> Output {
        Output::named(path, "--secrets-file", "choose another --secrets-file")
    }

    #[test]
    fn an_output_is_never_an_input_however_it_is_spelled() {
        let f = Fixture::new();
        std::fs::create_dir(f.p("x")).unwrap();
        symlink(f.p("score.yaml"), f.p("link.yaml")).unwrap();
        std::fs::hard_link(f.p("score.yaml"), f.p("hard.yaml")).unwrap();
        for spelling in ["score.yaml", "x/../score.yaml", "./score.yaml", "new/../score.yaml", "link.yaml", "hard.yaml"]
        {
            let err = f.check(&[secrets(f.p(spelling))]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("--secrets-file {} would overwrite the Score file", f.p(spelling).display())),
                "{spelling}: {err}"
            );
            assert!(err.ends_with("; choose another --secrets-file"), "{err}");
        }
        f.check(&[secrets(f.p("api.secrets"))]).unwrap();
    }

    #[test]
    fn no_named_output_lives_in_a_project_folder() {
        let f = Fixture::new();
        for spelling in [
            ".score-fly/state.json",
            ".score-fly/lock",
            ".score-fly/cli.provisioners.yaml",
            ".score-fly/.gitignore",
            "x/../.score-fly/new",
        ] {
            let err = f.check(&[secrets(f.p(spelling))]).unwrap_err().to_string();
            assert!(
                err.contains("is inside") && err.contains(".score-fly, score-fly's project folder"),
                "{spelling}: {err}"
            );
        }
        // Another project's folder too (beside an output elsewhere).
        let err = f.check(&[secrets(f.p("sub/.score-fly/x"))]).unwrap_err().to_string();
        assert!(err.contains("sub/.score-fly, score-fly's project folder"), "{err}");
        // Its own generated files are fine.
        f.check(&[Output::generated(f.p(".score-fly/files/acme-web/%2Fx"), "a generated file")]).unwrap();
    }

    #[test]
    fn a_tree_keeps_its_files_but_takes_new_ones() {
        let f = Fixture::new();
        let err = f.check(&[Output::named(f.p("src/main.rs"), "-o", "choose another -o")]).unwrap_err().to_string();
        assert!(err.contains("would overwrite the sources of package `web`"), "{err}");
        f.check(&[Output::named(f.p("src/fly_web.toml"), "-o", "choose another -o")]).unwrap();
    }

    #[test]
    fn two_outputs_are_never_one_file() {
        let f = Fixture::new();
        let fly = Output::named(f.p("fly_web.toml"), "the fly.toml of workload `web`", "choose another -o");
        let err = f.check(&[fly.clone(), secrets(f.p("./fly_web.toml"))]).unwrap_err().to_string();
        assert!(err.starts_with("the fly.toml of workload `web`"), "{err}");
        assert!(
            err.contains("are the same file: the second would replace the first; choose another --secrets-file"),
            "{err}"
        );
        std::fs::write(f.p("fly_web.toml"), "").unwrap();
        symlink(f.p("fly_web.toml"), f.p("alias.toml")).unwrap();
        assert!(f.check(&[fly, secrets(f.p("alias.toml"))]).is_err());
    }

    #[test]
    fn a_folder_output_holds_nothing_of_the_project() {
        let f = Fixture::new();
        let oci = |p: &str| Output::folder(f.p(p), "--output-oci", "choose an empty folder for --output-oci");
        for spelling in [".", "src", "x/..", ".score-fly", ".score-fly/oci", "score.yaml"] {
            assert!(f.check(&[oci(spelling)]).is_err(), "{spelling}");
        }
        let err = f.check(&[oci(".")]).unwrap_err().to_string();
        assert!(err.contains("the folder is for the output alone"), "{err}");
        f.check(&[oci("target/oci")]).unwrap();
        f.check(&[oci("src/oci")]).unwrap();
    }
}
