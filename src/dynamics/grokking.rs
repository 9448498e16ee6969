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

/// The accuracy threshold of grokking's steps (TASKS.md: "the step at which each accuracy
/// first reaches 0.99").
pub const GROKKED: f64 = 0.99;

/// When a modular-addition run memorised and when it generalised, read off metrics.jsonl's
/// evaluations (`summary.json`'s `modular_addition`): the first evaluation step at which
/// each accuracy reached the threshold (null: never, in the steps run).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GrokkingSteps {
    /// Training accuracy first exactly 1 (every training pair right).
    pub train_acc_1: Option<usize>,
    /// Training accuracy first at least 0.99.
    pub train_acc_099: Option<usize>,
    /// Held-out accuracy first at least 0.99.
    pub eval_acc_099: Option<usize>,
}

impl GrokkingSteps {
    /// Read off the curves of metrics.jsonl (`eval_train_acc`, `eval_acc`).
    pub fn of(curves: &crate::run_dir::metrics::Curves) -> GrokkingSteps {
        use crate::run_dir::metrics::eval_key;
        use crate::tasks::metric;
        let first = |key: &str, at_least: f64| -> Option<usize> {
            curves
                .get(&eval_key(key))?
                .iter()
                .find(|(_, v)| *v >= at_least)
                .map(|(s, _)| *s as usize)
        };
        GrokkingSteps {
            train_acc_1: first(metric::TRAIN_ACC, 1.0),
            train_acc_099: first(metric::TRAIN_ACC, GROKKED),
            eval_acc_099: first(metric::ACC, GROKKED),
        }
    }

    /// One line for a person: when each accuracy got there.
    pub fn describe(&self) -> String {
        let at = |what: String, s: Option<usize>| match s {
            Some(s) => format!("{what} at step {s}"),
            None => format!("{what} not reached"),
        };
        format!(
            "{}, {}",
            at("train accuracy 1.0".into(), self.train_acc_1),
            at(format!("held-out accuracy >= {GROKKED}"), self.eval_acc_099)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_the_first_evaluations_past_the_thresholds() {
        let text = [
            r#"{"step":100,"loss":1.0,"eval_train_acc":0.5,"eval_acc":0.01}"#,
            r#"{"step":200,"loss":0.1,"eval_train_acc":0.995,"eval_acc":0.02}"#,
            r#"{"step":300,"loss":0.0,"eval_train_acc":1.0,"eval_acc":0.5}"#,
            r#"{"step":400,"loss":0.0,"eval_train_acc":0.999,"eval_acc":0.991}"#,
        ]
        .join("\n");
        let s = GrokkingSteps::of(&crate::run_dir::metrics::curves(&text));
        assert_eq!(
            (s.train_acc_1, s.train_acc_099, s.eval_acc_099),
            (Some(300), Some(200), Some(400))
        );
        let none = GrokkingSteps::of(&crate::run_dir::metrics::curves(""));
        assert_eq!(none.eval_acc_099, None);
        assert!(none.describe().contains("not reached"));
    }
}
