//! NPY files: NumPy's single-array format (`np.save` / `np.load`).
//!
//! Reads format versions 1.0, 2.0 and 3.0 with element types `f2 f4 f8`, `i1 i2 i4 i8`,
//! `u1 u2 u4 u8` and `b1`, in either byte order (`<`, `>`, `|`, `=`), in C or Fortran order, of
//! any rank. Every array is converted to row-major `f32` (Fortran-ordered arrays are transposed
//! into C order); integers above 2^24 and `f8` values lose precision in that conversion. The file
//! may be gzip-compressed (detected from its magic bytes). `.npz` archives, structured dtypes,
//! strings, complex numbers, dates and objects are rejected with a message saying so.
//!
//! [`write_npy_f32`] writes an `<f4` C-order array with exactly the bytes `np.save` would write.

use std::io::Write;
use std::path::Path;

use super::{Dataset, Targets};
use crate::error::{Error, Result};

/// The six magic bytes every NPY file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Largest integer an `f32` holds exactly (2^24); class labels must be below it.
const MAX_EXACT_F32_INT: f32 = 16_777_216.0;

/// An array read from an NPY file, converted to row-major `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The dimensions, outermost first; empty for a 0-d (scalar) array.
    pub shape: Vec<usize>,
    /// The elements in row-major (C) order, converted to `f32`; `data.len()` is the product of
    /// `shape` (1 for a scalar).
    pub data: Vec<f32>,
    /// The element type as stored in the file (the header's `descr`, e.g. `<f8`).
    pub descr: String,
}

/// Reads an NPY file (versions 1.0, 2.0, 3.0), gzip-compressed or not.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] for a bad magic number, an
/// unsupported version, a malformed header, an unsupported element type, or data shorter or
/// longer than the header's shape calls for.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = super::idx::read_maybe_gzipped(path)?;
    parse_npy(&bytes, path)
}

/// Parses an NPY file held in memory (gzip-compressed or not), as [`read_npy`] does for a file on
/// disk; `path` only names the file in error messages.
///
/// # Errors
/// As [`read_npy`], less the I/O errors.
pub fn read_npy_from_bytes(bytes: &[u8], path: &Path) -> Result<NpyArray> {
    parse_npy(&super::idx::gunzip_if_gzipped(bytes, path)?, path)
}

/// The element types this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

/// A parsed `descr`.
#[derive(Debug, Clone, Copy)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

fn parse_descr(descr: &str, path: &Path) -> Result<Dtype> {
    let unsupported = |why: &str| {
        Error::format(
            path,
            format!(
                "unsupported dtype '{}' ({why}); supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1",
                // Escaped: a crafted header's control characters would break the line.
                descr.escape_debug()
            ),
        )
    };
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('|', descr),
    };
    let big_endian = match order {
        '>' => true,
        '=' => cfg!(target_endian = "big"),
        _ => false,
    };
    let mut rc = rest.chars();
    let kind_char = rc.next().ok_or_else(|| unsupported("empty"))?;
    let size_str = rc.as_str();
    let (kind, size) = match (kind_char, size_str) {
        ('?', "") => (Kind::Bool, 1),
        ('b', "1") | ('?', "1") => (Kind::Bool, 1),
        ('f', s) => (Kind::Float, s.parse().map_err(|_| unsupported("bad size"))?),
        ('i', s) => (Kind::Int, s.parse().map_err(|_| unsupported("bad size"))?),
        ('u', s) => (Kind::Uint, s.parse().map_err(|_| unsupported("bad size"))?),
        ('c', _) => return Err(unsupported("complex numbers")),
        ('U' | 'S' | 'a', _) => return Err(unsupported("strings")),
        ('O', _) => return Err(unsupported("Python objects")),
        ('M' | 'm', _) => return Err(unsupported("dates and times")),
        ('V', _) => return Err(unsupported("raw or structured data")),
        _ => return Err(unsupported("unknown type")),
    };
    let ok = match kind {
        Kind::Float => matches!(size, 2 | 4 | 8),
        Kind::Int | Kind::Uint => matches!(size, 1 | 2 | 4 | 8),
        Kind::Bool => size == 1,
    };
    if !ok {
        return Err(unsupported("unsupported size"));
    }
    Ok(Dtype {
        kind,
        size,
        big_endian,
    })
}

