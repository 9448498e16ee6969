//! A PyTorch checkpoint (`torch.save(state_dict)`, the zip format of PyTorch >= 1.6) read as
//! named tensors, without Python: candle's unpickler gives the dict of tensor records, and
//! each tensor's bytes are read from its zip entry here. Records that are not tensors
//! (`_metadata`) are skipped, and so are storages candle cannot decode (the bool
//! `attn.mask` buffers) when the name is a TransformerLens buffer; any other failure is an
//! `Error::Format` naming the file and the tensor.
use crate::error::{Error, Result};
use candle_core::pickle::{Object, Stack, TensorInfo};
use candle_core::Tensor;
use std::io::{BufReader, Read};
use std::path::Path;

fn format_err(path: &Path, msg: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        msg,
    }
}

/// Whether `name` is a TransformerLens attention buffer (not a parameter).
fn is_buffer(name: &str) -> bool {
    name.ends_with(".attn.mask") || name.ends_with(".attn.IGNORE")
}

/// Every tensor of the state dict in `path`, by name, on the CPU (file order).
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let not_pth = |why: String| {
        format_err(
            path,
            format!(
                "not a readable PyTorch checkpoint ({why}); expected the zip file torch.save writes (truncated or another format?)"
            ),
        )
    };
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| not_pth(e.to_string()))?;
    let pkl = zip
        .file_names()
        .filter_map(|n| n.ok())
        .find(|n| n.ends_with("data.pkl"))
        .map(|n| n.into_owned())
        .ok_or_else(|| not_pth("no data.pkl inside".into()))?;
    let dir = pkl.trim_end_matches(".pkl").to_string();
    let object = {
        let entry = zip.by_name(&pkl).map_err(|e| not_pth(e.to_string()))?;
        let mut reader = BufReader::new(entry);
        let mut stack = Stack::empty();
        stack
            .read_loop(&mut reader)
            .map_err(|e| not_pth(format!("its pickle does not read: {}", one_line(&e))))?;
        stack
            .finalize()
            .map_err(|e| not_pth(format!("its pickle is empty: {}", one_line(&e))))?
    };
    let records = state_dict_of(object).ok_or_else(|| {
        format_err(
            path,
            "holds no state dict: expected torch.save(model.state_dict()), a dict of named tensors"
                .into(),
        )
    })?;
    let mut out = Vec::new();
    for (key, value) in records {
        let Object::Unicode(name) = &key else {
            continue;
        };
        let name = name.clone();
        let info = match value.into_tensor_info(key, Path::new(&dir)) {
            Ok(Some(info)) => info,
            Ok(None) => continue,
            Err(_) if is_buffer(&name) => continue,
            Err(e) => {
                return Err(format_err(
                    path,
                    format!("tensor {name} cannot be read: {}", one_line(&e)),
                ))
            }
        };
        let t = read_tensor(&mut zip, &info).map_err(|e| {
            format_err(
                path,
                format!("tensor {name}: its data cannot be read ({e}); the file may be truncated"),
            )
        })?;
        out.push((name, t));
    }
    Ok(out)
}

/// The dict of tensor records: the top object, or a checkpoint's `state_dict` / `model`
/// entry when the top object is a dict of those.
fn state_dict_of(object: Object) -> Option<Vec<(Object, Object)>> {
    let Object::Dict(entries) = object else {
        return None;
    };
    let nested = entries.iter().position(|(k, v)| {
        matches!((k, v), (Object::Unicode(s), Object::Dict(_)) if s == "state_dict" || s == "model")
    });
    match nested {
        Some(i) => match entries.into_iter().nth(i) {
            Some((_, Object::Dict(inner))) => Some(inner),
            _ => None,
        },
        None => Some(entries),
    }
}

/// One tensor's values from its zip entry (contiguous storages only, as torch.save writes
/// state-dict tensors).
fn read_tensor<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    info: &TensorInfo,
) -> std::result::Result<Tensor, String> {
    if !info.layout.is_contiguous() {
        return Err("the tensor is not contiguous".into());
    }
    let shape = info.layout.shape().clone();
    let start = info.layout.start_offset() as u64;
    let needed = start + (shape.elem_count() * info.dtype.size_in_bytes()) as u64;
    let mut entry = zip.by_name(&info.path).map_err(|e| e.to_string())?;
    if entry.size() < needed {
        return Err(format!(
            "its storage holds {} bytes, the tensor needs {needed}",
            entry.size()
        ));
    }
    std::io::copy(&mut entry.by_ref().take(start), &mut std::io::sink())
        .map_err(|e| e.to_string())?;
    let mut bytes = vec![0u8; (needed - start) as usize];
    entry.read_exact(&mut bytes).map_err(|e| e.to_string())?;
    Tensor::from_raw_buffer(&bytes, info.dtype, shape.dims(), &candle_core::Device::Cpu)
        .map_err(|e| one_line(&e))
}

fn one_line(e: &impl std::fmt::Display) -> String {
    crate::wording::one_line(&e.to_string())
}
