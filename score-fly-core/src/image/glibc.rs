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

/// Why a file is not an x86-64 ELF file score-fly can read (for [`required`], [`provided`]
/// and [`super::libs::elf_info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not a 64-bit ELF file at all.
    #[error("not a 64-bit ELF file ({0})")]
    NotElf64(object::read::Error),
    /// An ELF file for another machine.
    #[error("it is not an x86-64 binary")]
    NotX86_64 {
        /// Its `e_machine`.
        machine: u16,
    },
    /// A section the loader reads is broken (the ELF parser's message).
    #[error(transparent)]
    Malformed(#[from] object::read::Error),
}

pub(super) fn parse_elf(bytes: &[u8]) -> Result<ElfFile64<'_, Endianness>, ElfError> {
    ElfFile64::<Endianness>::parse(bytes).map_err(ElfError::NotElf64)
}

/// Fails unless `file` is for x86-64.
pub(super) fn x86_64(file: &ElfFile64<'_, Endianness>) -> Result<(), ElfError> {
    let machine = file.elf_header().e_machine(file.endian());
    if machine == elf::EM_X86_64 { Ok(()) } else { Err(ElfError::NotX86_64 { machine }) }
}

/// The newest glibc version a binary needs, `None` if it needs none (static, or no libc).
pub fn required(binary: &[u8]) -> Result<Option<Version>, ElfError> {
    let file = parse_elf(binary)?;
    let endian = file.endian();
    x86_64(&file)?;
    let sections = file.elf_section_table();
    let Some((mut needs, link)) = sections.gnu_verneed(endian, binary)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, binary, link)?;
    let mut newest = None;
    while let Some((need, mut aux)) = needs.next()? {
        let file_name = need.file(endian, strings)?;
        if !file_name.starts_with(b"libc.so") {
            continue;
        }
        while let Some(entry) = aux.next()? {
            if let Some(v) = Version::parse(entry.name(endian, strings)?) {
                newest = newest.max(Some(v));
            }
        }
    }
    Ok(newest)
}

/// The newest glibc version a `libc.so.6` defines.
pub fn provided(libc: &[u8]) -> Result<Option<Version>, ElfError> {
    let file = parse_elf(libc)?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut defs, link)) = sections.gnu_verdef(endian, libc)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, libc, link)?;
    let mut newest = None;
    while let Some((_, mut aux)) = defs.next()? {
        while let Some(entry) = aux.next()? {
            if let Some(v) = Version::parse(entry.name(endian, strings)?) {
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

    #[test]
    fn elf_errors_say_what_the_file_is() {
        let e = required(b"not elf").unwrap_err();
        assert!(matches!(e, ElfError::NotElf64(_)), "{e:?}");
        assert!(e.to_string().starts_with("not a 64-bit ELF file ("), "{e}");
        // This test binary, its e_machine (bytes 18..20, little-endian) set to aarch64.
        let mut other = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        other[18..20].copy_from_slice(&elf::EM_AARCH64.to_le_bytes());
        let e = required(&other).unwrap_err();
        assert_eq!(e, ElfError::NotX86_64 { machine: elf::EM_AARCH64 });
        assert_eq!(e.to_string(), "it is not an x86-64 binary");
        assert_eq!(super::super::libs::elf_info(&other).unwrap_err(), e);
    }
}