/// Parses the bytes of an (uncompressed) NPY file; `path` is only used in error messages.
fn parse_npy(bytes: &[u8], path: &Path) -> Result<NpyArray> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(Error::format(
            path,
            "this is an .npz archive (a zip of .npy files), not an .npy file; save each array with np.save",
        ));
    }
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        let head: Vec<String> = bytes.iter().take(6).map(|b| format!("{b:02x}")).collect();
        return Err(Error::format(
            path,
            format!(
                "not an NPY file: bad magic number (starts with {}, expected 93 4e 55 4d 50 59 = \\x93NUMPY)",
                if head.is_empty() {
                    "nothing".to_string()
                } else {
                    head.join(" ")
                }
            ),
        ));
    }
    if bytes.len() < 8 {
        return Err(Error::format(
            path,
            "truncated: the file ends inside the NPY preamble",
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2usize, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => {
            return Err(Error::format(
                path,
                format!(
                    "unsupported NPY format version {major}.{minor} (supported: 1.0, 2.0, 3.0)"
                ),
            ));
        }
    };
    let header_start = 8 + len_size;
    if bytes.len() < header_start {
        return Err(Error::format(
            path,
            "truncated: the file ends inside the NPY preamble",
        ));
    }
    let header_len = if len_size == 2 {
        usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))
    } else {
        let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        usize::try_from(n).map_err(|_| Error::format(path, "NPY header length too large"))?
    };
    let data_start = header_start
        .checked_add(header_len)
        .ok_or_else(|| Error::format(path, "NPY header length too large"))?;
    if bytes.len() < data_start {
        return Err(Error::format(
            path,
            format!(
                "truncated: the header should be {header_len} bytes, found {}",
                bytes.len() - header_start
            ),
        ));
    }
    let raw_header = &bytes[header_start..data_start];
    let header: String = if utf8 {
        std::str::from_utf8(raw_header)
            .map_err(|e| Error::format(path, format!("bad NPY header: not UTF-8 ({e})")))?
            .to_string()
    } else {
        // Versions 1 and 2 use latin-1: every byte is the code point of the same value.
        raw_header.iter().map(|&b| char::from(b)).collect()
    };
    let header_err = |msg: String| {
        Error::format(
            path,
            format!("bad NPY header {:?}: {msg}", header.trim_end()),
        )
    };
    let dict = match parse_py_literal(&header).map_err(&header_err)? {
        PyVal::Dict(d) => d,
        _ => return Err(header_err("not a dictionary".into())),
    };
    let get = |key: &str| {
        dict.iter()
            .find(|(k, _)| matches!(k, PyVal::Str(s) if s == key))
            .map(|(_, v)| v)
            .ok_or_else(|| header_err(format!("no '{key}' key")))
    };
    let descr = match get("descr")? {
        PyVal::Str(s) => s.clone(),
        PyVal::List(_) => {
            return Err(Error::format(
                path,
                "structured dtypes (record arrays) are not supported; save a plain numeric array",
            ));
        }
        _ => return Err(header_err("'descr' is not a string".into())),
    };
    let fortran = match get("fortran_order")? {
        PyVal::Bool(b) => *b,
        _ => return Err(header_err("'fortran_order' is not True or False".into())),
    };
    let shape = match get("shape")? {
        PyVal::Tuple(items) => items
            .iter()
            .map(|v| match v {
                PyVal::Int(i) => usize::try_from(*i)
                    .map_err(|_| header_err(format!("shape entry {i} is not a valid size"))),
                _ => Err(header_err("shape entries must be integers".into())),
            })
            .collect::<Result<Vec<usize>>>()?,
        _ => return Err(header_err("'shape' is not a tuple".into())),
    };
    let dtype = parse_descr(&descr, path)?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::format(path, format!("shape {shape:?} overflows")))?;
    let expected = count
        .checked_mul(dtype.size)
        .ok_or_else(|| Error::format(path, format!("shape {shape:?} overflows")))?;
    let payload = &bytes[data_start..];
    if payload.len() < expected {
        return Err(Error::format(
            path,
            format!(
                "truncated: expected {expected} bytes of data, found {}",
                payload.len()
            ),
        ));
    }
    if payload.len() > expected {
        return Err(Error::format(
            path,
            format!(
                "{} unexpected bytes after the {expected} bytes of data that shape {shape:?} and dtype '{descr}' call for",
                payload.len() - expected
            ),
        ));
    }
    let mut data = decode(payload, dtype);
    if fortran && shape.len() > 1 {
        data = fortran_to_c(&data, &shape);
    }
    Ok(NpyArray { shape, data, descr })
}

