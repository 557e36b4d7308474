//! Where an image's sources come from, read with `git`: the commit, whether tracked files
//! changed since, the commit's time and the remote's URL (credentials removed). No git, or
//! a folder outside any repository, gives nothing: an image without these annotations.

use std::path::Path;
use std::process::{Command, Stdio};

/// What git says about the sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `HEAD`'s commit.
    pub revision: Option<String>,
    /// Tracked files differ from `HEAD` (untracked files do not count).
    pub dirty: bool,
    /// `HEAD`'s committer time, seconds since the epoch.
    pub commit_time: Option<u64>,
    /// The URL of `origin` (else of the only remote), without user or password.
    pub source: Option<String>,
}

/// Reads the provenance of `dir`'s sources; empty where git is missing or `dir` is not in a
/// work tree.
pub fn provenance(dir: &Path) -> Provenance {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let Some(revision) = git(&["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).filter(|r| is_hex(r)) else {
        return Provenance::default();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_none_or(|s| !s.is_empty());
    let commit_time = git(&["show", "-s", "--format=%ct", "HEAD"]).and_then(|t| t.parse().ok());
    let remotes = git(&["remote"]).unwrap_or_default();
    let remotes: Vec<&str> = remotes.lines().collect();
    let remote = if remotes.contains(&"origin") { Some("origin") } else { remotes.first().copied() };
    let source = remote.and_then(|r| git(&["remote", "get-url", r])).and_then(|url| public_url(&url));
    Provenance { revision: Some(revision), dirty, commit_time, source }
}

fn is_hex(text: &str) -> bool {
    (40..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A remote URL without its credentials: `https://user:token@host/x` → `https://host/x`;
/// scp-like `git@host:x` is kept (its user is not a secret); a URL with a query is dropped
/// (tokens hide there too), and so is a local path (it says nothing outside this machine).
pub fn public_url(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() || url.contains('?') || url.contains(char::is_whitespace) {
        return None;
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return None;
        }
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host.is_empty() {
            return None;
        }
        let path = if path.is_empty() { String::new() } else { format!("/{path}") };
        return Some(format!("{scheme}://{host}{path}"));
    }
    // scp-like syntax `[user@]host:path` (no `/` before the colon).
    match url.split_once(':') {
        Some((host, _)) if !host.contains('/') && !host.is_empty() => {
            let user_host = host.rsplit_once('@');
            match user_host {
                Some((user, _)) if user.contains(':') => None,
                _ => Some(url.to_owned()),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_lose_their_credentials() {
        assert_eq!(
            public_url("https://x:ghp_secret@github.com/acme/web.git").as_deref(),
            Some("https://github.com/acme/web.git")
        );
        assert_eq!(public_url("https://github.com/acme/web").as_deref(), Some("https://github.com/acme/web"));
        assert_eq!(public_url("ssh://git@github.com/acme/web.git").as_deref(), Some("ssh://github.com/acme/web.git"));
        assert_eq!(public_url("git@github.com:acme/web.git").as_deref(), Some("git@github.com:acme/web.git"));
        assert_eq!(public_url("https://github.com/acme/web?token=abc"), None);
        assert_eq!(public_url("/srv/git/web.git"), None);
        assert_eq!(public_url("file:///srv/git/web.git"), None);
        assert_eq!(public_url(""), None);
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .stdout(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn a_work_tree_gives_its_commit_time_remote_and_dirtiness() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(provenance(dir.path()), Provenance::default(), "not a repository: nothing");
        git(dir.path(), &["init", "-q"]);
        assert_eq!(provenance(dir.path()), Provenance::default(), "no commit yet: nothing");
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        git(dir.path(), &["add", "a.txt"]);
        git(dir.path(), &["commit", "-q", "-m", "one"]);
        git(dir.path(), &["remote", "add", "origin", "https://me:tok3n@example.com/acme/web.git"]);
        let p = provenance(dir.path());
        let revision = p.revision.clone().expect("a revision");
        assert_eq!(revision.len(), 40);
        assert!(!p.dirty);
        assert_eq!(p.commit_time, Some(1_700_000_000));
        assert_eq!(p.source.as_deref(), Some("https://example.com/acme/web.git"));
        std::fs::write(dir.path().join("notes.txt"), "untracked").unwrap();
        assert!(!provenance(dir.path()).dirty, "untracked files do not count");
        std::fs::write(dir.path().join("a.txt"), "changed").unwrap();
        let p = provenance(dir.path());
        assert!(p.dirty);
        assert_eq!(p.revision, Some(revision));
    }
}
