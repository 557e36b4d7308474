//! Shared libraries: every `DT_NEEDED` entry of the binary (and of each library it finds)
//! looked up in the base image's filesystem the way glibc's loader looks it up, so a
//! library the base lacks is refused before anything is written or pushed.
//!
//! The base's filesystem is read once per base (by manifest digest) into a [`BaseIndex`]:
//! the layers applied in order with their whiteouts (`.wh.<name>` removes a lower layer's
//! entry, `.wh..wh..opq` empties a folder of the lower layers' entries), keeping symbolic
//! links, the x86-64 ELF files with what they need, and `/etc/ld.so.conf` with its
//! includes. Paths are resolved inside that filesystem, never on the host: a link is
//! followed as the container would follow it (absolute targets from the image's root).
//!
//! The search order is glibc's (`ld.so(8)`): `DT_RPATH` (when there is no `DT_RUNPATH`), the
//! image's `LD_LIBRARY_PATH`, `DT_RUNPATH`, the folders `/etc/ld.so.conf` lists (what
//! `ldconfig` puts in the cache), then the default folders ([`DEFAULT_DIRS`]: Debian's
//! multiarch folders and the upstream `lib64` ones). `$ORIGIN` is the folder the object was
//! found in (`/app` for the binary), `$LIB` tries `lib64` and `lib/x86_64-linux-gnu`,
//! `$PLATFORM` is `x86_64`. A file of another architecture is skipped, as the loader skips it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Read as _;

use object::elf;
use object::read::elf::{Dyn as _, ProgramHeader as _};
use serde::{Deserialize, Serialize};

use super::glibc;
use crate::limits::{MAX_BASE_LIBRARY_BYTES, MAX_DOCUMENT_BYTES, MAX_SYMLINK_HOPS};

/// The folders glibc searches last: Debian's (multiarch, then `/lib`, `/usr/lib`) and the
/// upstream x86-64 ones (`/lib64`, `/usr/lib64`).
pub const DEFAULT_DIRS: &[&str] =
    &["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

/// What the loader reads from an x86-64 ELF file's dynamic section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfInfo {
    /// `PT_INTERP`: the loader (executables only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interp: Option<String>,
    /// `DT_NEEDED`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needed: Vec<String>,
    /// `DT_RPATH` folders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rpath: Vec<String>,
    /// `DT_RUNPATH` folders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runpath: Vec<String>,
    /// The newest `GLIBC_x.y` version it defines (a `libc.so.6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glibc: Option<glibc::Version>,
}

/// Reads an x86-64 ELF file's loader needs; an error for anything else.
pub fn elf_info(bytes: &[u8]) -> Result<ElfInfo, glibc::ElfError> {
    let file = glibc::parse_elf(bytes)?;
    let endian = file.endian();
    glibc::x86_64(&file)?;
    let mut info = ElfInfo::default();
    for header in file.elf_program_headers() {
        if let Ok(Some(interp)) = header.interpreter(endian, bytes) {
            info.interp = Some(String::from_utf8_lossy(interp).into_owned());
        }
    }
    let sections = file.elf_section_table();
    if let Some((entries, link)) = sections.dynamic(endian, bytes)? {
        let strings = sections.strings(endian, bytes, link)?;
        for entry in entries {
            let Some(tag) = entry.tag32(endian) else { continue };
            if !matches!(tag, elf::DT_NEEDED | elf::DT_RPATH | elf::DT_RUNPATH) {
                continue;
            }
            let text = String::from_utf8_lossy(entry.string(endian, strings)?).into_owned();
            match tag {
                elf::DT_NEEDED => info.needed.push(text),
                elf::DT_RPATH => info.rpath.extend(text.split(':').filter(|p| !p.is_empty()).map(str::to_owned)),
                _ => info.runpath.extend(text.split(':').filter(|p| !p.is_empty()).map(str::to_owned)),
            }
        }
    }
    info.glibc = glibc::provided(bytes).ok().flatten();
    Ok(info)
}