/// Converts raw element bytes to `f32`.
fn decode(payload: &[u8], dt: Dtype) -> Vec<f32> {
    // Each element, widened to 8 little-endian bytes (zero-filled above its size).
    let le8 = |c: &[u8]| -> [u8; 8] {
        let mut buf = [0u8; 8];
        buf[..c.len()].copy_from_slice(c);
        if dt.big_endian {
            buf[..c.len()].reverse();
        }
        buf
    };
    let chunks = payload.chunks_exact(dt.size);
    match dt.kind {
        Kind::Bool => payload
            .iter()
            .map(|&b| f32::from(u8::from(b != 0)))
            .collect(),
        Kind::Float => match dt.size {
            2 => chunks
                .map(|c| {
                    let b = le8(c);
                    f16_to_f32(u16::from_le_bytes([b[0], b[1]]))
                })
                .collect(),
            4 => chunks
                .map(|c| {
                    let b = le8(c);
                    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
                })
                .collect(),
            _ => chunks.map(|c| f64::from_le_bytes(le8(c)) as f32).collect(),
        },
        Kind::Uint => chunks.map(|c| u64::from_le_bytes(le8(c)) as f32).collect(),
        Kind::Int => {
            // Sign-extend from `size` bytes.
            let shift = 64 - 8 * dt.size as u32;
            chunks
                .map(|c| ((u64::from_le_bytes(le8(c)) << shift) as i64 >> shift) as f32)
                .collect()
        }
    }
}

/// IEEE 754 half precision to single precision (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value = m * 2^-24.
            let v = m as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Reorders a column-major (Fortran) array of the given shape into row-major (C) order.
fn fortran_to_c(data: &[f32], shape: &[usize]) -> Vec<f32> {
    let rank = shape.len();
    let mut out = Vec::with_capacity(data.len());
    // Before the strides: with a zero dimension the other dimensions may be huge, and their
    // products overflow; otherwise every stride is at most the element count.
    if data.is_empty() {
        return out;
    }
    // Fortran strides: the first axis varies fastest.
    let mut fstride = vec![1usize; rank];
    for k in 1..rank {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    loop {
        out.push(data[off]);
        // Odometer increment in C order (last axis fastest).
        let mut k = rank;
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            idx[k] += 1;
            off += fstride[k];
            if idx[k] < shape[k] {
                break;
            }
            off -= fstride[k] * shape[k];
            idx[k] = 0;
        }
    }
}

/// A value of the small Python literal language NPY headers are written in.
#[derive(Debug, Clone, PartialEq)]
enum PyVal {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<PyVal>),
    List(Vec<PyVal>),
    Dict(Vec<(PyVal, PyVal)>),
}

/// Parses one Python literal (the whole string, surrounding whitespace allowed).
fn parse_py_literal(s: &str) -> std::result::Result<PyVal, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut p = PyParser { c: &chars, i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != chars.len() {
        return Err(format!("unexpected '{}' after the dictionary", chars[p.i]));
    }
    Ok(v)
}

struct PyParser<'a> {
    c: &'a [char],
    i: usize,
}

