//! AdamW (decoupled weight decay on matrices only, or on every parameter), the learning-rate schedule and
//! gradient clipping by global norm. Parameters are visited in name order.
use crate::config::{DecayOn, Schedule, TrainConfig};
use crate::error::Result;
use candle_core::{backprop::GradStore, bail, CpuStorage, DType, InplaceOp1, Layout, Tensor, Var};
use std::cell::RefCell;

/// One trainable parameter with its Adam moments.
#[derive(Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
    pub m: Tensor,
    pub v: Tensor,
    /// Weight decay applies (matrices only, rank >= 2, unless `decay_on = "all"`).
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
                let decay = match cfg.decay_on {
                    DecayOn::Matrices => var.rank() >= 2,
                    DecayOn::All => true,
                };
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
                total += if cpu_f32(g) {
                    let g = g.contiguous()?;
                    let (st, l) = g.storage_and_layout();
                    match (&*st, l.contiguous_offsets()) {
                        (candle_core::Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => {
                            v[a..b].iter().map(|&x| f64::from(x) * f64::from(x)).sum()
                        }
                        _ => f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?),
                    }
                } else {
                    f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?)
                };
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
            if cpu_f32(p.var.as_tensor()) && cpu_f32(g) {
                let h = Hyper {
                    b1: b1 as f32,
                    b2: b2 as f32,
                    gs: grad_scale as f32,
                    step: (lr / bc1) as f32,
                    inv_bc2: (1.0 / bc2) as f32,
                    eps: self.eps as f32,
                    keep: if p.decay && self.weight_decay > 0.0 {
                        (1.0 - lr * self.weight_decay) as f32
                    } else {
                        1.0
                    },
                };
                fused_step(p.var.as_tensor(), &p.m, &p.v, g, &h)?;
                continue;
            }
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

fn cpu_f32(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// Per-step constants of the fused update.
struct Hyper {
    b1: f32,
    b2: f32,
    /// Gradient scale (clipping).
    gs: f32,
    /// `lr / (1 - b1^t)`.
    step: f32,
    /// `1 / (1 - b2^t)`.
    inv_bc2: f32,
    eps: f32,
    /// `1 - lr * weight_decay` for decayed parameters, else 1.
    keep: f32,
}

/// Gives a closure mutable access to a contiguous f32 CPU tensor's elements, in place.
struct WithSlice<F>(RefCell<F>);

impl<F: FnMut(&mut [f32]) -> candle_core::Result<()>> InplaceOp1 for WithSlice<F> {
    fn name(&self) -> &'static str {
        "indu-adamw"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
        match (s, l.contiguous_offsets()) {
            (CpuStorage::F32(v), Some((a, b))) => (self.0.borrow_mut())(&mut v[a..b]),
            _ => bail!("indu-adamw: expected a contiguous f32 tensor"),
        }
    }
}

/// AdamW for one f32 CPU parameter in a single pass over `theta`, `m`, `v` (all updated in
/// place, no allocation) reading the gradient `g`. Same arithmetic as the generic path:
/// `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g^2`,
/// `theta = keep * theta - lr * (m / bc1) / (sqrt(v / bc2) + eps)`.
fn fused_step(theta: &Tensor, m: &Tensor, v: &Tensor, g: &Tensor, h: &Hyper) -> Result<()> {
    let g = g.contiguous()?;
    let (gst, gl) = g.storage_and_layout();
    let gs: &[f32] = match (&*gst, gl.contiguous_offsets()) {
        (candle_core::Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => &v[a..b],
        _ => {
            return Err(candle_core::Error::Msg("indu-adamw: gradient layout".into()).into());
        }
    };
    m.inplace_op1(&WithSlice(RefCell::new(|ms: &mut [f32]| {
        v.inplace_op1(&WithSlice(RefCell::new(|vs: &mut [f32]| {
            theta.inplace_op1(&WithSlice(RefCell::new(|ts: &mut [f32]| {
                let n = ts.len();
                if ms.len() != n || vs.len() != n || gs.len() != n {
                    bail!("indu-adamw: parameter, moments and gradient differ in size");
                }
                let (b1, b2, c1, c2) = (h.b1, h.b2, 1.0 - h.b1, 1.0 - h.b2);
                for i in 0..n {
                    let gi = gs[i] * h.gs;
                    let mi = b1 * ms[i] + c1 * gi;
                    let vi = b2 * vs[i] + c2 * (gi * gi);
                    ms[i] = mi;
                    vs[i] = vi;
                    ts[i] = h.keep * ts[i] - h.step * mi / ((vi * h.inv_bc2).sqrt() + h.eps);
                }
                Ok(())
            })))
        })))
    })))?;
    Ok(())
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
    fn decay_on_picks_the_decayed_parameters() -> Result<()> {
        let dev = Device::Cpu;
        let w = Var::from_vec(vec![1f32; 4], (2, 2), &dev)?;
        let b = Var::from_vec(vec![1f32; 2], 2, &dev)?;
        for (on, bias_shrinks) in [(DecayOn::Matrices, false), (DecayOn::All, true)] {
            let cfg = TrainConfig {
                weight_decay: 0.5,
                decay_on: on,
                ..TrainConfig::default()
            };
            w.set(&Tensor::ones((2, 2), DType::F32, &dev)?)?;
            b.set(&Tensor::ones(2, DType::F32, &dev)?)?;
            let mut opt = AdamW::new(vec![("b".into(), b.clone()), ("w".into(), w.clone())], &cfg)?;
            // A zero gradient: only the decay moves the parameters.
            let sum = (w.as_tensor().sum_all()? + b.as_tensor().sum_all()?)?;
            let loss = (&sum - &sum)?;
            opt.step(&loss.backward()?, 0.1, 1.0)?;
            let wv = w.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let bv = b.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            assert!(
                wv.iter().all(|&x| (x - 0.95).abs() < 1e-6),
                "{on:?}: {wv:?}"
            );
            let want_b = if bias_shrinks { 0.95 } else { 1.0 };
            assert!(
                bv.iter().all(|&x| (x - want_b).abs() < 1e-6),
                "{on:?}: {bv:?}"
            );
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
