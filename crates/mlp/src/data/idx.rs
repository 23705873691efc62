//! IDX files: the format of MNIST, Fashion-MNIST and their relatives.
//!
//! An IDX file is a 4-byte magic number (`0x00 0x00 <type> <rank>`), `rank` big-endian `u32`
//! dimensions, then the elements in row-major order. Files may be gzip-compressed; compression is
//! detected from the gzip magic bytes (`1f 8b`), not from the file name, so `foo-idx3-ubyte` and
//! `foo-idx3-ubyte.gz` are both read correctly whatever they are called.
//!
//! Only element type `0x08` (unsigned byte), the type every MNIST-like file uses, is supported;
//! other element types are reported as a [`Error::Format`] naming the type code.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::{Dataset, Targets};
use crate::error::{Error, Result};

/// IDX element type code for unsigned bytes, the only one supported.
const TYPE_U8: u8 = 0x08;

/// The contents of an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions, outermost first (e.g. `[60000, 28, 28]` for MNIST training images).
    pub dims: Vec<usize>,
    /// The elements in row-major order; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads the whole file, transparently decompressing it when it starts with the gzip magic bytes.
///
/// Shared with the NPY reader.
pub(crate) fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match gunzip_if_gzipped(&raw, path)? {
        Cow::Borrowed(_) => Ok(raw),
        Cow::Owned(out) => Ok(out),
    }
}

/// The bytes themselves, or their decompression when they start with the gzip magic bytes;
/// `path` names the file in errors. Shared with the NPY reader.
pub(crate) fn gunzip_if_gzipped<'a>(raw: &'a [u8], path: &Path) -> Result<Cow<'a, [u8]>> {
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::new();
        MultiGzDecoder::new(raw)
            .read_to_end(&mut out)
            .map_err(|e| {
                Error::format(
                    path,
                    format!(
                        "gzip-compressed, but the compressed data is truncated or corrupt: {e}"
                    ),
                )
            })?;
        Ok(Cow::Owned(out))
    } else {
        Ok(Cow::Borrowed(raw))
    }
}

/// Reads an IDX file of unsigned bytes, gzip-compressed or not.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] when the magic number is wrong,
/// the element type is not `0x08`, the rank is not in `1..=4`, the dimensions overflow, or the
/// data is shorter or longer than the dimensions say.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let bytes = read_maybe_gzipped(path)?;
    parse_idx(&bytes, path)
}

/// Parses an IDX file held in memory (gzip-compressed or not), as [`read_idx`] does for a file on
/// disk; `path` only names the file in error messages.
///
/// # Errors
/// As [`read_idx`], less the I/O errors.
pub fn read_idx_from_bytes(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    parse_idx(&gunzip_if_gzipped(bytes, path)?, path)
}

