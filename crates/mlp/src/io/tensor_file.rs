//! A safetensors file of named `f32` tensors plus string metadata, read with clear errors and
//! written atomically (temporary file in the same directory, flushed, then renamed), so a killed
//! process never leaves a half-written file under the final name.

use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Named `f32` tensors, `i8` tensors (quantized models) and `__metadata__` strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorFile {
    /// (name, shape, row-major data).
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    /// `i8` tensors (name, shape, row-major data): the weights of an int8 model.
    pub int8: Vec<(String, Vec<usize>, Vec<i8>)>,
    /// The `__metadata__` map.
    pub metadata: HashMap<String, String>,
}

impl TensorFile {
    /// Adds a tensor.
    pub fn push(&mut self, name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) {
        self.tensors.push((name.into(), shape, data));
    }

    /// The tensor called `name`, if present.
    pub fn get(&self, name: &str) -> Option<(&[usize], &[f32])> {
        self.tensors
            .iter()
            .find(|t| t.0 == name)
            .map(|t| (&t.1[..], &t.2[..]))
    }

    /// The `i8` tensor called `name`, if present.
    pub fn get_i8(&self, name: &str) -> Option<(&[usize], &[i8])> {
        self.int8
            .iter()
            .find(|t| t.0 == name)
            .map(|t| (&t.1[..], &t.2[..]))
    }

    /// Removes and returns the tensor called `name`.
    pub fn take(&mut self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let i = self.tensors.iter().position(|t| t.0 == name)?;
        let (_, shape, data) = self.tensors.remove(i);
        Some((shape, data))
    }

