//! glibc compatibility: the versions a binary needs (its `.gnu.version_r` entries for
//! `libc.so.6`) against the versions the base image's `libc.so.6` defines.

use std::fmt;
use std::io::Read as _;

use object::read::elf::{ElfFile64, FileHeader as _};
use object::{Endianness, elf};

/// A `GLIBC_x.y[.z]` version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub Vec<u32>);

impl Version {
    fn parse(name: &[u8]) -> Option<Version> {
        let text = std::str::from_utf8(name).ok()?.strip_prefix("GLIBC_")?;
        let parts: Option<Vec<u32>> = text.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(Version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join("."))
    }
}

fn parse_elf(bytes: &[u8]) -> Result<ElfFile64<'_, Endianness>, String> {
    ElfFile64::<Endianness>::parse(bytes).map_err(|e| format!("not a 64-bit ELF file ({e})"))
}

/// The newest glibc version a binary needs, `None` if it needs none (static, or no libc).
pub fn required(binary: &[u8]) -> Result<Option<Version>, String> {
    let file = parse_elf(binary)?;
    let endian = file.endian();
    let header = file.elf_header();
    if header.e_machine(endian) != elf::EM_X86_64 {
        return Err("it is not an x86-64 binary".to_owned());
    }
    let sections = file.elf_section_table();
    let Some((mut needs, link)) = sections.gnu_verneed(endian, binary).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, binary, link).map_err(|e| e.to_string())?;
    let mut newest = None;
    while let Some((need, mut aux)) = needs.next().map_err(|e| e.to_string())? {
        let file_name = need.file(endian, strings).map_err(|e| e.to_string())?;
        if !file_name.starts_with(b"libc.so") {
            continue;
        }
        while let Some(entry) = aux.next().map_err(|e| e.to_string())? {
            if let Some(v) = Version::parse(entry.name(endian, strings).map_err(|e| e.to_string())?) {
                newest = newest.max(Some(v));
            }
        }
    }
    Ok(newest)
}

/// The newest glibc version a `libc.so.6` defines.
pub fn provided(libc: &[u8]) -> Result<Option<Version>, String> {
    let file = parse_elf(libc)?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut defs, link)) = sections.gnu_verdef(endian, libc).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, libc, link).map_err(|e| e.to_string())?;
    let mut newest = None;
    while let Some((_, mut aux)) = defs.next().map_err(|e| e.to_string())? {
        while let Some(entry) = aux.next().map_err(|e| e.to_string())? {
            if let Some(v) = Version::parse(entry.name(endian, strings).map_err(|e| e.to_string())?) {
                newest = newest.max(Some(v));
            }
        }
    }
    Ok(newest)
}

const LIBC_PATHS: &[&str] = &[
    "lib/x86_64-linux-gnu/libc.so.6",
    "usr/lib/x86_64-linux-gnu/libc.so.6",
    "lib64/libc.so.6",
    "usr/lib64/libc.so.6",
    "lib/libc.so.6",
    "usr/lib/libc.so.6",
];

/// `libc.so.6` of an image, from its gzip layers (later layers win; symlinks within the
/// image are followed).
pub fn find_libc(layers: &[Vec<u8>]) -> Result<Option<Vec<u8>>, String> {
    // path → Some(content) | link target
    let mut files: std::collections::HashMap<String, Result<Vec<u8>, String>> = std::collections::HashMap::new();
    for layer in layers {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer.as_slice()));
        for entry in archive.entries().map_err(|e| format!("a base layer is not a tar.gz: {e}"))? {
            let mut entry = entry.map_err(|e| format!("a base layer is not a tar.gz: {e}"))?;
            let path = entry.path().map_err(|e| e.to_string())?.to_string_lossy().trim_start_matches("./").to_owned();
            // Only libc itself matters: `libc.so.6` and what it may link to (`libc-2.31.so`).
            let name = path.rsplit('/').next().unwrap_or_default();
            if !(name.starts_with("libc.so") || name.starts_with("libc-")) {
                continue;
            }
            match entry.header().entry_type() {
                tar::EntryType::Symlink => {
                    if let Ok(Some(target)) = entry.link_name() {
                        files.insert(path, Err(target.to_string_lossy().into_owned()));
                    }
                }
                tar::EntryType::Regular => {
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
                    files.insert(path, Ok(bytes));
                }
                _ => {}
            }
        }
    }
    for start in LIBC_PATHS {
        let mut path = (*start).to_owned();
        for _ in 0..10 {
            match files.get(&path) {
                Some(Ok(bytes)) => return Ok(Some(bytes.clone())),
                Some(Err(target)) => {
                    path = if target.starts_with('/') {
                        target.trim_start_matches('/').to_owned()
                    } else {
                        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                        crate::fsutil::normalize(std::path::Path::new(&format!("{dir}/{target}")))
                            .to_string_lossy()
                            .into_owned()
                    };
                }
                None => break,
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machines_libc_and_this_test_binary() {
        let libc = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").expect("Debian's libc");
        let has = provided(&libc).unwrap().expect("libc defines versions");
        assert!(has >= Version(vec![2, 36]), "{has}");
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let needs = required(&me).unwrap().expect("a Rust test binary links glibc");
        assert!(needs >= Version(vec![2, 2, 5]) && needs <= has, "{needs} vs {has}");
        assert!(required(b"not elf").is_err());
        assert_eq!(Version::parse(b"GLIBC_2.34"), Some(Version(vec![2, 34])));
        assert!(Version(vec![2, 9]) < Version(vec![2, 34]));
    }
}