impl PyParser<'_> {
    fn ws(&mut self) {
        while self.i < self.c.len() && self.c[self.i].is_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.c.get(self.i).copied()
    }

    fn expect(&mut self, ch: char) -> std::result::Result<(), String> {
        match self.peek() {
            Some(c) if c == ch => {
                self.i += 1;
                Ok(())
            }
            Some(c) => Err(format!("expected '{ch}', found '{c}'")),
            None => Err(format!("expected '{ch}', found the end")),
        }
    }

    /// Comma-separated items up to `close`; returns the items and whether a comma was seen.
    fn seq<T>(
        &mut self,
        close: char,
        mut item: impl FnMut(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<(Vec<T>, bool), String> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok((items, comma));
            }
            items.push(item(self)?);
            match self.peek() {
                Some(',') => {
                    self.i += 1;
                    comma = true;
                }
                Some(c) if c == close => {}
                Some(c) => return Err(format!("expected ',' or '{close}', found '{c}'")),
                None => return Err(format!("expected '{close}', found the end")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<PyVal, String> {
        if depth > 32 {
            return Err("nested too deeply".into());
        }
        match self.peek() {
            None => Err("unexpected end".into()),
            Some('{') => {
                self.i += 1;
                let (items, _) = self.seq('}', |p| {
                    let k = p.value(depth + 1)?;
                    p.expect(':')?;
                    let v = p.value(depth + 1)?;
                    Ok((k, v))
                })?;
                Ok(PyVal::Dict(items))
            }
            Some('(') => {
                self.i += 1;
                let (mut items, comma) = self.seq(')', |p| p.value(depth + 1))?;
                if items.len() == 1 && !comma {
                    // `(x)` is just a parenthesised `x` in Python.
                    return Ok(items.remove(0));
                }
                Ok(PyVal::Tuple(items))
            }
            Some('[') => {
                self.i += 1;
                let (items, _) = self.seq(']', |p| p.value(depth + 1))?;
                Ok(PyVal::List(items))
            }
            Some(q @ ('\'' | '"')) => {
                self.i += 1;
                let mut s = String::new();
                loop {
                    let c = *self.c.get(self.i).ok_or("unterminated string")?;
                    self.i += 1;
                    if c == q {
                        return Ok(PyVal::Str(s));
                    }
                    if c == '\\' {
                        let e = *self.c.get(self.i).ok_or("unterminated string")?;
                        self.i += 1;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            other => other,
                        });
                    } else {
                        s.push(c);
                    }
                }
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => {
                let neg = c == '-';
                if c == '-' || c == '+' {
                    self.i += 1;
                }
                let start = self.i;
                let mut v: i128 = 0;
                while let Some(d) = self.c.get(self.i).and_then(|c| c.to_digit(10)) {
                    v = v
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(i128::from(d)))
                        .ok_or("integer too large")?;
                    self.i += 1;
                }
                if self.i == start {
                    return Err("expected digits after the sign".into());
                }
                // Python 2 wrote long integers with an L suffix, e.g. `(3L, 4L)`.
                if matches!(self.c.get(self.i), Some('L' | 'l')) {
                    self.i += 1;
                }
                Ok(PyVal::Int(if neg { -v } else { v }))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self
                    .c
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    self.i += 1;
                }
                let word: String = self.c[start..self.i].iter().collect();
                match word.as_str() {
                    "True" => Ok(PyVal::Bool(true)),
                    "False" => Ok(PyVal::Bool(false)),
                    "None" => Ok(PyVal::None),
                    _ => Err(format!("unexpected name '{word}'")),
                }
            }
            Some(c) => Err(format!("unexpected '{c}'")),
        }
    }
}