/// One entry of the base image's filesystem, as far as the loader cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// A symbolic link and its target.
    Link(String),
    /// An x86-64 ELF file.
    Elf(ElfInfo),
    /// An ELF file the loader would skip (another architecture or class, or unreadable).
    Foreign,
    /// A file larger than [`MAX_BASE_LIBRARY_BYTES`], not read: taken to be usable.
    Unread,
    /// `/etc/ld.so.conf` or a file it may include (text).
    Conf(String),
}

/// The parts of a base image's filesystem the loader reads, keyed by path (no leading `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseIndex {
    /// Paths → entries (folders and other files are left out).
    pub nodes: BTreeMap<String, Node>,
}

/// A base image layer that cannot be read as a tar file (gzip, zstd or uncompressed).
#[derive(Debug, thiserror::Error)]
#[error("layer {layer} of the base image is not a tar file (gzip, zstd or uncompressed): {source}")]
pub struct LayerError {
    /// Which layer (1 is the lowest).
    pub layer: usize,
    /// What reading it answered.
    pub source: std::io::Error,
}

/// What one layer entry is, for [`BaseIndex::from_layers`].
enum Seen {
    Folder,
    Other,
    Node(Node),
}

impl BaseIndex {
    /// Applies tar layers (gzip, zstd or uncompressed: [`super::compression`]) in order (base
    /// first), whiteouts included.
    pub fn from_layers<'a>(layers: impl IntoIterator<Item = &'a [u8]>) -> Result<BaseIndex, LayerError> {
        // Every path seen (folders and other files too, so whiteouts and opaque folders
        // remove exactly what lower layers put there), with the layer that put it there.
        let mut all: BTreeMap<String, (usize, Seen)> = BTreeMap::new();
        for (number, layer) in layers.into_iter().enumerate() {
            let mut archive = tar::Archive::new(super::compression::tar_stream(layer));
            let broken = |source: std::io::Error| LayerError { layer: number + 1, source };
            for entry in archive.entries().map_err(broken)? {
                let mut entry = entry.map_err(broken)?;
                let path = clean(&entry.path().map_err(broken)?.to_string_lossy());
                if path.is_empty() {
                    continue;
                }
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
                if name == ".wh..wh..opq" {
                    let prefix = format!("{dir}/");
                    let doomed: Vec<String> = all
                        .range(prefix.clone()..)
                        .take_while(|(k, _)| k.starts_with(&prefix))
                        .filter(|(_, (layer, _))| *layer < number)
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in doomed {
                        all.remove(&key);
                    }
                    continue;
                }
                if let Some(hidden) = name.strip_prefix(".wh.") {
                    let target = if dir.is_empty() { hidden.to_owned() } else { format!("{dir}/{hidden}") };
                    remove_tree(&mut all, &target);
                    continue;
                }
                let seen = match entry.header().entry_type() {
                    tar::EntryType::Directory => Seen::Folder,
                    tar::EntryType::Symlink => match entry.link_name().map_err(broken)? {
                        Some(target) => Seen::Node(Node::Link(target.to_string_lossy().into_owned())),
                        None => Seen::Other,
                    },
                    // A hard link is the file it names (in this layer or a lower one).
                    tar::EntryType::Link => {
                        let target = entry.link_name().map_err(broken)?.map(|t| clean(&t.to_string_lossy()));
                        match target.and_then(|t| all.get(&t)) {
                            Some((_, Seen::Node(node))) => Seen::Node(node.clone()),
                            _ => Seen::Other,
                        }
                    }
                    tar::EntryType::Regular | tar::EntryType::Continuous => {
                        read_file(&path, &mut entry).map_err(broken)?
                    }
                    _ => Seen::Other,
                };
                // A layer replaces what lower layers had at this path (a file over a folder
                // hides the folder's contents too).
                if !matches!(seen, Seen::Folder) {
                    remove_tree(&mut all, &path);
                }
                all.insert(path, (number, seen));
            }
        }
        let nodes = all
            .into_iter()
            .filter_map(|(path, (_, seen))| match seen {
                Seen::Node(node) => Some((path, node)),
                Seen::Folder | Seen::Other => None,
            })
            .collect();
        Ok(BaseIndex { nodes })
    }

    /// Resolves `path` (absolute, or relative to the root) inside the image, following links
    /// in every component; the final path and its entry, `None` if nothing is there (or the
    /// links go round more than [`MAX_SYMLINK_HOPS`] times).
    pub fn resolve(&self, path: &str) -> Option<(String, &Node)> {
        let here = self.resolve_folder(path)?;
        self.nodes.get(&here).map(|node| (format!("/{here}"), node))
    }

    /// The folders `/etc/ld.so.conf` lists, includes followed (in the order `ldconfig`
    /// reads them; each folder once).
    pub fn conf_dirs(&self) -> Vec<String> {
        let mut dirs = Vec::new();
        let mut read = BTreeSet::new();
        self.read_conf("/etc/ld.so.conf", &mut dirs, &mut read);
        let mut seen = BTreeSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        dirs
    }

    fn read_conf(&self, path: &str, dirs: &mut Vec<String>, read: &mut BTreeSet<String>) {
        let Some((real, Node::Conf(text))) = self.resolve(path) else { return };
        if !read.insert(real.clone()) {
            return;
        }
        let folder = real.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d }).to_owned();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(pattern) = line.strip_prefix("include").filter(|r| r.starts_with([' ', '\t'])) {
                for pattern in pattern.split_whitespace() {
                    let pattern =
                        if pattern.starts_with('/') { pattern.to_owned() } else { format!("{folder}/{pattern}") };
                    for file in self.glob(&pattern) {
                        self.read_conf(&file, dirs, read);
                    }
                }
            } else if !line.starts_with("hwcap") {
                // Folders separated by spaces, tabs, commas or colons; `dir=TYPE` is libc5's.
                for dir in line.split([' ', '\t', ',', ':']).filter(|d| !d.is_empty()) {
                    let dir = dir.split('=').next().unwrap_or_default();
                    if dir.starts_with('/') {
                        dirs.push(dir.trim_end_matches('/').to_owned());
                    }
                }
            }
        }
    }

    /// The files matching a pattern whose last component may hold `*` and `?`, sorted.
    fn glob(&self, pattern: &str) -> Vec<String> {
        let (folder, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
        let Some(real_folder) = self.resolve_folder(folder) else { return Vec::new() };
        let prefix = if real_folder.is_empty() { String::new() } else { format!("{real_folder}/") };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| &k[prefix.len()..])
            .filter(|file| !file.contains('/'))
            .filter(|file| wildcard(name, file))
            .map(|file| format!("/{prefix}{file}"))
            .collect()
    }

    /// A path (relative to the root, without the leading `/`) with the links on the way
    /// resolved inside the image, the last component too when it is a link (folders are not
    /// indexed: a folder is taken as it is); `None` when the links go round more than
    /// [`MAX_SYMLINK_HOPS`] times. [`BaseIndex::resolve`] looks the result up.
    fn resolve_folder(&self, folder: &str) -> Option<String> {
        let mut current: Vec<String> = Vec::new();
        let mut pending: VecDeque<String> = components(folder).collect();
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            current.push(part);
            if let Some(Node::Link(target)) = self.nodes.get(&current.join("/")) {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return None;
                }
                current.pop();
                if target.starts_with('/') {
                    current.clear();
                }
                for (i, c) in components(target).enumerate() {
                    pending.insert(i, c);
                }
            }
        }
        Some(current.join("/"))
    }

    /// The newest glibc version of the `libc.so.6` the loader finds, `None` if it finds none.
    pub fn glibc(&self) -> Option<Option<glibc::Version>> {
        let search = Search::new(self, Vec::new());
        match search.find("libc.so.6", &ElfInfo::default(), "/app") {
            Some((_, Node::Elf(info))) => Some(info.glibc.clone()),
            Some(_) => Some(None),
            None => None,
        }
    }
}

