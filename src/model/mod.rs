//! The transformer: its config and TransformerLens parameter names and shapes (`config`),
//! the model and its forward pass with optional hooks (`transformer`, built from the layers
//! `embed`, `attention`, `layernorm`, `mlp`, `linear` and the `fused` CPU kernels), seeded
//! initial weights (`init`), state dicts on disk (`weights`) and the losses (`loss`).
pub mod attention;
pub mod config;
pub mod embed;
pub mod fused;
pub mod init;
pub mod layernorm;
pub mod linear;
pub mod loss;
pub mod mlp;
mod transformer;
pub mod weights;

pub use attention::softmax_last;
pub use config::param_shapes;
pub use init::init_varmap;
pub use loss::{masked_mean_loss, masked_sum_loss, per_token_loss};
pub use transformer::Transformer;
pub use weights::{
    load_weights, save_weights, state_dict_varmap, tl_config, varmap_of, weights_bytes, Weights,
};
