//! glibc compatibility: the versions a binary needs (its `.gnu.version_r` entries for
//! `libc.so.6`) against the versions the base image's `libc.so.6` defines (found by
//! [`super::libs`], where the loader finds it).

use std::fmt;

use object::read::elf::{ElfFile64, FileHeader as _};
use object::{Endianness, elf};

/// A `GLIBC_x.y[.z]` version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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