/// Reads a regular file's entry if the loader may care about it.
fn read_file(path: &str, entry: &mut impl std::io::Read) -> Result<Seen, std::io::Error> {
    if path == "etc/ld.so.conf" || path.starts_with("etc/ld.so.conf.d/") {
        let mut bytes = Vec::new();
        entry.take(MAX_DOCUMENT_BYTES as u64).read_to_end(&mut bytes)?;
        return Ok(Seen::Node(Node::Conf(String::from_utf8_lossy(&bytes).into_owned())));
    }
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match entry.read(&mut magic[got..])? {
            0 => return Ok(Seen::Other),
            n => got += n,
        }
    }
    if &magic != b"\x7fELF" {
        return Ok(Seen::Other);
    }
    let mut bytes = magic.to_vec();
    entry.take(MAX_BASE_LIBRARY_BYTES as u64).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_BASE_LIBRARY_BYTES {
        return Ok(Seen::Node(Node::Unread));
    }
    Ok(Seen::Node(elf_info(&bytes).map_or(Node::Foreign, Node::Elf)))
}

/// Removes `path` and everything under it.
fn remove_tree<T>(all: &mut BTreeMap<String, T>, path: &str) {
    all.remove(path);
    let prefix = format!("{path}/");
    let doomed: Vec<String> =
        all.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    for key in doomed {
        all.remove(&key);
    }
}

