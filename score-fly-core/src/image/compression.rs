//! How a base image layer's bytes are read as a tar stream: gzip (what most registries
//! serve; every member of the stream), zstd (`application/vnd.oci.image.layer.v1.tar+zstd`,
//! one or more frames, skippable frames passed over, as `zstd:chunked` writes them) or an
//! uncompressed tar. The bytes say which, by their magic number; the layer's digest was
//! checked when it was fetched, so the zstd frames' own checksums are not computed again.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The compressions a layer may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`tar+gzip`, Docker's `tar.gzip`), one or more members.
    Gzip,
    /// Zstandard (`tar+zstd`).
    Zstd,
    /// None: the bytes are the tar stream.
    None,
}

impl Compression {
    /// What `bytes` start with.
    pub fn of(bytes: &[u8]) -> Compression {
        if bytes.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if bytes.starts_with(&ZSTD_MAGIC) || skippable_frame(bytes) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A zstd skippable frame starts with a magic number from 0x184D2A50 to 0x184D2A5F.
fn skippable_frame(bytes: &[u8]) -> bool {
    bytes.get(..4).is_some_and(|m| m[1..] == [0x2a, 0x4d, 0x18] && m[0] & 0xf0 == 0x50)
}

/// The tar stream of a layer's `bytes`, whatever their [`Compression`].
pub fn tar_stream(bytes: &[u8]) -> Box<dyn Read + '_> {
    match Compression::of(bytes) {
        // Every member, as Go's gzip reader (containerd, Docker) reads a layer.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Compression::Zstd => Box::new(Zstd::new(bytes)),
        Compression::None => Box::new(bytes),
    }
}

/// A zstd stream of one or more frames read as one.
struct Zstd<'a> {
    data: &'a [u8],
    /// How far the frames read so far reach into `data` (shared with the frame's reader).
    pos: Rc<Cell<usize>>,
    frame: Option<StreamingDecoder<At<'a>, FrameDecoder>>,
}

/// `data` from a shared position on, which reading moves.
struct At<'a> {
    data: &'a [u8],
    pos: Rc<Cell<usize>>,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.data.get(self.pos.get()..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos.set(self.pos.get() + n);
        Ok(n)
    }
}

impl<'a> Zstd<'a> {
    fn new(data: &'a [u8]) -> Zstd<'a> {
        Zstd { data, pos: Rc::new(Cell::new(0)), frame: None }
    }
}

impl Read for Zstd<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = &mut self.frame {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.frame = None;
            }
            if self.pos.get() >= self.data.len() {
                return Ok(0);
            }
            match StreamingDecoder::new(At { data: self.data, pos: Rc::clone(&self.pos) }) {
                Ok(frame) => self.frame = Some(frame),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    let next = usize::try_from(length).ok().and_then(|l| self.pos.get().checked_add(l));
                    match next.filter(|n| *n <= self.data.len()) {
                        Some(next) => self.pos.set(next),
                        None => return Err(invalid("a skippable zstd frame runs past the end of the layer")),
                    }
                }
                Err(e) => return Err(invalid(&format!("not a zstd stream: {e}"))),
            }
        }
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `zstd -c` of "hello\n" (one frame, with a content checksum), as the zstd CLI writes it.
    const HELLO: &[u8] = &[
        0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x31, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a, 0x53, 0x88, 0xbd,
        0x91,
    ];

    fn read_all(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        tar_stream(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn the_magic_number_says_the_compression() {
        assert_eq!(Compression::of(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::of(HELLO), Compression::Zstd);
        assert_eq!(Compression::of(&[0x5e, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]), Compression::Zstd);
        assert_eq!(Compression::of(b"etc/\0\0\0"), Compression::None);
        assert_eq!(Compression::of(b""), Compression::None);
    }

    #[test]
    fn frames_are_read_one_after_the_other_and_skippable_ones_passed_over() {
        assert_eq!(read_all(HELLO).unwrap(), b"hello\n");
        // A skippable frame (magic 0x184D2A50, 3 bytes of payload), then two frames.
        let mut many = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        many.extend_from_slice(HELLO);
        many.extend_from_slice(HELLO);
        assert_eq!(read_all(&many).unwrap(), b"hello\nhello\n");
    }

    /// gzip of `bytes` as one member.
    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn every_member_of_a_gzip_stream_is_read() {
        // `pigz`, `cat a.gz b.gz` and some registries' layers: several members, one stream, as
        // Go's gzip reader (containerd, Docker) reads them.
        let two = [gzip(b"first half, "), gzip(b"second half")].concat();
        assert_eq!(read_all(&two).unwrap(), b"first half, second half");
    }

    #[test]
    fn broken_streams_are_errors_not_panics() {
        let truncated = &HELLO[..HELLO.len() - 6];
        assert!(read_all(truncated).is_err());
        let past_the_end = [0x50, 0x2a, 0x4d, 0x18, 0xff, 0, 0, 0, 1];
        assert!(read_all(&past_the_end).unwrap_err().to_string().contains("past the end"));
        let mut trailing = HELLO.to_vec();
        trailing.extend_from_slice(b"junk");
        assert!(read_all(&trailing).is_err(), "bytes after the last frame are not a frame");
    }

    proptest::proptest! {
        /// Whatever a registry serves as a layer, reading it ends in bytes or an error: no
        /// panic, including streams that start like zstd or a skippable frame.
        #[test]
        fn any_bytes_read_without_panicking(
            start in proptest::sample::select(vec![&ZSTD_MAGIC[..], &[0x50, 0x2a, 0x4d, 0x18][..], &GZIP_MAGIC[..], &[][..]]),
            rest in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        ) {
            let bytes = [start, rest.as_slice()].concat();
            let _ = read_all(&bytes);
        }
    }
}
