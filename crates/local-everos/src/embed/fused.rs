//! What follows each dense product of the encoder, as single-pass candle custom ops:
//! the bias (query/key/value), bias + GELU (feed-forward), and bias + residual +
//! LayerNorm (after attention and after the feed-forward). Each reads the product in
//! whichever layout the matrix product returned — row-major, or the transposed view of
//! `(w · xᵀ)ᵀ` — and writes a fresh matrix in one pass (bias + GELU keeps gemm's order;
//! the others write row-major, as attention and the residual want), where candle would
//! copy the view, add the bias, add the residual and normalise in four passes.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape};

use crate::embed::kernels::{erf, f32s};

/// A 2-D f32 tensor as stored: element (r, c) at `start + r · s0 + c · s1`.
struct Matrix<'a> {
    data: &'a [f32],
    start: usize,
    rows: usize,
    cols: usize,
    s0: usize,
    s1: usize,
}

/// Columns read side by side from a column-major product: one 64-byte line of output.
const BLOCK: usize = 16;

impl<'a> Matrix<'a> {
    fn new(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<Self> {
        let CpuStorage::F32(data) = storage else {
            bail!("{op}: expects f32 values")
        };
        let (rows, cols) = layout.shape().dims2()?;
        let &[s0, s1] = layout.stride() else {
            bail!("{op}: expects a matrix")
        };
        let start = layout.start_offset();
        let last = start + rows.saturating_sub(1) * s0 + cols.saturating_sub(1) * s1;
        if rows == 0 || cols == 0 || last >= data.len() {
            bail!("{op}: {rows}×{cols} out of its storage")
        }
        Ok(Self {
            data,
            start,
            rows,
            cols,
            s0,
            s1,
        })
    }

    /// The rows, when each is contiguous.
    fn rows(&self) -> Option<impl Iterator<Item = &'a [f32]> + '_> {
        (self.s1 == 1)
            .then(|| (0..self.rows).map(|r| &self.data[self.start + r * self.s0..][..self.cols]))
    }

    /// Calls `f(i, c, v)` for every element `v` at (r, c), `i = r · cols + c` its
    /// row-major index, reading the storage in (nearly) its own order. For a matrix
    /// whose rows are not contiguous (those that are go through [`Matrix::rows`]).
    fn visit(&self, mut f: impl FnMut(usize, usize, f32)) {
        let (rows, cols) = (self.rows, self.cols);
        if self.s0 == 1 {
            // Column-major: a block of columns at a time, so each output line is
            // written whole while the columns stream in.
            for c0 in (0..cols).step_by(BLOCK) {
                let c1 = (c0 + BLOCK).min(cols);
                let mut columns = [&self.data[..0]; BLOCK];
                for (k, c) in (c0..c1).enumerate() {
                    columns[k] = &self.data[self.start + c * self.s1..][..rows];
                }
                for r in 0..rows {
                    for (k, column) in columns[..c1 - c0].iter().enumerate() {
                        f(r * cols + c0 + k, c0 + k, column[r]);
                    }
                }
            }
        } else {
            for r in 0..rows {
                for c in 0..cols {
                    f(
                        r * cols + c,
                        c,
                        self.data[self.start + r * self.s0 + c * self.s1],
                    );
                }
            }
        }
    }
}

/// Checks a bias of `len` values for a product of `cols` columns.
fn check_bias(op: &str, len: usize, cols: usize) -> Result<()> {
    if len != cols {
        bail!("{op}: bias of {len} for {cols} columns")
    }
    Ok(())
}

/// `x + bias`, `x`: [rows, width] in any layout, `bias`: [width]; row-major output.
#[derive(Debug, Clone, Copy)]
pub struct AddBias;

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_l: &Layout,
        bias: &CpuStorage,
        bias_l: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, bs) = (
            Matrix::new(x, x_l, self.name())?,
            f32s(bias, bias_l, self.name())?,
        );
        check_bias(self.name(), bs.len(), m.cols)?;
        let out = match m.rows() {
            Some(rows) => {
                let mut out = Vec::with_capacity(m.rows * m.cols);
                for row in rows {
                    out.extend(row.iter().zip(bs).map(|(v, b)| v + b));
                }
                out
            }
            None => {
                let mut out = vec![0f32; m.rows * m.cols];
                m.visit(|i, c, v| out[i] = v + bs[c]);
                out
            }
        };
        Ok((CpuStorage::F32(out), Shape::from((m.rows, m.cols))))
    }
}

/// `gelu(x + bias)` with the exact (erf) GELU, `x` contiguous: [rows, width] with
/// `bias` [width] (one value per column), or — `per_row`, the product `w · xᵀ` as gemm
/// returned it — [width, rows] with `bias` [width] (one value per row). The output has
/// `x`'s shape; the caller transposes the second back to [rows, width] as a view.
#[derive(Debug, Clone, Copy)]
pub struct BiasGelu {
    /// Whether `bias` runs along the rows of `x` rather than its columns.
    pub per_row: bool,
}

fn gelu(v: f32) -> f32 {
    0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2))
}