/// Parses the bytes of an (uncompressed) IDX file; `path` is only used in error messages.
fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    if bytes.len() < 4 {
        return Err(Error::format(
            path,
            format!(
                "not an IDX file: {} bytes, shorter than the 4-byte magic number",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::format(
            path,
            format!(
                "not an IDX file: magic number starts with {:02x} {:02x}, expected 00 00",
                bytes[0], bytes[1]
            ),
        ));
    }
    let type_code = bytes[2];
    if type_code != TYPE_U8 {
        return Err(Error::format(
            path,
            format!(
                "unsupported IDX element type 0x{type_code:02x} ({}); only 0x08 (unsigned byte) is supported",
                type_name(type_code)
            ),
        ));
    }
    let rank = usize::from(bytes[3]);
    if !(1..=4).contains(&rank) {
        return Err(Error::format(
            path,
            format!("IDX rank (number of dimensions) is {rank}; expected 1 to 4"),
        ));
    }
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(Error::format(
            path,
            format!(
                "truncated: the header needs {header_len} bytes for {rank} dimensions, found {}",
                bytes.len()
            ),
        ));
    }
    let mut dims = Vec::with_capacity(rank);
    for i in 0..rank {
        let b = &bytes[4 + 4 * i..8 + 4 * i];
        let d = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let d = usize::try_from(d).map_err(|_| {
            Error::format(
                path,
                format!("dimension {d} does not fit in memory on this platform"),
            )
        })?;
        dims.push(d);
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::format(
                path,
                format!("dimensions {dims:?} overflow: too many elements"),
            )
        })?;
    let found = bytes.len() - header_len;
    if found < expected {
        return Err(Error::format(
            path,
            format!("truncated: expected {expected} bytes of data, found {found}"),
        ));
    }
    if found > expected {
        return Err(Error::format(
            path,
            format!(
                "{} unexpected bytes after the {expected} bytes of data that dimensions {dims:?} call for",
                found - expected
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// A readable name for an IDX element type code.
fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0b => "16-bit integer",
        0x0c => "32-bit integer",
        0x0d => "32-bit float",
        0x0e => "64-bit float",
        _ => "not a valid IDX type",
    }
}

/// Writes an IDX file of unsigned bytes, gzip-compressed when `gzip` is true.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `data.len()` is not the product of `dims`,
/// [`Error::InvalidConfig`] when the rank is not in `1..=4` or a dimension exceeds `u32::MAX`,
/// [`Error::Io`] when writing fails.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    if !(1..=4).contains(&dims.len()) {
        return Err(Error::config(
            "dims",
            format!("IDX rank must be 1 to 4, got {}", dims.len()),
        ));
    }
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return Err(Error::shape(
            "write_idx",
            format!("{} elements for dims {dims:?}", data.len()),
            format!("dims {dims:?}"),
        ));
    }
    let mut bytes = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    bytes.extend_from_slice(&[0, 0, TYPE_U8, dims.len() as u8]);
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| {
            Error::config(
                "dims",
                format!("IDX dimensions must fit in 32 bits, got {d}"),
            )
        })?;
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    let io = |e| Error::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        enc.write_all(&bytes).map_err(io)?;
        enc.finish().map_err(io)?;
    } else {
        let mut w = std::io::BufWriter::new(file);
        w.write_all(&bytes).map_err(io)?;
        w.flush().map_err(io)?;
    }
    Ok(())
}

