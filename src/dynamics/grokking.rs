//! The grokking progress measures at a tracked step of a modular-addition run
//! (`dynamics.jsonl`'s `grokking` field): the model's logits on all `p²` pairs and its
//! embedding, measured with `fourier` (the definitions are there).
use super::fourier::{
    embed_fourier_norms, key_frequencies, progress_measures, FourierBasis, KEY_FREQS,
};
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::model::{Transformer, Weights};
use crate::tasks::modular_addition::ModularAddition;
use crate::tasks::Rows;
use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

/// Rows per forward pass over all pairs.
const CHUNK: usize = 4096;

/// What a tracked step of a modular-addition run measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrokkingLine {
    /// The key frequencies of this step: the `KEY_FREQS` largest embedding Fourier norms.
    pub key_freqs: Vec<usize>,
    /// Mean loss over all pairs of the logits restricted to the key frequencies.
    pub restricted_loss: f64,
    /// Mean loss over the training pairs of the logits with the key frequencies removed.
    pub excluded_loss: f64,
    /// `embed_fourier_norm[k]`: norm of `W_E` (the residues' rows) on frequency k's cos and
    /// sin basis vectors; entry 0 is the constant vector's.
    pub embed_fourier_norm: Vec<f64>,
}

/// The fixed inputs: all pairs, the split, the basis.
#[derive(Debug, Clone)]
pub struct GrokkingProbe {
    p: usize,
    all: Rows,
    is_train: Vec<bool>,
    basis: FourierBasis,
}

impl GrokkingProbe {
    /// The probe of a modular-addition task.
    pub fn new(task: &ModularAddition) -> GrokkingProbe {
        let p = task.p();
        let all = task.all_rows();
        let is_train = (0..p * p)
            .map(|i| task.is_train((i / p) as u32, (i % p) as u32))
            .collect();
        GrokkingProbe {
            p,
            all,
            is_train,
            basis: FourierBasis::new(p),
        }
    }

    /// The logits `[p², p]` (answer classes only, row `a * p + b`) of `model` at `=`.
    pub fn logits(&self, model: &Transformer, device: &Device) -> Result<Vec<f64>> {
        let p = self.p;
        let mut out = Vec::with_capacity(p * p * p);
        let mut start = 0;
        while start < self.all.len() {
            let end = (start + CHUNK).min(self.all.len());
            let batch = Batch::from_rows(&self.all.slice(start..end), device)?;
            let logits = model.forward_last(&batch.tokens, None)?.detach();
            let (n, _, d_vocab_out) = logits.dims3()?;
            if d_vocab_out < p {
                return Err(Error::Invalid(format!(
                    "the model has {d_vocab_out} outputs; modular addition needs p = {p}"
                )));
            }
            let v = logits
                .reshape((n, d_vocab_out))?
                .narrow(1, 0, p)?
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?;
            out.extend(v);
            start = end;
        }
        Ok(out)
    }

    /// Measure the model of this step.
    pub fn measure(
        &self,
        model: &Transformer,
        weights: &Weights,
        device: &Device,
    ) -> Result<GrokkingLine> {
        let p = self.p;
        let w_e = weights.tensor("embed.W_E")?;
        let (_, d_model) = w_e.dims2()?;
        let w_e = w_e
            .narrow(0, 0, p)?
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let norms = embed_fourier_norms(&self.basis, &w_e, d_model);
        let key = key_frequencies(&norms, KEY_FREQS);
        let logits = self.logits(model, device)?;
        let m = progress_measures(&logits, p, &key, &self.is_train);
        Ok(GrokkingLine {
            key_freqs: key,
            restricted_loss: m.restricted_loss,
            excluded_loss: m.excluded_loss,
            embed_fourier_norm: norms,
        })
    }
}
