//! The BERT encoder of all-MiniLM-L6-v2 (Hugging Face `BertModel` without the pooler),
//! written against candle's tensors and layers: embeddings (word + position + token type
//! 0) and LayerNorm, then `num_hidden_layers` × (self-attention over each text's own
//! tokens, residual + LayerNorm, exact-erf GELU feed-forward, residual + LayerNorm).
//!
//! Laid out for the CPU: the hidden states stay one [tokens, hidden] matrix (short texts
//! packed back to back with no padding, long ones padded to the longest), a dense
//! layer multiplies in the orientation that suits its row count ([`FEW_ROWS`]), the
//! query, key and value projections are one [hidden, 3 × hidden] product, attention
//! over short texts runs as one kernel (`kernels.rs`), and what follows each product
//! (bias; bias + GELU; bias + residual + LayerNorm) as one pass each (`fused.rs`).

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use crate::embed::fused::{AddBias, AddNorm, BiasGelu};
use crate::embed::kernels::Attention;
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

/// Rows (tokens in the batch) up to which a dense layer multiplies as `(w · xᵀ)ᵀ`
/// rather than `x · wᵀ`. Both read the weight as stored ([out, in], row-major), but
/// with few rows gemm streams the weight row by row in the first form and across rows
/// in the second: a 12-token query costs 7 ms instead of 9.5 ms of CPU in the first form,
/// while from about 100 rows (8 queries) on the second is as fast or a few percent
/// faster (`examples/embed_batch_bench.rs`, this 2-core AMD EPYC).
const FEW_ROWS: usize = 64;

/// A dense layer: `x · wᵀ + bias`, the weight [out, in] as stored.
#[derive(Debug)]
struct Dense {
    w: Tensor,
    bias: Tensor,
}

impl Dense {
    /// The layers `names` (same input width) as one: their outputs side by side.
    fn load(vb: &VarBuilder<'_>, names: &[&str], inp: usize, out: usize) -> Result<Self> {
        let (mut ws, mut bs) = (Vec::new(), Vec::new());
        for name in names {
            ws.push(vb.pp(name).get((out, inp), "weight")?);
            bs.push(vb.pp(name).get(out, "bias")?);
        }
        Ok(Self {
            w: Tensor::cat(&ws, 0)?,
            bias: Tensor::cat(&bs, 0)?,
        })
    }

    /// `x · wᵀ` without the bias: [rows, out] (not necessarily contiguous).
    fn matmul(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim(0)? <= FEW_ROWS {
            self.w.matmul(&x.t()?)?.t()
        } else {
            x.matmul(&self.w.t()?)
        }
    }

    /// `gelu(x · wᵀ + bias)`: [rows, out] (not necessarily contiguous).
    fn gelu(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim(0)? <= FEW_ROWS {
            let op = BiasGelu { per_row: true };
            self.w
                .matmul(&x.t()?)?
                .apply_op2_no_bwd(&self.bias, &op)?
                .t()
        } else {
            let op = BiasGelu { per_row: false };
            x.matmul(&self.w.t()?)?.apply_op2_no_bwd(&self.bias, &op)
        }
    }

    /// The fused bias + residual + LayerNorm `name` that follows this layer.
    fn add_norm(&self, vb: &VarBuilder<'_>, name: &str, eps: f64) -> Result<AddNorm> {
        let size = self.bias.dim(0)?;
        Ok(AddNorm {
            bias: self.bias.to_vec1()?,
            gamma: vb.pp(name).get(size, "weight")?.to_vec1()?,
            beta: vb.pp(name).get(size, "bias")?.to_vec1()?,
            eps: eps as f32,
        })
    }
}

fn layer_norm(vb: &VarBuilder<'_>, name: &str, size: usize, eps: f64) -> Result<LayerNorm> {
    candle_nn::layer_norm(size, eps, vb.pp(name))
}

/// Batches whose longest text has up to this many tokens are packed (no padding:
/// [`Bert::forward_packed`]) and go through the attention kernel; longer ones are padded
/// and go through candle's batched matrix products ([`Bert::forward`]), which are faster
/// once a head's score matrix is large (one 256-token text: 130 ms, against 160–205 ms
/// with the kernel's plain loops).
pub const KERNEL_SEQ: usize = 64;

/// How a batch's attention is computed (see [`KERNEL_SEQ`]).
#[derive(Debug)]
enum Attend {
    /// The single-pass kernel over texts packed back to back.
    Kernel(Attention),
    /// Matrix products, padding masked by BERT's −10000 bias: [texts, 1, 1, seq].
    Matmul { heads: usize, bias: Tensor },
}

impl Attend {
    /// The attention context [texts × seq, hidden] of the fused projection `qkv`.
    fn apply(&self, qkv: &Tensor) -> Result<Tensor> {
        let (heads, bias) = match self {
            Self::Kernel(kernel) => return qkv.apply_op1_no_bwd(kernel),
            Self::Matmul { heads, bias } => (*heads, bias),
        };
        let (b, _, _, n) = bias.dims4()?;
        let hidden = qkv.dim(1)? / 3;
        let d = hidden / heads;
        let qkv = qkv
            .reshape((b, n, 3, heads, d))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let scale = 1.0 / (d as f64).sqrt();
        let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(bias)?;
        candle_nn::ops::softmax_last_dim(&scores)?
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * n, hidden))
    }
}

