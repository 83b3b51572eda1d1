//! The BERT encoder of all-MiniLM-L6-v2 (Hugging Face `BertModel` without the pooler),
//! written against candle's tensors and layers: embeddings (word + position + token type
//! 0) and LayerNorm, then `num_hidden_layers` × (self-attention over the unpadded
//! tokens, residual + LayerNorm, exact-erf GELU feed-forward, residual + LayerNorm).

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

use crate::embed::EmbedError;

/// The fields of `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// Token vocabulary size.
    pub vocab_size: usize,
    /// Width of every hidden state (384 for MiniLM-L6).
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest input the position embeddings cover.
    pub max_position_embeddings: usize,
    /// Token-type (segment) vocabulary size.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Activation; only `gelu` (exact, erf-based) is supported.
    pub hidden_act: String,
}

impl BertConfig {
    /// Parses and checks `config.json`.
    pub fn parse(json: &str) -> std::result::Result<Self, EmbedError> {
        let c: Self = serde_json::from_str(json).map_err(|e| EmbedError::Config(e.to_string()))?;
        if c.hidden_act != "gelu" {
            return Err(EmbedError::Config(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                c.hidden_act
            )));
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(EmbedError::Config(
                "hidden_size must be a multiple of num_attention_heads".into(),
            ));
        }
        Ok(c)
    }
}

fn linear(vb: &VarBuilder<'_>, name: &str, inp: usize, out: usize) -> Result<Linear> {
    candle_nn::linear(inp, out, vb.pp(name))
}

fn layer_norm(vb: &VarBuilder<'_>, name: &str, size: usize, eps: f64) -> Result<LayerNorm> {
    candle_nn::layer_norm(size, eps, vb.pp(name))
}

/// One encoder layer.
#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    out_norm: LayerNorm,
}

impl Layer {
    fn load(vb: &VarBuilder<'_>, c: &BertConfig) -> Result<Self> {
        let (h, i, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        Ok(Self {
            query: linear(vb, "attention.self.query", h, h)?,
            key: linear(vb, "attention.self.key", h, h)?,
            value: linear(vb, "attention.self.value", h, h)?,
            attn_out: linear(vb, "attention.output.dense", h, h)?,
            attn_norm: layer_norm(vb, "attention.output.LayerNorm", h, eps)?,
            up: linear(vb, "intermediate.dense", h, i)?,
            down: linear(vb, "output.dense", i, h)?,
            out_norm: layer_norm(vb, "output.LayerNorm", h, eps)?,
        })
    }

    /// `x`: [batch, seq, hidden]; `bias`: [batch, 1, 1, seq], 0 for tokens and a large
    /// negative number for padding, added to the attention scores.
    fn forward(&self, x: &Tensor, bias: &Tensor, heads: usize) -> Result<Tensor> {
        let (b, n, hidden) = x.dims3()?;
        let d = hidden / heads;
        let split = |t: Tensor| t.reshape((b, n, heads, d))?.transpose(1, 2)?.contiguous();
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scale = 1.0 / (d as f64).sqrt();
        let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, n, hidden))?;
        let x = self
            .attn_norm
            .forward(&(self.attn_out.forward(&ctx)? + x)?)?;
        let ff = self.down.forward(&self.up.forward(&x)?.gelu_erf()?)?;
        self.out_norm.forward(&(ff + x)?)
    }
}

/// The encoder.
#[derive(Debug)]
pub struct Bert {
    words: Embedding,
    positions: Embedding,
    token_type0: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    max_positions: usize,
}

impl Bert {
    /// Loads the weights named as in Hugging Face's `BertModel` (no `bert.` prefix).
    pub fn load(vb: &VarBuilder<'_>, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        let emb = vb.pp("embeddings");
        let types = candle_nn::embedding(c.type_vocab_size, h, emb.pp("token_type_embeddings"))?;
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::load(&vb.pp(format!("encoder.layer.{i}")), c))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            words: candle_nn::embedding(c.vocab_size, h, emb.pp("word_embeddings"))?,
            positions: candle_nn::embedding(
                c.max_position_embeddings,
                h,
                emb.pp("position_embeddings"),
            )?,
            token_type0: types.embeddings().get(0)?,
            norm: layer_norm(&emb, "LayerNorm", h, c.layer_norm_eps)?,
            layers,
            heads: c.num_attention_heads,
            max_positions: c.max_position_embeddings,
        })
    }

    /// Longest input the position embeddings cover.
    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// The last hidden states [batch, seq, hidden] for token ids [batch, seq] (u32) with
    /// their attention mask [batch, seq] (f32, 1 = token, 0 = padding).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (b, n) = ids.dims2()?;
        let positions = Tensor::arange(0u32, u32::try_from(n).unwrap_or(u32::MAX), ids.device())?;
        let x = self
            .words
            .forward(ids)?
            .broadcast_add(&self.positions.forward(&positions)?)?
            .broadcast_add(&self.token_type0)?;
        let mut x = self.norm.forward(&x)?;
        // Padding gets -10000 before the softmax, as Hugging Face's BERT did when this
        // model was trained: its weight underflows to 0.
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 10_000.0)?.reshape((b, 1, 1, n))?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias, self.heads)?;
        }
        Ok(x)
    }
}

/// Mean of the hidden states over the attended tokens, L2-normalised: [batch, hidden].
pub fn mean_pool_normalized(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [b, n, 1]
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // [b, h]
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?; // [b, 1]
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norm)
}
