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
    embed_norm: Norm,
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
        let norm = |vb: VarBuilder| Norm::load(vb, h, config.layer_norm_eps);
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
        let x = x.add(&self.positions.narrow(0, 0, n)?)?.broadcast_add(&self.segment)?;
        let mut x = self.embed_norm.forward(&x)?;
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
    attention_norm: Norm,
    ff_in: Linear,
    ff_out: Linear,
    ff_norm: Norm,
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
            qkv: Linear { weight: qkv_weight, bias: qkv_bias },
            attention_out: Linear::load(vb.pp("attention.output.dense"), (h, h))?,
            attention_norm: Norm::load(vb.pp("attention.output.LayerNorm"), h, eps)?,
            ff_in: Linear::load(vb.pp("intermediate.dense"), (i, h))?,
            ff_out: Linear::load(vb.pp("output.dense"), (h, i))?,
            ff_norm: Norm::load(vb.pp("output.LayerNorm"), h, eps)?,
        })
    }

    fn forward(&self, x: &Tensor, heads: usize) -> Result<Tensor> {
        let (n, h) = x.dims2()?;
        let head_dim = h / heads;
        let qkv = self.qkv.forward(x)?;
        // (n, h) slice of the fused output → (heads, n, head_dim).
        let split =
            |k: usize| qkv.narrow(1, k * h, h)?.reshape((n, heads, head_dim))?.transpose(0, 1)?.contiguous();
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = weights.matmul(&v)?.transpose(0, 1)?.reshape((n, h))?;
        let attended = self.attention_norm.forward(&self.attention_out.forward(&context)?.add(x)?)?;
        let inner = self.ff_in.forward(&attended)?.gelu_erf()?;
        self.ff_norm.forward(&self.ff_out.forward(&inner)?.add(&attended)?)
    }
}

/// `y = x Wᵀ + b`, `W` of shape `(out, in)`.
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn load(vb: VarBuilder, (out, inp): (usize, usize)) -> Result<Linear> {
        Ok(Linear { weight: vb.get((out, inp), "weight")?, bias: vb.get(out, "bias")? })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}

/// Layer normalisation over the hidden dimension.
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Norm {
    fn load(vb: VarBuilder, h: usize, eps: f64) -> Result<Norm> {
        Ok(Norm { weight: vb.get(h, "weight")?, bias: vb.get(h, "bias")?, eps: eps as f32 })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)
    }
}