/// Loads an images file and a labels file (MNIST layout) as a classification [`Dataset`].
///
/// The images file's first dimension is the sample count; the remaining dimensions are flattened
/// into the features (`n x 28 x 28` becomes `n x 784`; a rank-1 file gives one feature). Pixels
/// become `f32`, divided by 255 into `[0, 1]` when `scale` is true and left as `0..=255`
/// otherwise. The labels file must be rank 1; the labels become [`Targets::Classes`] with
/// `n_classes` equal to the largest label plus one (so a file whose labels are all below 9 gets
/// fewer than 10 classes: use [`crate::data::datasets::load_named`] for a fixed class count).
///
/// # Errors
/// Anything [`read_idx`] reports; [`Error::Format`] when the labels file is not rank 1;
/// [`Error::InvalidData`] when the counts differ or there are no samples.
pub fn load_idx_pair(images: &Path, labels: &Path, scale: bool) -> Result<Dataset> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    if lab.dims.len() != 1 {
        return Err(Error::format(
            labels,
            format!(
                "a labels file must have one dimension, this one has dimensions {:?}",
                lab.dims
            ),
        ));
    }
    let n = img.dims[0];
    if lab.dims[0] != n {
        return Err(Error::InvalidData(format!(
            "{} has {} labels but {} has {n} images",
            labels.display(),
            lab.dims[0],
            images.display()
        )));
    }
    if n == 0 {
        return Err(Error::InvalidData(format!(
            "{} has no samples",
            images.display()
        )));
    }
    let n_features: usize = img.dims[1..].iter().product();
    let features: Vec<f32> = if scale {
        img.data.iter().map(|&p| f32::from(p) / 255.0).collect()
    } else {
        img.data.iter().map(|&p| f32::from(p)).collect()
    };
    let labels: Vec<usize> = lab.data.iter().map(|&l| usize::from(l)).collect();
    let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    Ok(Dataset {
        features,
        n_features,
        targets: Targets::Classes { labels, n_classes },
        weights: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("mlp-idx-test-{}-{name}", std::process::id()))
    }

    #[test]
    fn round_trip_raw_and_gzipped() {
        let dims = [3usize, 2, 4];
        let data: Vec<u8> = (0..24u8).map(|v| v * 10).collect();
        for gzip in [false, true] {
            let p = tmp(&format!("rt-{gzip}"));
            write_idx(&p, &dims, &data, gzip).unwrap();
            let raw = std::fs::read(&p).unwrap();
            assert_eq!(raw[0] == 0x1f && raw[1] == 0x8b, gzip);
            let a = read_idx(&p).unwrap();
            assert_eq!(a.dims, dims);
            assert_eq!(a.data, data);
            std::fs::remove_file(&p).unwrap();
        }
    }

    #[test]
    fn parses_hand_built_header() {
        // magic 00 00 08 01, dim 3, data 7 8 9
        let bytes = [0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9];
        let a = parse_idx(&bytes, Path::new("x")).unwrap();
        assert_eq!(a.dims, vec![3]);
        assert_eq!(a.data, vec![7, 8, 9]);
    }

    #[test]
    fn truncated_file_is_a_format_error() {
        let p = tmp("trunc");
        write_idx(&p, &[2, 5], &[1; 10], false).unwrap();
        let raw = std::fs::read(&p).unwrap();
        std::fs::write(&p, &raw[..raw.len() - 3]).unwrap();
        let err = read_idx(&p).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Format { .. }), "{msg}");
        assert!(
            msg.contains("truncated: expected 10 bytes of data, found 7"),
            "{msg}"
        );
        // Truncated header.
        std::fs::write(&p, &raw[..6]).unwrap();
        assert!(read_idx(&p).unwrap_err().to_string().contains("truncated"));
        // Truncated gzip stream.
        write_idx(&p, &[2, 5], &[1; 10], true).unwrap();
        let gz = std::fs::read(&p).unwrap();
        std::fs::write(&p, &gz[..gz.len() - 10]).unwrap();
        let err = read_idx(&p).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err}");
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn bad_magic_type_and_rank() {
        let p = Path::new("f");
        let err = parse_idx(&[1, 0, 8, 1, 0, 0, 0, 0], p).unwrap_err();
        assert!(err.to_string().contains("magic"), "{err}");
        let err = parse_idx(b"PK", p).unwrap_err();
        assert!(err.to_string().contains("not an IDX file"), "{err}");
        let err = parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 0], p).unwrap_err();
        assert!(matches!(err, Error::Format { .. }));
        assert!(err.to_string().contains("0x0d"), "{err}");
        let err = parse_idx(&[0, 0, 8, 0], p).unwrap_err();
        assert!(err.to_string().contains("rank"), "{err}");
        let err = parse_idx(&[0, 0, 8, 5], p).unwrap_err();
        assert!(err.to_string().contains("rank"), "{err}");
        let err = parse_idx(&[0, 0, 8, 1, 0, 0, 0, 1, 5, 6], p).unwrap_err();
        assert!(err.to_string().contains("unexpected bytes"), "{err}");
    }

    #[test]
    fn huge_dimensions_do_not_overflow_or_allocate() {
        let mut bytes = vec![0, 0, 8, 4];
        for _ in 0..4 {
            bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        let err = parse_idx(&bytes, Path::new("f")).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err}");
    }

    #[test]
    fn pair_loads_scaled_and_unscaled() {
        let (pi, pl) = (tmp("pair-img"), tmp("pair-lab"));
        write_idx(
            &pi,
            &[3, 2, 2],
            &[0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8],
            true,
        )
        .unwrap();
        write_idx(&pl, &[3], &[2, 0, 4], false).unwrap();
        let d = load_idx_pair(&pi, &pl, true).unwrap();
        assert_eq!(d.n_features, 4);
        assert_eq!(d.len(), 3);
        assert_eq!(&d.features[..4], &[0.0, 1.0, 0.2, 0.4]);
        assert_eq!(
            d.targets,
            Targets::Classes {
                labels: vec![2, 0, 4],
                n_classes: 5
            }
        );
        let d = load_idx_pair(&pi, &pl, false).unwrap();
        assert_eq!(&d.features[..4], &[0.0, 255.0, 51.0, 102.0]);
        // Count mismatch.
        write_idx(&pl, &[2], &[0, 1], false).unwrap();
        let err = load_idx_pair(&pi, &pl, true).unwrap_err();
        assert!(matches!(err, Error::InvalidData(_)), "{err}");
        assert!(err.to_string().contains("2 labels"), "{err}");
        // Labels of the wrong rank.
        write_idx(&pl, &[3, 1], &[0, 1, 2], false).unwrap();
        assert!(matches!(
            load_idx_pair(&pi, &pl, true).unwrap_err(),
            Error::Format { .. }
        ));
        std::fs::remove_file(&pi).unwrap();
        std::fs::remove_file(&pl).unwrap();
    }
}