/// Writes a row-major `f32` array as an NPY 1.0 file (`<f4`, C order), byte for byte as
/// `np.save` writes it (version 2.0 only if the header would not fit in 64 KiB).
///
/// `shape` may be empty for a scalar (then `data` holds one value).
///
/// # Errors
/// [`Error::ShapeMismatch`] when `data.len()` is not the product of `shape`; [`Error::Io`] when
/// writing fails.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if count != Some(data.len()) {
        return Err(Error::shape(
            "write_npy_f32",
            format!("{} elements for shape {shape:?}", data.len()),
            format!("shape {shape:?}"),
        ));
    }
    let shape_repr = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_repr}, }}");
    // np.save leaves room to grow the first axis in place (21 digits).
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        header.push_str(&" ".repeat(21usize.saturating_sub(digits)));
    }
    let mut out = Vec::with_capacity(header.len() + 80 + data.len() * 4);
    let hlen = header.len() + 1; // + '\n'
    let (len_size, version) = if 10 + hlen + 64 <= usize::from(u16::MAX) {
        (2, 1u8)
    } else {
        (4, 2u8)
    };
    let padlen = 64 - ((MAGIC.len() + 2 + len_size + hlen) % 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    let total = hlen + padlen;
    if len_size == 2 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        let total = u32::try_from(total)
            .map_err(|_| Error::config("shape", "too many dimensions for an NPY header"))?;
        out.extend_from_slice(&total.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let io = |e| Error::io(path, e);
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(&out).map_err(io)?;
    f.flush().map_err(io)?;
    Ok(())
}

/// Loads a features array and a targets array as a [`Dataset`].
///
/// Features: the first axis is the sample; a 1-D array is one feature per sample, and axes after
/// the first are flattened (`n x 28 x 28` becomes `n x 784`). Targets: 1-D or 2-D with the same
/// number of samples. When `classify` is true the targets must be one column of non-negative
/// integer values (of any dtype) below 2^24 and become [`Targets::Classes`] with `n_classes` equal
/// to the largest label plus one; otherwise they become [`Targets::Values`] with `n_outputs` equal
/// to the second dimension (1 for a 1-D array).
///
/// # Errors
/// Anything [`read_npy`] reports; [`Error::Format`] for a scalar or a targets array of rank
/// above 2; [`Error::InvalidData`] for mismatched sample counts, no samples, non-finite values,
/// or labels that are not non-negative integers.
pub fn load_npy_pair(features: &Path, targets: &Path, classify: bool) -> Result<Dataset> {
    let x = read_npy(features)?;
    let y = read_npy(targets)?;
    if x.shape.is_empty() {
        return Err(Error::format(
            features,
            "a features array must have a sample axis; this one is a scalar (shape ())",
        ));
    }
    if y.shape.is_empty() || y.shape.len() > 2 {
        return Err(Error::format(
            targets,
            format!(
                "a targets array must be 1-D or 2-D, this one has shape {:?}",
                y.shape
            ),
        ));
    }
    let n = x.shape[0];
    if y.shape[0] != n {
        return Err(Error::InvalidData(format!(
            "{} has {} samples but {} has {n}",
            targets.display(),
            y.shape[0],
            features.display()
        )));
    }
    if n == 0 {
        return Err(Error::InvalidData(format!(
            "{} has no samples",
            features.display()
        )));
    }
    let n_features: usize = x.shape[1..].iter().product();
    if let Some(i) = x.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{}: feature {} of sample {} is {} (row-major index {i})",
            features.display(),
            i % n_features.max(1),
            i / n_features.max(1),
            x.data[i]
        )));
    }
    let n_outputs = y.shape.get(1).copied().unwrap_or(1);
    if let Some(i) = y.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{}: the target of sample {} is {}",
            targets.display(),
            i / n_outputs.max(1),
            y.data[i]
        )));
    }
    let targets_out = if classify {
        if n_outputs != 1 {
            return Err(Error::InvalidData(format!(
                "{}: class labels must be one column, this array has shape {:?}",
                targets.display(),
                y.shape
            )));
        }
        let mut labels = Vec::with_capacity(n);
        for (i, &v) in y.data.iter().enumerate() {
            if v < 0.0 || v.fract() != 0.0 || v >= MAX_EXACT_F32_INT {
                return Err(Error::InvalidData(format!(
                    "{}: the label of sample {i} is {v}; class labels must be non-negative integers below 2^24",
                    targets.display()
                )));
            }
            labels.push(v as usize);
        }
        let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
        Targets::Classes { labels, n_classes }
    } else {
        Targets::Values {
            values: y.data,
            n_outputs,
        }
    };
    Ok(Dataset {
        features: x.data,
        n_features,
        targets: targets_out,
        weights: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    // Fixtures: the exact bytes numpy 2.4.6 writes (`io.BytesIO()` + `np.save`, or
    // `np.lib.format.write_array(..., version=...)` where noted).

    // np.save(np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype='<f8'))
    const F8_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }                                                          \x0a\x00\x00\x00\x00\x00\x00\xf8?\x00\x00\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x0a@\x00\x00\x00\x00\x00\x00\x00\x00\xfc\xa9\xf1\xd2MbP?\x00\x00\x00\x00\x00\x00\x1c\xc0";
    // np.save(np.asfortranarray(np.array([[1, -2, 3], [4, 5, -6]], dtype='<i2')))
    const I2_FORTRAN_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }                                                           \x0a\x01\x00\x04\x00\xfe\xff\x05\x00\x03\x00\xfa\xff";
    // np.save(np.array([0, 1, 2, 255], dtype='|u1'))
    const U1_4: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }                                                            \x0a\x00\x01\x02\xff";
    // np.save(np.array([True, False, True]))
    const B1_3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }                                                            \x0a\x01\x00\x01";
    // np.save(np.array([[1.0, 2.5], [-3.0, 4.0]], dtype='>f4'))
    const F4_BE_2X2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }                                                          \x0a?\x80\x00\x00@ \x00\x00\xc0@\x00\x00@\x80\x00\x00";
    // np.save(np.array(-42, dtype='<i8'))
    const I8_SCALAR: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (), }                                                              \x0a\xd6\xff\xff\xff\xff\xff\xff\xff";
    // np.save(np.array([7, 0, 4000000000], dtype='<u4'))
    const U4_3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }                                                            \x0a\x07\x00\x00\x00\x00\x00\x00\x00\x00(k\xee";
    // np.save(np.array([-128, 0, 127], dtype='|i1'))
    const I1_3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }                                                            \x0a\x80\x00\x7f";
    // np.save(np.array([0.5, -1.5], dtype='<f2'))
    const F2_2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }                                                            \x0a\x008\x00\xbe";
    // np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype='<i4'), version=(2, 0))
    const I4_V2_2X2: &[u8] = b"\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }                                                        \x0a\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00";
    // np.lib.format.write_array(f, np.array([1.0, 2.0], dtype='<f4'), version=(3, 0))
    const F4_V3_2: &[u8] = b"\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }                                                          \x0a\x00\x00\x80?\x00\x00\x00@";

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("mlp-npy-test-{}-{name}", std::process::id()))
    }

    fn parse(bytes: &[u8]) -> Result<NpyArray> {
        parse_npy(bytes, Path::new("t.npy"))
    }

    #[test]
    fn numpy_fixtures_of_every_dtype() {
        let a = parse(F8_2X3).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.descr, "<f8");
        assert_eq!(a.data, vec![1.5, -2.0, 3.25, 0.0, 1e-3, -7.0]);
        let a = parse(U1_4).unwrap();
        assert_eq!((a.shape, a.data), (vec![4], vec![0.0, 1.0, 2.0, 255.0]));
        let a = parse(B1_3).unwrap();
        assert_eq!(a.data, vec![1.0, 0.0, 1.0]);
        let a = parse(F4_BE_2X2).unwrap();
        assert_eq!((a.shape, a.data), (vec![2, 2], vec![1.0, 2.5, -3.0, 4.0]));
        let a = parse(I8_SCALAR).unwrap();
        assert_eq!((a.shape, a.data), (vec![], vec![-42.0]));
        let a = parse(U4_3).unwrap();
        assert_eq!(a.data, vec![7.0, 0.0, 4e9]);
        let a = parse(I1_3).unwrap();
        assert_eq!(a.data, vec![-128.0, 0.0, 127.0]);
        let a = parse(F2_2).unwrap();
        assert_eq!(a.data, vec![0.5, -1.5]);
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        let a = parse(I2_FORTRAN_2X3).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
        // Rank 3: element (i, j, k) of a 2x3x4 array sits at i + 2j + 6k in Fortran order.
        let shape = [2usize, 3, 4];
        let f: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let c = fortran_to_c(&f, &shape);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(c[i * 12 + j * 4 + k], (i + 2 * j + 6 * k) as f32);
                }
            }
        }
        assert!(fortran_to_c(&[], &[0, 3]).is_empty());
        // A zero dimension after huge ones: no stride is computed, so none overflows.
        assert!(fortran_to_c(&[], &[usize::MAX / 2, usize::MAX / 2, 0]).is_empty());
    }

    #[test]
    fn versions_two_and_three() {
        let a = parse(I4_V2_2X2).unwrap();
        assert_eq!((a.shape, a.data), (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]));
        let a = parse(F4_V3_2).unwrap();
        assert_eq!((a.shape, a.data), (vec![2], vec![1.0, 2.0]));
        let mut bad = F4_V3_2.to_vec();
        bad[6] = 4;
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains("version 4.0"), "{err}");
    }

    #[test]
    fn write_matches_numpy_bytes_and_round_trips() {
        // np.save(np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4')): 128-byte header.
        let p = tmp("w");
        write_npy_f32(&p, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let mut expected =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                .to_vec();
        expected.extend(std::iter::repeat_n(b' ', 58));
        expected.push(b'\n');
        assert_eq!(expected.len(), 128);
        for v in 1..=6 {
            expected.extend_from_slice(&(v as f32).to_le_bytes());
        }
        assert_eq!(bytes, expected);
        for (shape, data) in [
            (vec![], vec![2.5f32]),
            (vec![3], vec![1.0, -0.5, f32::MAX]),
            (vec![0, 4], vec![]),
            (vec![2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]),
        ] {
            write_npy_f32(&p, &shape, &data).unwrap();
            let len = std::fs::metadata(&p).unwrap().len() as usize;
            assert_eq!((len - data.len() * 4) % 64, 0, "header is 64-byte aligned");
            let a = read_npy(&p).unwrap();
            assert_eq!((a.shape, a.data), (shape, data));
        }
        assert!(matches!(
            write_npy_f32(&p, &[2, 2], &[1.0]).unwrap_err(),
            Error::ShapeMismatch { .. }
        ));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn truncated_and_trailing_data() {
        let err = parse(&F8_2X3[..F8_2X3.len() - 5]).unwrap_err();
        assert!(matches!(err, Error::Format { .. }));
        assert!(
            err.to_string()
                .contains("truncated: expected 48 bytes of data, found 43"),
            "{err}"
        );
        let err = parse(&F8_2X3[..50]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        let err = parse(&F8_2X3[..9]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        let mut long = U1_4.to_vec();
        long.push(0);
        let err = parse(&long).unwrap_err().to_string();
        assert!(err.contains("unexpected bytes"), "{err}");
    }

    #[test]
    fn bad_magic_and_bad_headers() {
        let err = parse(b"hello world").unwrap_err();
        assert!(matches!(err, Error::Format { .. }));
        assert!(err.to_string().contains("bad magic"), "{err}");
        assert!(parse(b"").unwrap_err().to_string().contains("bad magic"));
        let err = parse(b"PK\x03\x04rest").unwrap_err().to_string();
        assert!(err.contains(".npz"), "{err}");
        let with_header = |h: &str| {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&[1, 0]);
            b.extend_from_slice(&(h.len() as u16).to_le_bytes());
            b.extend_from_slice(h.as_bytes());
            b.extend_from_slice(&[0u8; 8]);
            parse(&b)
        };
        // A valid hand-written header with double quotes, no trailing comma and Python 2 longs.
        let a = with_header("{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f4\"}\n")
            .unwrap();
        assert_eq!(a.shape, vec![2]);
        for (h, needle) in [
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
                "fortran_order",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
                "not a valid size",
            ),
            (
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}",
                "complex",
            ),
            (
                "{'descr': '<U1', 'fortran_order': False, 'shape': (2,)}",
                "strings",
            ),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",
                "structured",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
                "expected '}'",
            ),
            (
                "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
                "expected ','",
            ),
            ("['descr']", "not a dictionary"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
                "unexpected",
            ),
        ] {
            let err = with_header(h).unwrap_err();
            assert!(matches!(err, Error::Format { .. }), "{h}: {err}");
            assert!(err.to_string().contains(needle), "{h}: {err}");
        }
    }

    #[test]
    fn half_precision_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn pairs_for_classification_and_regression() {
        let (px, py) = (tmp("px"), tmp("py"));
        write_npy_f32(&px, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        write_npy_f32(&py, &[3], &[2.0, 0.0, 1.0]).unwrap();
        let d = load_npy_pair(&px, &py, true).unwrap();
        assert_eq!(d.n_features, 2);
        assert_eq!(
            d.targets,
            Targets::Classes {
                labels: vec![2, 0, 1],
                n_classes: 3
            }
        );
        let d = load_npy_pair(&px, &py, false).unwrap();
        assert_eq!(
            d.targets,
            Targets::Values {
                values: vec![2.0, 0.0, 1.0],
                n_outputs: 1
            }
        );
        write_npy_f32(&py, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let d = load_npy_pair(&px, &py, false).unwrap();
        assert!(matches!(d.targets, Targets::Values { n_outputs: 2, .. }));
        assert!(matches!(
            load_npy_pair(&px, &py, true).unwrap_err(),
            Error::InvalidData(_)
        ));
        // 1-D features are one column; labels must be non-negative integers.
        write_npy_f32(&px, &[3], &[1.0, 2.0, 3.0]).unwrap();
        write_npy_f32(&py, &[3, 1], &[0.0, 1.5, 1.0]).unwrap();
        let err = load_npy_pair(&px, &py, true).unwrap_err().to_string();
        assert!(err.contains("1.5"), "{err}");
        write_npy_f32(&py, &[3, 1], &[0.0, -1.0, 1.0]).unwrap();
        assert!(load_npy_pair(&px, &py, true).is_err());
        write_npy_f32(&py, &[3, 1], &[0.0, 1.0, 1.0]).unwrap();
        let d = load_npy_pair(&px, &py, true).unwrap();
        assert_eq!((d.n_features, d.len()), (1, 3));
        // Count mismatch, NaN feature, scalar features.
        write_npy_f32(&py, &[2], &[0.0, 1.0]).unwrap();
        let err = load_npy_pair(&px, &py, true).unwrap_err().to_string();
        assert!(err.contains("2 samples"), "{err}");
        write_npy_f32(&py, &[3], &[0.0, 1.0, 1.0]).unwrap();
        write_npy_f32(&px, &[3], &[1.0, f32::NAN, 3.0]).unwrap();
        let err = load_npy_pair(&px, &py, true).unwrap_err().to_string();
        assert!(err.contains("NaN"), "{err}");
        write_npy_f32(&px, &[], &[1.0]).unwrap();
        assert!(matches!(
            load_npy_pair(&px, &py, true).unwrap_err(),
            Error::Format { .. }
        ));
        std::fs::remove_file(&px).unwrap();
        std::fs::remove_file(&py).unwrap();
    }

    #[test]
    fn gzipped_npy_is_read() {
        use std::io::Write as _;
        let p = tmp("gz");
        let f = std::fs::File::create(&p).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        enc.write_all(U1_4).unwrap();
        enc.finish().unwrap();
        assert_eq!(read_npy(&p).unwrap().data, vec![0.0, 1.0, 2.0, 255.0]);
        std::fs::remove_file(&p).unwrap();
    }
}
