//! Reproducible layers: a tar with sorted entries, fixed mtimes, uid/gid 0 and no user or
//! group names, compressed with gzip (no timestamp in the header). The same files give the
//! same bytes, hence the same digest.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256};

use super::oci;

/// One file of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path in the image (e.g. `/app/server`).
    pub path: String,
    /// Unix mode (e.g. `0o755`).
    pub mode: u32,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A built layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The gzip bytes (what is uploaded).
    pub compressed: Vec<u8>,
    /// Digest of `compressed`.
    pub digest: String,
    /// Digest of the uncompressed tar (the config's `diff_id`).
    pub diff_id: String,
}

/// The modification time written into layers: `SOURCE_DATE_EPOCH` if set, else 0.
///
/// An unset or empty variable means 0; a value that is not a whole number of seconds is an
/// error (the reproducible-builds specification asks builds to fail then, not to guess).
pub fn source_date_epoch() -> Result<u64, SourceDateEpochError> {
    parse_source_date_epoch(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

/// `SOURCE_DATE_EPOCH` is set but is not a whole number of seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "SOURCE_DATE_EPOCH `{value}` is not a number of seconds since 1970-01-01 (e.g. `$(git log -1 --format=%ct)`); fix or unset it"
)]
pub struct SourceDateEpochError {
    /// The variable's value.
    pub value: String,
}

/// [`source_date_epoch`] for a value of the variable (`None`: unset).
fn parse_source_date_epoch(value: Option<&str>) -> Result<u64, SourceDateEpochError> {
    match value {
        None => Ok(0),
        Some(v) if v.trim().is_empty() => Ok(0),
        Some(v) => v.trim().parse().map_err(|_| SourceDateEpochError { value: v.to_owned() }),
    }
}

/// Builds a layer from files (their parent folders are added, mode 0755).
pub fn build(entries: &[Entry], mtime: u64) -> std::io::Result<Layer> {
    let mut files: Vec<&Entry> = entries.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut dirs: Vec<String> = Vec::new();
    for f in &files {
        let mut parts: Vec<&str> = f.path.trim_start_matches('/').split('/').collect();
        parts.pop();
        for i in 1..=parts.len() {
            let dir = format!("{}/", parts[..i].join("/"));
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs.sort();
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    let header = |path_len_hint: usize, mode: u32, kind: tar::EntryType, size: u64| {
        let _ = path_len_hint;
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(size);
        h
    };
    for dir in &dirs {
        let mut h = header(dir.len(), 0o755, tar::EntryType::Directory, 0);
        tar.append_data(&mut h, dir, std::io::empty())?;
    }
    for f in &files {
        let mut h = header(f.path.len(), f.mode, tar::EntryType::Regular, f.bytes.len() as u64);
        tar.append_data(&mut h, f.path.trim_start_matches('/'), f.bytes.as_slice())?;
    }
    let uncompressed = tar.into_inner()?;
    let diff_id = oci::hex_digest(&Sha256::digest(&uncompressed));
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(&uncompressed)?;
    let compressed = gz.finish()?;
    let digest = oci::digest(&compressed);
    Ok(Layer { compressed, digest, diff_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn entries() -> Vec<Entry> {
        vec![
            Entry { path: "/app/server".into(), mode: 0o755, bytes: b"\x7fELF binary".to_vec() },
            Entry { path: "/etc/app/config.toml".into(), mode: 0o644, bytes: b"port = 8080\n".to_vec() },
        ]
    }

    #[test]
    fn same_input_same_digest_whatever_the_order() {
        let a = build(&entries(), 0).unwrap();
        let mut reversed = entries();
        reversed.reverse();
        let b = build(&reversed, 0).unwrap();
        assert_eq!(a, b);
        assert_ne!(build(&entries(), 1).unwrap().digest, a.digest, "the mtime is part of the content");
    }

    #[test]
    fn entries_are_sorted_with_parents_uid_0_and_fixed_mtime() {
        let layer = build(&entries(), 1_700_000_000).unwrap();
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(layer.compressed.as_slice()).read_to_end(&mut tar_bytes).unwrap();
        assert_eq!(layer.diff_id, oci::digest(&tar_bytes));
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let found: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (e.path().unwrap().display().to_string(), h.mode().unwrap(), h.uid().unwrap(), h.mtime().unwrap())
            })
            .collect();
        let paths: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(paths, ["app/", "etc/", "etc/app/", "app/server", "etc/app/config.toml"]);
        assert!(found.iter().all(|f| f.2 == 0 && f.3 == 1_700_000_000));
        assert_eq!(found[3].1, 0o755);
    }

    #[test]
    fn source_date_epoch_errors_carry_the_value() {
        assert_eq!(parse_source_date_epoch(None), Ok(0));
        assert_eq!(parse_source_date_epoch(Some(" ")), Ok(0));
        assert_eq!(parse_source_date_epoch(Some(" 1700000000\n")), Ok(1_700_000_000));
        let e = parse_source_date_epoch(Some("yesterday")).unwrap_err();
        assert_eq!(e, SourceDateEpochError { value: "yesterday".to_owned() });
        assert_eq!(
            e.to_string(),
            "SOURCE_DATE_EPOCH `yesterday` is not a number of seconds since 1970-01-01 (e.g. `$(git log -1 --format=%ct)`); fix or unset it"
        );
        assert!(parse_source_date_epoch(Some("-1")).is_err());
    }
}