/// One encoder layer.
#[derive(Debug)]
struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: AddNorm,
    up: Dense,
    down: Dense,
    out_norm: AddNorm,
}

impl Layer {
    fn load(vb: &VarBuilder<'_>, c: &BertConfig) -> Result<Self> {
        let (h, i, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        let qkv = [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
        ];
        let attn_out = Dense::load(vb, &["attention.output.dense"], h, h)?;
        let down = Dense::load(vb, &["output.dense"], i, h)?;
        Ok(Self {
            qkv: Dense::load(vb, &qkv, h, h)?,
            attn_norm: attn_out.add_norm(vb, "attention.output.LayerNorm", eps)?,
            attn_out,
            up: Dense::load(vb, &["intermediate.dense"], h, i)?,
            out_norm: down.add_norm(vb, "output.LayerNorm", eps)?,
            down,
        })
    }

    /// `x`: [tokens, hidden] (packed texts, or padded ones: see [`Attend`]).
    fn forward(&self, x: &Tensor, attend: &Attend) -> Result<Tensor> {
        let qkv = self
            .qkv
            .matmul(x)?
            .apply_op2_no_bwd(&self.qkv.bias, &AddBias)?;
        let ctx = attend.apply(&qkv)?;
        let x = self
            .attn_out
            .matmul(&ctx)?
            .apply_op2_no_bwd(x, &self.attn_norm)?;
        let ff = self.up.gelu(&x)?;
        self.down.matmul(&ff)?.apply_op2_no_bwd(&x, &self.out_norm)
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

    /// The embeddings (word + position + token type 0) and their LayerNorm of token ids
    /// `ids` at `positions` (both [tokens]): [tokens, hidden].
    fn embed(&self, ids: &Tensor, positions: &Tensor) -> Result<Tensor> {
        let x = self
            .words
            .forward(ids)?
            .add(&self.positions.forward(positions)?)?
            .broadcast_add(&self.token_type0)?;
        self.norm.forward(&x)
    }

    /// The last hidden states [tokens, hidden] of texts packed back to back: `ids` holds
    /// every text's token ids in turn, `lens` each text's length, each at most
    /// [`KERNEL_SEQ`]. Each text attends to its own tokens only, so the result for a text
    /// is what it would be alone, and no padding is computed at all (8 or 16 queries of
    /// 10 to 45 tokens: 11–12 ms of CPU per query, against 18 ms padded to the longest,
    /// more than one at a time costs; `embed_batch_bench` with `EMBED_BENCH_MIXED`).
    pub fn forward_packed(&self, ids: &[u32], lens: &[usize]) -> Result<Tensor> {
        if lens.iter().sum::<usize>() != ids.len() || lens.iter().any(|&l| l > KERNEL_SEQ) {
            candle_core::bail!("packed texts: lengths do not add up or exceed {KERNEL_SEQ}");
        }
        let device = &Device::Cpu;
        let positions: Vec<u32> = lens
            .iter()
            .flat_map(|&l| 0..u32::try_from(l).unwrap_or(u32::MAX))
            .collect();
        let tokens = ids.len();
        let ids = Tensor::from_slice(ids, tokens, device)?;
        let positions = Tensor::from_vec(positions, tokens, device)?;
        let mut x = self.embed(&ids, &positions)?;
        let attend = Attend::Kernel(Attention {
            heads: self.heads,
            lens: lens.to_vec(),
        });
        for layer in &self.layers {
            x = layer.forward(&x, &attend)?;
        }
        Ok(x)
    }

    /// The last hidden states [batch, seq, hidden] for token ids [batch, seq] (u32) with
    /// their attention mask [batch, seq] (f32, 1 = token, 0 = padding; each text's
    /// tokens first, then its padding): a padded batch, for texts longer than
    /// [`KERNEL_SEQ`] (shorter ones are cheaper through [`Bert::forward_packed`]).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (b, n) = ids.dims2()?;
        let positions =
            Tensor::arange(0u32, u32::try_from(n).unwrap_or(u32::MAX), ids.device())?.repeat(b)?;
        let mut x = self.embed(&ids.flatten_all()?, &positions)?;
        let hidden = x.dim(D::Minus1)?;
        // Padding is left out of attention, as Hugging Face's −10000 bias did when this
        // model was trained (its softmax weight underflows to 0).
        let mask = mask.to_dtype(DType::F32)?;
        let attend = Attend::Matmul {
            heads: self.heads,
            bias: ((mask - 1.0)? * 10_000.0)?.reshape((b, 1, 1, n))?,
        };
        for layer in &self.layers {
            x = layer.forward(&x, &attend)?;
        }
        x.reshape((b, n, hidden))
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
