//! The encoder's hand-written attention kernel, as a candle custom op: self-attention of
//! one layer over texts packed back to back, no padding (scores, softmax and the weighted sum
//! of values in one pass, where candle would run a dozen ops, copies and tiny matrix
//! products per layer), and the exact `erf` the GELU of `fused.rs` uses.

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape};

/// The contiguous f32 values of a tensor's storage.
pub fn f32s<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        bail!("{op}: expects f32 values")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("{op}: expects a contiguous tensor"),
    }
}

/// erf(x) to within a few f32 ulps: the odd/even rational approximation on [-4, 4]
/// that Eigen and XLA use for f32 (erf is ±1 to f32 precision beyond ±4). No `exp`,
/// so it is several times cheaper than libm's `erff` (plain multiply-adds: `mul_add`
/// would call the software `fmaf` in a build without the FMA target feature).
#[inline]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    x * p / q
}

/// Multi-head self-attention of one layer over texts packed back to back. Input: the
/// fused query/key/value projection [tokens, 3 × hidden] (each row `q | k | v`, heads side
/// by side in each), the texts' tokens one after another with no padding; output: the
/// attention context [tokens, hidden]. Each text attends to its own tokens only, exactly
/// what BERT's −10000 padding bias does in a padded batch (its softmax weight is 0 in f32).
#[derive(Debug, Clone)]
pub struct Attention {
    /// Attention heads.
    pub heads: usize,
    /// Tokens of each text, in order (they sum to the input's rows).
    pub lens: Vec<usize>,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight partial sums, so the compiler can keep them in one SIMD register.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

impl CustomOp1 for Attention {
    fn name(&self) -> &'static str {
        "bert-attention"
    }

    fn cpu_fwd(&self, qkv: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let data = f32s(qkv, layout, self.name())?;
        let (rows, width) = layout.shape().dims2()?;
        let heads = self.heads;
        let longest = self.lens.iter().copied().max().unwrap_or(0);
        if rows != self.lens.iter().sum::<usize>()
            || width % 3 != 0
            || heads == 0
            || (width / 3) % heads != 0
        {
            bail!("bert-attention: unexpected shape {rows}×{width}")
        }
        let hidden = width / 3;
        let d = hidden / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let mut out = vec![0f32; rows * hidden];
        let mut weights = vec![0f32; longest];
        let mut start = 0;
        for &len in &self.lens {
            let text = &data[start * width..(start + len) * width];
            let row = |j: usize, part: usize, h: usize| {
                let at = j * width + part * hidden + h * d;
                &text[at..at + d]
            };
            for h in 0..heads {
                for i in 0..len {
                    let q = row(i, 0, h);
                    let mut max = f32::NEG_INFINITY;
                    for (j, w) in weights[..len].iter_mut().enumerate() {
                        *w = dot(q, row(j, 1, h)) * scale;
                        max = max.max(*w);
                    }
                    let mut sum = 0f32;
                    for w in &mut weights[..len] {
                        *w = (*w - max).exp();
                        sum += *w;
                    }
                    let at = (start + i) * hidden + h * d;
                    let o = &mut out[at..at + d];
                    for (j, w) in weights[..len].iter().enumerate() {
                        let p = w / sum;
                        for (o, v) in o.iter_mut().zip(row(j, 2, h)) {
                            *o += p * v;
                        }
                    }
                }
            }
            start += len;
        }
        Ok((CpuStorage::F32(out), Shape::from((rows, hidden))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf to 1e-6 of its Maclaurin series (exact in f64 for |x| ≤ 3.5), and within
    /// 1e-6 of ±1 beyond.
    #[test]
    fn erf_matches_the_series() {
        fn series(x: f64) -> f64 {
            let (mut term, mut sum) = (x, x);
            for n in 1..200 {
                let n = f64::from(n);
                term *= -x * x / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        }
        let mut worst = 0f64;
        for i in -3500..=3500 {
            let x = f64::from(i) / 1000.0;
            worst = worst.max((f64::from(erf(x as f32)) - series(x)).abs());
        }
        assert!(worst < 1e-6, "worst error {worst}");
        for x in [3.5f32, 4.0, 5.0, 30.0, f32::MAX] {
            assert!(erf(x) > 0.999_999 && erf(x) <= 1.0, "erf({x}) = {}", erf(x));
            assert_eq!(erf(-x), -erf(x));
        }
        assert_eq!(erf(0.0), 0.0);
    }
}
