//! AdamW (decoupled weight decay on matrices only), the learning-rate schedule and
//! gradient clipping by global norm. Parameters are visited in name order.
use crate::config::{Schedule, TrainConfig};
use crate::error::Result;
use candle_core::{backprop::GradStore, Tensor, Var};

/// One trainable parameter with its Adam moments.
#[derive(Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
    pub m: Tensor,
    pub v: Tensor,
    /// Weight decay applies to matrices (rank >= 2), not to biases or LayerNorm.
    pub decay: bool,
}

/// AdamW over a fixed, name-ordered list of parameters.
#[derive(Debug)]
pub struct AdamW {
    pub params: Vec<Param>,
    /// Number of updates done so far (Adam's bias-correction `t`).
    pub t: usize,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
}

impl AdamW {
    /// Fresh moments (zeros) for `vars`, sorted by name.
    pub fn new(mut vars: Vec<(String, Var)>, cfg: &TrainConfig) -> Result<AdamW> {
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let params = vars
            .into_iter()
            .map(|(name, var)| {
                let m = var.zeros_like()?;
                let v = var.zeros_like()?;
                let decay = var.rank() >= 2;
                Ok(Param {
                    name,
                    var,
                    m,
                    v,
                    decay,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW {
            params,
            t: 0,
            beta1: cfg.betas[0],
            beta2: cfg.betas[1],
            eps: cfg.eps,
            weight_decay: cfg.weight_decay,
        })
    }

    /// Global L2 norm of the gradients of every parameter.
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut total = 0f64;
        for p in &self.params {
            if let Some(g) = grads.get(p.var.as_tensor()) {
                total += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
            }
        }
        Ok(total.sqrt())
    }

    /// One AdamW update at learning rate `lr`; gradients are multiplied by `grad_scale`
    /// first (clipping). Parameters without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore, lr: f64, grad_scale: f64) -> Result<()> {
        self.t += 1;
        let t = self.t as i32;
        let (b1, b2) = (self.beta1, self.beta2);
        let bc1 = 1.0 - b1.powi(t);
        let bc2 = 1.0 - b2.powi(t);
        for p in &mut self.params {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            let g = if grad_scale != 1.0 {
                g.affine(grad_scale, 0.0)?
            } else {
                g.clone()
            };
            p.m = ((p.m.affine(b1, 0.0)? + g.affine(1.0 - b1, 0.0)?)?).detach();
            p.v = ((p.v.affine(b2, 0.0)? + g.sqr()?.affine(1.0 - b2, 0.0)?)?).detach();
            let denom = p.v.affine(1.0 / bc2, 0.0)?.sqrt()?.affine(1.0, self.eps)?;
            let update = (p.m.affine(1.0 / bc1, 0.0)? / denom)?;
            let theta = p.var.as_tensor().detach();
            let theta = if p.decay && self.weight_decay > 0.0 {
                theta.affine(1.0 - lr * self.weight_decay, 0.0)?
            } else {
                theta
            };
            p.var.set(&(theta - update.affine(lr, 0.0)?)?)?;
        }
        Ok(())
    }
}

/// Learning rate at update number `step` (0-based): linear warm-up from lr/warmup to lr
/// over `warmup_steps`, then constant or cosine decay to 0 at `steps`.
pub fn learning_rate(cfg: &TrainConfig, step: usize) -> f64 {
    if cfg.warmup_steps > 0 && step < cfg.warmup_steps {
        return cfg.lr * (step + 1) as f64 / cfg.warmup_steps as f64;
    }
    match cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Cosine => {
            let span = cfg.steps.saturating_sub(cfg.warmup_steps).max(1) as f64;
            let done = (step - cfg.warmup_steps.min(step)) as f64;
            cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * (done / span).min(1.0)).cos())
        }
    }
}

/// The factor that scales gradients down to `max_norm` (1 when clipping is off or not needed).
pub fn clip_scale(norm: f64, max_norm: f64) -> f64 {
    if max_norm > 0.0 && norm > max_norm {
        max_norm / (norm + 1e-6)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn warmup_then_constant_and_cosine() {
        let mut c = TrainConfig {
            lr: 1.0,
            warmup_steps: 10,
            steps: 110,
            ..TrainConfig::default()
        };
        assert!((learning_rate(&c, 0) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&c, 9) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&c, 50) - 1.0).abs() < 1e-12);
        c.schedule = Schedule::Cosine;
        assert!((learning_rate(&c, 60) - 0.5).abs() < 1e-9);
        assert!(learning_rate(&c, 110).abs() < 1e-9);
    }

    #[test]
    fn adamw_first_step_moves_by_lr_against_the_gradient() -> Result<()> {
        // On the first step Adam's normalised update is sign(g) (|mhat/sqrt(vhat)| = 1).
        let dev = Device::Cpu;
        let w = Var::from_vec(vec![1f32, -2.0, 3.0, 0.5], (2, 2), &dev)?;
        let cfg = TrainConfig {
            weight_decay: 0.0,
            eps: 1e-12,
            ..TrainConfig::default()
        };
        let mut opt = AdamW::new(vec![("w".into(), w.clone())], &cfg)?;
        let loss = (w.as_tensor() * w.as_tensor())?.sum_all()?; // grad = 2w
        let grads = loss.backward()?;
        opt.step(&grads, 0.1, 1.0)?;
        let got = w
            .as_tensor()
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let want = [0.9f32, -1.9, 2.9, 0.4];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{got:?}");
        }
        Ok(())
    }

    #[test]
    fn clipping() {
        assert_eq!(clip_scale(0.5, 1.0), 1.0);
        assert!((clip_scale(4.0, 1.0) - 0.25).abs() < 1e-6);
        assert_eq!(clip_scale(100.0, 0.0), 1.0);
    }
}
