//! The BERT encoder itself, one text per forward pass.
//!
//! # Why our own forward pass
//!
//! A BERT encoder is small: token + position embeddings and a layer norm, then
//! `num_hidden_layers` identical layers of self-attention and a GELU feed-forward
//! network, each closed by a residual sum and a layer norm. Writing it here (on
//! candle tensors) rather than calling a library's `BertModel` lets us choose
//! how texts go through it:
//!
//! - **No padding.** Each text runs alone, so no position is spent on padding and
//!   attention never looks at padded keys (there is no mask at all). A batch of
//!   texts of different lengths used to cost `texts × longest²` in attention and
//!   `texts × longest` in every linear layer; now each text costs its own length.
//!   It also makes a text's states independent of which other texts are scored
//!   with it, bit for bit: results cannot depend on batch size or thread count.
//!   On a CPU the matrix products stay large enough to run at full speed (a text
//!   of 100 tokens is a 100 × 384 by 384 × 1536 product in the feed-forward).
//!
//! Query, key and value projections share one input, so they are one fused
//! linear layer of three times the width (one product instead of three).
//! Weights are stored transposed, `(in, out)`, the layout the matrix product
//! reads. Everything between two products (bias, GELU, residual sum and layer
//! norm, the attention's scale and softmax) is one vectorised pass in place on
//! the product's output (kernels.rs), not a chain of tensor operations each
//! allocating a copy. The products are candle's (the `gemm` crate), with its
//! AVX-512 kernels switched on (Cargo.toml) where the CPU has them.
//!
//! # Not here: 8-bit weights
//!
//! Quantising the linear layers to 8 bits (GGML `Q8_0`: blocks of 32 values,
//! one f32 scale each, activations quantised on the fly) with candle 0.11's
//! `QMatMul` was measured on this path: its CPU kernel computes one dot product
//! per output element (a decoder's matrix-vector kernel), and on 100–500-token
//! inputs it ran at half the speed of the f32 matrix product (3.8 against 7.6
//! pairs/s on tests/fixtures/llmbar_slice.parquet, measures within 6e-3 of
//! exact). An 8-bit mode is worth offering only with a blocked integer kernel.

use super::kernels::{AddBias, LayerNorm, ResidualNorm, ScaledSoftmax};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

/// The fields of a BERT `config.json` the forward pass uses.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BertConfig {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    pub layer_norm_eps: f64,
    pub max_position_embeddings: usize,
    #[serde(default = "erf_gelu")]
    pub hidden_act: String,
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
}

fn erf_gelu() -> String {
    "gelu".into()
}

fn absolute() -> String {
    "absolute".into()
}

/// A loaded encoder: token ids in, last-layer token states out.
pub(crate) struct Encoder {
    words: Tensor,
    positions: Tensor,
    /// The token-type-0 embedding, `(1, hidden)`: every text is a single segment.
    segment: Tensor,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

impl Encoder {
    /// Reads the weights `config` describes from `vb`.
    /// An `Err` names what is missing or unsupported.
    pub fn load(vb: VarBuilder, config: &BertConfig) -> Result<Encoder> {
        if config.hidden_act != "gelu" || config.position_embedding_type != "absolute" {
            candle_core::bail!(
                "only BERT models with hidden_act 'gelu' and absolute position embeddings are supported \
                 (config.json has hidden_act '{}', position_embedding_type '{}')",
                config.hidden_act,
                config.position_embedding_type
            );
        }
        if config.num_attention_heads == 0 || config.hidden_size % config.num_attention_heads != 0 {
            candle_core::bail!("hidden_size is not a multiple of num_attention_heads in config.json");
        }
        let vb =
            if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        let (h, e) = (config.hidden_size, vb.pp("embeddings"));
        let norm = |vb: VarBuilder| load_norm(vb, h, config.layer_norm_eps);
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Encoder {
            words: e
                .get((e.get_unchecked("word_embeddings.weight")?.dim(0)?, h), "word_embeddings.weight")?,
            positions: e.get((config.max_position_embeddings, h), "position_embeddings.weight")?,
            segment: e.get_unchecked("token_type_embeddings.weight")?.narrow(0, 0, 1)?,
            embed_norm: norm(e.pp("LayerNorm"))?,
            layers,
            heads: config.num_attention_heads,
        })
    }