    /// Serializes to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|(_, _, d)| d.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let bytes_i8: Vec<Vec<u8>> = self
            .int8
            .iter()
            .map(|(_, _, d)| d.iter().map(|&x| x as u8).collect())
            .collect();
        let mut views = Vec::with_capacity(self.tensors.len() + self.int8.len());
        let f32s = self.tensors.iter().map(|(n, s, _)| (n, s, Dtype::F32));
        let i8s = self.int8.iter().map(|(n, s, _)| (n, s, Dtype::I8));
        for ((name, shape, dtype), b) in f32s.chain(i8s).zip(bytes.iter().chain(&bytes_i8)) {
            let view = TensorView::new(dtype, shape.clone(), b)
                .map_err(|e| Error::shape(format!("tensor {name}"), format!("{shape:?}"), e))?;
            views.push((name.clone(), view));
        }
        let meta = if self.metadata.is_empty() {
            None
        } else {
            Some(self.metadata.clone())
        };
        safetensors::tensor::serialize(views, meta)
            .map_err(|e| Error::InvalidData(format!("cannot serialize tensors: {e}")))
    }

    /// Parses safetensors bytes; `path` is used in error messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::format(path, msg);
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| {
            bad(format!(
                "not a valid safetensors file ({e}); is it truncated or another format?"
            ))
        })?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| {
            bad(format!(
                "not a valid safetensors file ({e}); is it truncated or another format?"
            ))
        })?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let mut tensors = Vec::new();
        let mut int8 = Vec::new();
        let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
        // Data-offset order: the order the writer laid the tensors out.
        names.sort_by_key(|n| meta.info(n).map_or(0, |i| i.data_offsets.0));
        for name in names {
            let view = st
                .tensor(&name)
                .map_err(|e| bad(format!("tensor '{name}': {e}")))?;
            if view.dtype() == Dtype::I8 {
                let data = view.data().iter().map(|&b| b as i8).collect();
                int8.push((name, view.shape().to_vec(), data));
                continue;
            }
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!(
                    "tensor '{name}' has dtype {:?}; only F32 (and I8 in int8 models) is supported",
                    view.dtype()
                )));
            }
            let data: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.push((name, view.shape().to_vec(), data));
        }
        Ok(TensorFile {
            tensors,
            int8,
            metadata,
        })
    }

    /// Reads a file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Writes a file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        atomic_write(path, &self.to_bytes()?)
    }
}

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
///
/// The temporary file is `.NAME.tmp-PID`. A run killed between creating and renaming it leaves
/// it behind; each write first removes such leftovers of the same `NAME` whose process is gone
/// (`remove_stale_temp_files`), so they do not pile up.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    remove_stale_temp_files(&dir, &name);
    let tmp = dir.join(format!("{}{}", temp_prefix(&name), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// The start of the temporary file names [`atomic_write`] uses for `name`; the PID follows.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// Removes `.NAME.tmp-PID` files in `dir` left by writers of `name` that no longer run: the PID
/// is not a live process (on Linux, no `/proc/PID`), or, where liveness cannot be checked, the
/// file is more than a day old. Returns how many were removed. Best effort: a file that cannot be
/// listed or removed is left alone, since the write itself does not depend on it.
fn remove_stale_temp_files(dir: &Path, name: &str) -> usize {
    let prefix = temp_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let own = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Our own temporary file is being (or about to be) written by this call or a concurrent
        // one in this process.
        if pid == own || !is_stale(pid, &entry) {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether the temporary file of process `pid` is a leftover.
fn is_stale(pid: u32, entry: &std::fs::DirEntry) -> bool {
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        return !proc_dir.join(pid.to_string()).exists();
    }
    // No procfs: only files old enough that no write can still be under way.
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let dir = std::env::temp_dir().join(format!("mlp-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("t.safetensors");
        let mut f = TensorFile::default();
        f.push("b", vec![2], vec![1.0, 2.0]);
        f.push("a", vec![1, 3], vec![3.0, 4.0, 5.0]);
        f.metadata.insert("k".into(), "v".into());
        f.write(&path).expect("write");
        let g = TensorFile::read(&path).expect("read");
        // safetensors orders tensors itself; names are the keys.
        assert_eq!(g.get("a"), f.get("a"));
        assert_eq!(g.get("b"), f.get("b"));
        assert_eq!(g.tensors.len(), 2);
        assert_eq!(g.metadata, f.metadata);
        let bytes = std::fs::read(&path).expect("bytes");
        let cut = dir.join("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 3]).expect("write cut");
        let err = TensorFile::read(&cut)
            .expect_err("truncated file must fail")
            .to_string();
        assert!(
            err.contains("cut.safetensors") && err.contains("not a valid safetensors"),
            "{err}"
        );
        std::fs::write(&cut, b"hello, world").expect("write junk");
        assert!(TensorFile::read(&cut).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stale_temp_files_of_dead_writers_are_removed_on_the_next_write() {
        let dir = std::env::temp_dir().join(format!("mlp-tf-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("m.safetensors");
        // Above Linux's PID limit (2^22), so never a live process.
        let dead = dir.join(".m.safetensors.tmp-4194305");
        // PID 1 always runs; another name; not a PID.
        let live = dir.join(".m.safetensors.tmp-1");
        let other = dir.join(".other.safetensors.tmp-4194305");
        let not_pid = dir.join(".m.safetensors.tmp-x");
        for p in [&dead, &live, &other, &not_pid] {
            std::fs::write(p, b"half a file").expect("write leftover");
        }
        let mut f = TensorFile::default();
        f.push("w", vec![1], vec![1.0]);
        f.write(&path).expect("write");
        assert!(!dead.exists(), "a dead writer's temporary file is removed");
        assert!(other.exists() && not_pid.exists(), "other files are kept");
        if Path::new("/proc/self").exists() {
            assert!(live.exists(), "a live writer's temporary file is kept");
        }
        assert_eq!(TensorFile::read(&path).expect("read"), f);
        // Nothing of this process's own write is left behind.
        let own = dir.join(format!(".m.safetensors.tmp-{}", std::process::id()));
        assert!(!own.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
