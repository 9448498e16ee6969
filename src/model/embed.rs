//! Token embedding `embed.W_E`, learned positions `pos_embed.W_pos` and the unembedding
//! `unembed.W_U`, `unembed.b_U` (TransformerLens names and shapes).
use crate::error::{Error, Result};
use candle_core::Tensor;
use candle_nn::VarBuilder;

/// `W_E`: `[d_vocab, d_model]`.
#[derive(Debug, Clone)]
pub struct Embed {
    w_e: Tensor,
}

impl Embed {
    /// `embed.W_E` under `vb`.
    pub fn new(d_vocab: usize, d_model: usize, vb: VarBuilder) -> Result<Embed> {
        Ok(Embed {
            w_e: vb.get((d_vocab, d_model), "W_E")?,
        })
    }

    /// `tokens`: `[batch, pos]` u32 -> `W_E[tokens]`: `[batch, pos, d_model]`.
    pub fn forward(&self, tokens: &Tensor) -> Result<Tensor> {
        let (batch, pos) = tokens.dims2()?;
        let (d_vocab, d_model) = self.w_e.dims2()?;
        let flat = tokens.flatten_all()?;
        let emb = self.w_e.index_select(&flat, 0).map_err(|e| {
            Error::Invalid(format!(
                "token ids must be below d_vocab = {d_vocab} ({})",
                e.to_string().lines().next().unwrap_or_default()
            ))
        })?;
        Ok(emb.reshape((batch, pos, d_model))?)
    }
}

/// `W_pos`: `[n_ctx, d_model]`.
#[derive(Debug, Clone)]
pub struct PosEmbed {
    w_pos: Tensor,
}

impl PosEmbed {
    /// `pos_embed.W_pos` under `vb`.
    pub fn new(n_ctx: usize, d_model: usize, vb: VarBuilder) -> Result<PosEmbed> {
        Ok(PosEmbed {
            w_pos: vb.get((n_ctx, d_model), "W_pos")?,
        })
    }

    /// `pos_ids`: `[batch * pos]` u32 position of each token (`0..pos` per row) ->
    /// `W_pos[pos_ids]`: `[batch, pos, d_model]`. A gather rather than a broadcast add, whose
    /// gradient would be a slow reduction over the batch in candle.
    pub fn forward(&self, pos_ids: &Tensor, batch: usize, pos: usize) -> Result<Tensor> {
        let d_model = self.w_pos.dim(1)?;
        Ok(self
            .w_pos
            .index_select(pos_ids, 0)?
            .reshape((batch, pos, d_model))?)
    }
}

/// `W_U`: `[d_model, d_vocab_out]`, `b_U`: `[d_vocab_out]`.
#[derive(Debug, Clone)]
pub struct Unembed {
    w_u: Tensor,
    b_u: Tensor,
}

impl Unembed {
    /// `unembed.W_U`, `unembed.b_U` under `vb`. With `trained_bias = false` the forward pass
    /// reads `b_U` detached (it shares the parameter's storage, so loaded values still
    /// apply), so it gets no gradient and AdamW leaves it as it started (0).
    pub fn new(
        d_model: usize,
        d_vocab_out: usize,
        trained_bias: bool,
        vb: VarBuilder,
    ) -> Result<Unembed> {
        let b_u = vb.get(d_vocab_out, "b_U")?;
        Ok(Unembed {
            w_u: vb.get((d_model, d_vocab_out), "W_U")?,
            b_u: if trained_bias { b_u } else { b_u.detach() },
        })
    }

    /// `x`: `[batch, pos, d_model]` -> logits `x @ W_U + b_U`: `[batch, pos, d_vocab_out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.dims3()?; // [batch, pos, d_model] only
        super::linear::apply(x, &self.w_u, &self.b_u)
    }
}