impl CustomOp2 for BiasGelu {
    fn name(&self) -> &'static str {
        "bias-gelu"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_l: &Layout,
        bias: &CpuStorage,
        bias_l: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (xs, bs) = (f32s(x, x_l, self.name())?, f32s(bias, bias_l, self.name())?);
        let (rows, cols) = x_l.shape().dims2()?;
        check_bias(
            self.name(),
            bs.len(),
            if self.per_row { rows } else { cols },
        )?;
        let mut out = Vec::with_capacity(xs.len());
        for (r, row) in xs.chunks_exact(cols).enumerate() {
            if self.per_row {
                out.extend(row.iter().map(|x| gelu(x + bs[r])));
            } else {
                out.extend(row.iter().zip(bs).map(|(x, b)| gelu(x + b)));
            }
        }
        Ok((CpuStorage::F32(out), x_l.shape().clone()))
    }
}

/// `LayerNorm(x + bias + residual)`, `x`: a dense product [rows, width] in any layout,
/// the residual [rows, width] row-major; row-major output. Holds the dense layer's bias
/// and the LayerNorm's weight, bias and epsilon.
#[derive(Debug, Clone)]
pub struct AddNorm {
    /// The dense layer's bias [width].
    pub bias: Vec<f32>,
    /// LayerNorm scale [width].
    pub gamma: Vec<f32>,
    /// LayerNorm shift [width].
    pub beta: Vec<f32>,
    /// LayerNorm epsilon.
    pub eps: f32,
}

impl CustomOp2 for AddNorm {
    fn name(&self) -> &'static str {
        "add-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_l: &Layout,
        residual: &CpuStorage,
        residual_l: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let m = Matrix::new(x, x_l, self.name())?;
        let res = f32s(residual, residual_l, self.name())?;
        let width = m.cols;
        check_bias(self.name(), self.bias.len(), width)?;
        if res.len() != m.rows * width || self.gamma.len() != width || self.beta.len() != width {
            bail!(
                "add-norm: residual or LayerNorm does not fit {}×{width}",
                m.rows
            )
        }
        let mut out = match m.rows() {
            Some(rows) => {
                let mut out = Vec::with_capacity(m.rows * width);
                for (row, r) in rows.zip(res.chunks_exact(width)) {
                    let sums = row.iter().zip(&self.bias).zip(r);
                    out.extend(sums.map(|((v, b), r)| v + b + r));
                }
                out
            }
            None => {
                let mut out = vec![0f32; m.rows * width];
                m.visit(|i, c, v| out[i] = v + self.bias[c] + res[i]);
                out
            }
        };
        let n = width as f32;
        for row in out.chunks_exact_mut(width) {
            let mean = sum8(row, |v| v) / n;
            let var = sum8(row, |v| (v - mean) * (v - mean)) / n;
            let inv_std = (var + self.eps).sqrt().recip();
            for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *v = (*v - mean) * inv_std * g + b;
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((m.rows, width))))
    }
}

/// `Σ f(v)` over `values` with eight partial sums (one SIMD register's worth).
fn sum8(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for chunk in chunks {
        for i in 0..8 {
            acc[i] += f(chunk[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Module, Tensor};

    use super::*;

    fn close(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .and_then(|d| d.abs())
            .and_then(|d| d.max_all())
            .and_then(|d| d.to_scalar::<f32>())
            .unwrap_or(f32::INFINITY)
    }

    /// Each op on a row-major product and on the transposed view of `(w · xᵀ)ᵀ` matches
    /// candle's own ops.
    #[test]
    fn fused_ops_match_candle_in_both_layouts() -> Result<()> {
        let dev = Device::Cpu;
        let (rows, width) = (5, 40);
        let x = Tensor::randn(0f32, 1.0, (rows, width), &dev)?;
        let cm = x.t()?.contiguous()?.t()?;
        assert!(!cm.is_contiguous());
        let bias = Tensor::randn(0f32, 1.0, width, &dev)?;
        let residual = Tensor::randn(0f32, 1.0, (rows, width), &dev)?;
        let (gamma, beta) = (
            Tensor::randn(1f32, 0.1, width, &dev)?,
            Tensor::randn(0f32, 0.1, width, &dev)?,
        );
        let norm = AddNorm {
            bias: bias.to_vec1()?,
            gamma: gamma.to_vec1()?,
            beta: beta.to_vec1()?,
            eps: 1e-12,
        };
        let ln = candle_nn::LayerNorm::new(gamma, beta, 1e-12);
        let want_bias = x.broadcast_add(&bias)?;
        let want_gelu = want_bias.gelu_erf()?;
        let want_norm = ln.forward(&(&want_bias + &residual)?)?;
        for input in [&x, &cm] {
            assert!(close(&input.apply_op2_no_bwd(&bias, &AddBias)?, &want_bias) < 1e-6);
            assert!(close(&input.apply_op2_no_bwd(&residual, &norm)?, &want_norm) < 1e-4);
        }
        let gelu = x.apply_op2_no_bwd(&bias, &BiasGelu { per_row: false })?;
        assert!(close(&gelu, &want_gelu) < 1e-5);
        let gelu = x
            .t()?
            .contiguous()?
            .apply_op2_no_bwd(&bias, &BiasGelu { per_row: true })?;
        assert!(close(&gelu.t()?, &want_gelu) < 1e-5);
        Ok(())
    }
}