/// A layer path without `./`, leading or trailing `/`.
fn clean(path: &str) -> String {
    components(path).collect::<Vec<_>>().join("/")
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_owned)
}

/// `*` and `?` matching of one path component.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A library the base image lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Its `DT_NEEDED` name (`libssl.so.3`), or the loader's path.
    pub name: String,
    /// Who needs it: the binary (`None`) or a library of the base (its path).
    pub needed_by: Option<String>,
}

/// What the binary needs that the base image lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The binary's loader (`PT_INTERP`) if the image lacks it.
    pub missing_loader: Option<String>,
    /// Libraries not found, binary's first, each once.
    pub missing: Vec<Missing>,
    /// The folders searched for the binary's own needs (for the message).
    pub searched: Vec<String>,
}

impl Report {
    /// Nothing is missing.
    pub fn is_ok(&self) -> bool {
        self.missing_loader.is_none() && self.missing.is_empty()
    }
}

/// The search path of one image: its `LD_LIBRARY_PATH` and `ld.so.conf` folders.
struct Search<'i> {
    index: &'i BaseIndex,
    library_path: Vec<String>,
    conf: Vec<String>,
}

impl<'i> Search<'i> {
    fn new(index: &'i BaseIndex, library_path: Vec<String>) -> Self {
        Search { index, library_path, conf: index.conf_dirs() }
    }

    /// The folders searched for what `object` (found in `origin`) needs, in order.
    fn dirs(&self, object: &ElfInfo, origin: &str) -> Vec<String> {
        let mut dirs = Vec::new();
        if object.runpath.is_empty() {
            dirs.extend(object.rpath.iter().flat_map(|d| expand(d, origin)));
        }
        dirs.extend(self.library_path.iter().flat_map(|d| expand(d, origin)));
        dirs.extend(object.runpath.iter().flat_map(|d| expand(d, origin)));
        dirs.extend(self.conf.iter().cloned());
        dirs.extend(DEFAULT_DIRS.iter().map(|d| (*d).to_owned()));
        let mut seen = BTreeSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        dirs
    }

    /// Where the loader finds `name` for `object`: the path it opened and the entry.
    fn find(&self, name: &str, object: &ElfInfo, origin: &str) -> Option<(String, &'i Node)> {
        if name.contains('/') {
            let path = if name.starts_with('/') { name.to_owned() } else { format!("{origin}/{name}") };
            return self.index.resolve(&path).filter(|(_, n)| usable(n)).map(|(_, n)| (path, n));
        }
        self.dirs(object, origin).into_iter().find_map(|dir| {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            self.index.resolve(&path).filter(|(_, n)| usable(n)).map(|(_, n)| (path, n))
        })
    }
}

/// Whether the loader would load this entry.
fn usable(node: &Node) -> bool {
    matches!(node, Node::Elf(_) | Node::Unread)
}