    /// Last-layer states of one text, `(ids.len(), hidden)`. `ids` must not be longer
    /// than the position embeddings (callers truncate).
    pub fn forward(&self, ids: &[u32]) -> Result<Tensor> {
        let n = ids.len();
        let ids = Tensor::new(ids, self.words.device())?;
        let x = self.words.index_select(&ids, 0)?;
        let mut x = x.add(&self.positions.narrow(0, 0, n)?)?.broadcast_add(&self.segment)?;
        // A fresh tensor: normalised in place.
        x.inplace_op1(&self.embed_norm)?;
        for layer in &self.layers {
            x = layer.forward(&x, self.heads)?;
        }
        Ok(x)
    }
}

/// One BERT layer: self-attention, then the feed-forward network.
struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    ff_in: Linear,
    ff_out: Linear,
    ff_norm: LayerNorm,
}

impl Layer {
    fn load(vb: VarBuilder, config: &BertConfig) -> Result<Layer> {
        let (h, i, eps) = (config.hidden_size, config.intermediate_size, config.layer_norm_eps);
        let s = vb.pp("attention.self");
        let part = |name: &str| {
            Ok::<_, candle_core::Error>((
                s.get((h, h), &format!("{name}.weight"))?,
                s.get(h, &format!("{name}.bias"))?,
            ))
        };
        let (q, k, v) = (part("query")?, part("key")?, part("value")?);
        let qkv_weight = Tensor::cat(&[&q.0, &k.0, &v.0], 0)?;
        let qkv_bias = Tensor::cat(&[&q.1, &k.1, &v.1], 0)?;
        Ok(Layer {
            qkv: Linear::new(&qkv_weight, &qkv_bias)?,
            attention_out: Linear::load(vb.pp("attention.output.dense"), (h, h))?,
            attention_norm: load_norm(vb.pp("attention.output.LayerNorm"), h, eps)?,
            ff_in: Linear::load(vb.pp("intermediate.dense"), (i, h))?,
            ff_out: Linear::load(vb.pp("output.dense"), (h, i))?,
            ff_norm: load_norm(vb.pp("output.LayerNorm"), h, eps)?,
        })
    }

    fn forward(&self, x: &Tensor, heads: usize) -> Result<Tensor> {
        let (n, h) = x.dims2()?;
        let head_dim = h / heads;
        let qkv = self.qkv.product(x)?;
        qkv.inplace_op1(&AddBias { bias: &self.qkv.bias, gelu: false })?;
        // (n, h) slice of the fused output → (heads, n, head_dim).
        let split =
            |k: usize| qkv.narrow(1, k * h, h)?.reshape((n, heads, head_dim))?.transpose(0, 1)?.contiguous();
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let weights = q.matmul(&k.t()?)?;
        weights.inplace_op1(&ScaledSoftmax { scale: 1.0 / (head_dim as f32).sqrt(), width: n })?;
        let context = weights.matmul(&v)?.transpose(0, 1)?.reshape((n, h))?;
        let attended = self.attention_out.product(&context)?;
        attended
            .inplace_op2(x, &ResidualNorm { bias: &self.attention_out.bias, norm: &self.attention_norm })?;
        let inner = self.ff_in.product(&attended)?;
        inner.inplace_op1(&AddBias { bias: &self.ff_in.bias, gelu: true })?;
        let out = self.ff_out.product(&inner)?;
        out.inplace_op2(&attended, &ResidualNorm { bias: &self.ff_out.bias, norm: &self.ff_norm })?;
        Ok(out)
    }
}

/// `y = x Wᵀ + b`, `W` of shape `(out, in)`, kept transposed: `(in, out)`, contiguous.
struct Linear {
    /// `Wᵀ`: the matrix product reads it as it is stored, with no repacking per call.
    weight_t: Tensor,
    bias: Vec<f32>,
}

impl Linear {
    fn load(vb: VarBuilder, (out, inp): (usize, usize)) -> Result<Linear> {
        Linear::new(&vb.get((out, inp), "weight")?, &vb.get(out, "bias")?)
    }

    fn new(weight: &Tensor, bias: &Tensor) -> Result<Linear> {
        Ok(Linear { weight_t: weight.t()?.contiguous()?, bias: bias.to_vec1()? })
    }

    /// `x Wᵀ`, a fresh tensor the caller adds the bias to (fused with what follows).
    fn product(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight_t)
    }
}

/// A layer norm's weights, shift and epsilon from `vb` (`weight`, `bias`).
fn load_norm(vb: VarBuilder, h: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm {
        weight: vb.get(h, "weight")?.to_vec1()?,
        shift: vb.get(h, "bias")?.to_vec1()?,
        eps: eps as f32,
    })
}
