//! Reading and writing safetensors files atomically, with metadata, never panicking on
//! corrupt input (checkpoints, caches).
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// Little-endian bytes and safetensors dtype of a tensor (any device; copied to the CPU).
pub fn tensor_bytes(t: &Tensor) -> Result<(Dtype, Vec<usize>, Vec<u8>)> {
    let shape = t.dims().to_vec();
    let flat = t.flatten_all()?;
    Ok(match t.dtype() {
        DType::F64 => (
            Dtype::F64,
            shape,
            flat.to_vec1::<f64>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        DType::U32 => (
            Dtype::U32,
            shape,
            flat.to_vec1::<u32>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        DType::I64 => (
            Dtype::I64,
            shape,
            flat.to_vec1::<i64>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
        DType::U8 => (Dtype::U8, shape, flat.to_vec1::<u8>()?),
        _ => (
            Dtype::F32,
            shape,
            flat.to_dtype(DType::F32)?
                .to_vec1::<f32>()?
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
    })
}

/// Serialise named raw tensors `(name, dtype, shape, bytes)` with metadata and write atomically.
pub fn write_raw(
    path: &Path,
    tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Format {
                    path: path.to_path_buf(),
                    msg: format!("tensor {name}: {e}"),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, metadata).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    crate::report::atomic_write(path, &bytes)
}

/// Write named tensors (f32/f64/u32/i64/u8 kept, others as f32) atomically.
pub fn write(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let raw = tensors
        .iter()
        .map(|(n, t)| tensor_bytes(t).map(|(d, s, b)| (n.clone(), d, s, b)))
        .collect::<Result<Vec<_>>>()?;
    write_raw(path, &raw, metadata)
}

/// Only the metadata of a safetensors file (to check what a file is before loading it).
pub fn metadata(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        msg: format!("not a valid safetensors file ({e})"),
    })?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Read every tensor and the metadata of a safetensors file. A missing, truncated or
/// corrupt file is an error naming the file.
pub fn read(
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let bad = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| bad(format!("cannot read tensors ({e})")))?;
    Ok((tensors, metadata))
}