/// A search folder with `$ORIGIN`, `$LIB` and `$PLATFORM` expanded (relative folders are
/// relative to the working folder, `/app`).
fn expand(dir: &str, origin: &str) -> Vec<String> {
    let dir = dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
    let dir = dir.replace("${PLATFORM}", "x86_64").replace("$PLATFORM", "x86_64");
    let dirs = if dir.contains("$LIB") || dir.contains("${LIB}") {
        ["lib64", "lib/x86_64-linux-gnu"].iter().map(|lib| dir.replace("${LIB}", lib).replace("$LIB", lib)).collect()
    } else {
        vec![dir]
    };
    dirs.into_iter()
        .map(|d| if d.starts_with('/') { d } else { format!("{}/{d}", super::APP_DIR) })
        .map(|d| crate::fsutil::normalize(std::path::Path::new(&d)).to_string_lossy().into_owned())
        .collect()
}

/// Checks a binary installed at `path` (e.g. `/app/hello`) against the base image: its
/// loader, its libraries, and theirs. `env` is the image's environment (`KEY=VALUE`).
pub fn check(binary: &ElfInfo, path: &str, index: &BaseIndex, env: &[String]) -> Report {
    let library_path: Vec<String> = env
        .iter()
        .filter_map(|v| v.strip_prefix("LD_LIBRARY_PATH="))
        .flat_map(|v| v.split([':', ';']))
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let search = Search::new(index, library_path);
    let origin = path.rsplit_once('/').map_or("/", |(d, _)| d).to_owned();
    let mut report = Report { searched: search.dirs(binary, &origin), ..Report::default() };
    if let Some(interp) = &binary.interp
        && !index.resolve(interp).is_some_and(|(_, n)| usable(n))
    {
        report.missing_loader = Some(interp.clone());
    }
    // Breadth first, as the loader loads them; each library name once.
    let mut queue: VecDeque<(ElfInfo, String, Option<String>)> = VecDeque::from([(binary.clone(), origin, None)]);
    let mut done: BTreeSet<String> = BTreeSet::new();
    while let Some((object, origin, who)) = queue.pop_front() {
        for name in &object.needed {
            if !done.insert(name.clone()) {
                continue;
            }
            match search.find(name, &object, &origin) {
                Some((found, Node::Elf(info))) => {
                    let folder = found.rsplit_once('/').map_or("/", |(d, _)| d).to_owned();
                    queue.push_back((info.clone(), folder, Some(found)));
                }
                Some(_) => {}
                None => report.missing.push(Missing { name: name.clone(), needed_by: who.clone() }),
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_errors_name_the_layer() {
        let good = layer(&[("etc", Ok(None))]);
        let e = BaseIndex::from_layers([good.as_slice(), b"not gzip".as_slice()]).unwrap_err();
        assert_eq!(e.layer, 2);
        assert!(
            e.to_string().starts_with("layer 2 of the base image is not a tar file (gzip, zstd or uncompressed): "),
            "{e}"
        );
    }

    /// What a test layer entry is: `Ok(Some(bytes))` a file, `Ok(None)` a folder,
    /// `Err(target)` a link.
    type Kind<'a> = Result<Option<&'a [u8]>, &'a str>;

    /// A gzip tar layer of (path, kind) entries.
    fn layer(entries: &[(&str, Kind<'_>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, kind) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_mode(0o755);
            match kind {
                Ok(Some(bytes)) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(bytes.len() as u64);
                    builder.append_data(&mut header, path, *bytes).unwrap();
                }
                Ok(None) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, path, std::io::empty()).unwrap();
                }
                Err(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target).unwrap();
                }
            }
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn host(path: &str) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn this_test_binary_reads_its_needs() {
        let me = elf_info(&host(&std::env::current_exe().unwrap().to_string_lossy())).unwrap();
        assert!(me.needed.iter().any(|n| n == "libc.so.6"), "{me:?}");
        assert_eq!(me.interp.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        let libc = elf_info(&host("/lib/x86_64-linux-gnu/libc.so.6")).unwrap();
        assert!(libc.glibc.is_some());
        assert!(elf_info(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn links_conf_includes_whiteouts_and_origin() {
        let libz = host("/lib/x86_64-linux-gnu/libz.so.1");
        let libc = host("/lib/x86_64-linux-gnu/libc.so.6");
        let loader = host("/lib64/ld-linux-x86-64.so.2");
        let base = layer(&[
            ("usr/", Ok(None)),
            ("usr/lib/", Ok(None)),
            ("usr/lib/x86_64-linux-gnu/", Ok(None)),
            ("usr/lib/x86_64-linux-gnu/libc.so.6", Ok(Some(&libc))),
            ("usr/lib64/ld-linux-x86-64.so.2", Ok(Some(&loader))),
            ("lib", Err("usr/lib")),
            ("opt/z/lib/libz.so.1.2.13", Ok(Some(&libz))),
            ("opt/z/lib/libz.so.1", Err("libz.so.1.2.13")),
            ("etc/ld.so.conf", Ok(Some(b"# comment\ninclude /etc/ld.so.conf.d/*.conf\n"))),
            ("etc/ld.so.conf.d/z.conf", Ok(Some(b"/opt/z/lib\n"))),
            ("etc/ld.so.conf.d/z.txt", Ok(Some(b"/nowhere\n"))),
            ("app/vendor/libfoo.so", Ok(Some(&libz))),
        ]);
        let index = BaseIndex::from_layers([base.as_slice()]).unwrap();
        assert_eq!(index.conf_dirs(), ["/opt/z/lib"]);
        assert!(
            matches!(index.resolve("/lib/x86_64-linux-gnu/libc.so.6"), Some((p, Node::Elf(_))) if p == "/usr/lib/x86_64-linux-gnu/libc.so.6")
        );
        assert!(index.glibc().flatten().is_some());
        let binary = ElfInfo {
            needed: vec!["libz.so.1".into(), "libc.so.6".into(), "libfoo.so".into(), "libnope.so.2".into()],
            runpath: vec!["$ORIGIN/vendor".into()],
            ..ElfInfo::default()
        };
        let report = check(&binary, "/app/hello", &index, &[]);
        assert_eq!(report.missing, [Missing { name: "libnope.so.2".into(), needed_by: None }]);
        assert!(report.searched.starts_with(&["/app/vendor".to_owned(), "/opt/z/lib".to_owned()]), "{report:?}");

        // A later layer removes libz's folder contents (opaque) and the vendor library (whiteout).
        let upper = layer(&[("opt/z/lib/.wh..wh..opq", Ok(Some(b""))), ("app/vendor/.wh.libfoo.so", Ok(Some(b"")))]);
        let index = BaseIndex::from_layers([base.as_slice(), upper.as_slice()]).unwrap();
        let names: Vec<String> =
            check(&binary, "/app/hello", &index, &[]).missing.into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["libz.so.1", "libfoo.so", "libnope.so.2"]);
    }

    #[test]
    fn link_loops_end_and_transitive_needs_are_checked() {
        let libc = host("/lib/x86_64-linux-gnu/libc.so.6");
        let base = layer(&[
            ("lib/x86_64-linux-gnu/libc.so.6", Ok(Some(&libc))),
            ("lib/x86_64-linux-gnu/libloop.so", Err("libloop2.so")),
            ("lib/x86_64-linux-gnu/libloop2.so", Err("/lib/x86_64-linux-gnu/libloop.so")),
        ]);
        let index = BaseIndex::from_layers([base.as_slice()]).unwrap();
        assert!(index.resolve("/lib/x86_64-linux-gnu/libloop.so").is_none());
        // libc needs the loader, which this base lacks.
        let binary = ElfInfo {
            needed: vec!["libc.so.6".into()],
            interp: Some("/lib64/ld-linux-x86-64.so.2".into()),
            ..ElfInfo::default()
        };
        let report = check(&binary, "/app/x", &index, &[]);
        assert_eq!(report.missing_loader.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(
            report.missing,
            [Missing {
                name: "ld-linux-x86-64.so.2".into(),
                needed_by: Some("/lib/x86_64-linux-gnu/libc.so.6".into())
            }]
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "x86_64-linux-gnu.conf"));
        assert!(!wildcard("*.conf", "x.conf.bak"));
        assert!(wildcard("a?c*", "abcdef"));
        assert!(wildcard("*", ""));
    }
}
