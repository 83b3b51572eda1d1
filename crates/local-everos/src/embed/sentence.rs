//! One loaded model: the tokenizer (`tokenizer.json`), the encoder (`config.json`,
//! `model.safetensors`) and the sentence-transformers pipeline around them: truncate to
//! [`MAX_TOKENS`], batch texts of similar length, mean-pool and L2-normalise.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use tokenizers::{Tokenizer, TruncationParams};

use crate::embed::bert::{mean_pool_normalized, Bert, BertConfig, KERNEL_SEQ};
use crate::embed::EmbedError;

/// Width of a vector.
pub const DIM: usize = 384;
/// Tokens embedded per text (sentence-transformers' `max_seq_length` for this model);
/// the rest of a longer text is ignored.
pub const MAX_TOKENS: usize = 256;
/// Texts per forward pass.
const BATCH: usize = 16;

/// The tokenizer and encoder, ready to embed.
#[derive(Debug)]
pub struct SentenceModel {
    tokenizer: Tokenizer,
    bert: Bert,
    device: Device,
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|source| EmbedError::Io {
        path: path.to_owned(),
        source,
    })
}

impl SentenceModel {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let config = BertConfig::parse(&String::from_utf8_lossy(&read(&dir.join("config.json"))?))?;
        if config.hidden_size != DIM {
            return Err(EmbedError::Config(format!(
                "hidden_size {} is not {DIM}",
                config.hidden_size
            )));
        }
        let mut tokenizer = Tokenizer::from_bytes(read(&dir.join("tokenizer.json"))?)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        // The file pads every text to 128 tokens and cuts there; sentence-transformers
        // cuts at 256 and pads per batch, which `embed` does itself.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let device = Device::Cpu;
        let weights = read(&dir.join("model.safetensors"))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let bert = Bert::load(&vb, &config)?;
        Ok(Self {
            tokenizer,
            bert,
            device,
        })
    }

    /// Token ids of `text` with `[CLS]` and `[SEP]`, cut to [`MAX_TOKENS`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut ids = enc.get_ids().to_vec();
        ids.truncate(self.bert.max_positions());
        Ok(ids)
    }

    /// One unit vector of [`DIM`] floats per text, in order.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids = texts
            .iter()
            .map(|t| self.token_ids(t))
            .collect::<Result<Vec<_>, _>>()?;
        // Similar lengths share a batch, so little of a batch is padding; the texts short
        // enough to be packed (no padding at all) never share a batch with a longer one.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let short = order.partition_point(|&i| ids[i].len() <= KERNEL_SEQ);
        let (packed, padded) = order.split_at(short);
        let mut out = vec![Vec::new(); ids.len()];
        for chunk in packed.chunks(BATCH).chain(padded.chunks(BATCH)) {
            let vectors = self.forward(chunk.iter().map(|&i| ids[i].as_slice()))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward<'a>(
        &self,
        batch: impl ExactSizeIterator<Item = &'a [u32]> + Clone,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let rows = batch.len();
        let width = batch.clone().map(<[u32]>::len).max().unwrap_or(0).max(1);
        if width <= KERNEL_SEQ {
            let lens: Vec<usize> = batch.clone().map(<[u32]>::len).collect();
            let ids: Vec<u32> = batch.flatten().copied().collect();
            let hidden = self.bert.forward_packed(&ids, &lens)?.to_vec2::<f32>()?;
            return Ok(mean_pool_packed(&hidden, &lens));
        }
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for seq in batch {
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(0u32, width - seq.len()));
            mask.extend(std::iter::repeat_n(1f32, seq.len()));
            mask.extend(std::iter::repeat_n(0f32, width - seq.len()));
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device)?;
        let hidden = self.bert.forward(&ids, &mask)?;
        Ok(mean_pool_normalized(&hidden, &mask)?.to_vec2::<f32>()?)
    }
}

/// Per text of a packed batch (`hidden`: its rows, the texts' `lens` in turn), the mean
/// of its rows, L2-normalised: what [`mean_pool_normalized`] gives for the same text padded.
fn mean_pool_packed(hidden: &[Vec<f32>], lens: &[usize]) -> Vec<Vec<f32>> {
    let mut start = 0;
    lens.iter()
        .map(|&len| {
            let rows = &hidden[start..start + len];
            start += len;
            let mut mean = vec![0f32; DIM];
            for row in rows {
                for (m, x) in mean.iter_mut().zip(row) {
                    *m += x;
                }
            }
            let count = len.max(1) as f32;
            mean.iter_mut().for_each(|m| *m /= count);
            let norm = mean.iter().map(|m| m * m).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|m| *m /= norm);
            mean
        })
        .collect()
}
