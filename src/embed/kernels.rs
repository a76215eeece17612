//! The encoder's element-wise steps, fused and written so the compiler vectorises them.
//!
//! Between its matrix products a BERT layer adds biases, applies GELU, sums residuals, normalises
//! rows and takes a softmax. Written as separate tensor operations each of these reads and writes
//! the whole activation and allocates a new one, and candle computes `erf` and `exp` one value at a
//! time with the C library: measured on llmbar, a fifth of the encoder's time went to them. Here
//! each step is one pass, in place on the matrix product's fresh output (candle's
//! [`InplaceOp1`]/[`InplaceOp2`]), and `exp`/`erf` are branch-free polynomials that vectorise.
//!
//! The loops run inside [`pulp::Arch::dispatch`], which compiles them once per instruction set
//! (AVX-512, AVX2, baseline) and picks one at run time: no `unsafe` here, no build flag needed.
//! The arithmetic is written out in a fixed order (sums over [`LANES`] interleaved partial sums,
//! no fused multiply-add), so every instruction set gives the same bits, and a row's result never
//! depends on other rows: the encoder's outputs stay independent of batching and threads.
//!
//! Accuracy (tested below against the C library): [`exp`] within 2 ulp on the softmax's range,
//! [`erf`] within 5e-7 absolute. The encoder's outputs keep their parity with
//! sentence-transformers and bert-score (≤ 1e-5, `tests/embed_parity.rs`).

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout, Result};
use pulp::{Simd, WithSimd};

/// Partial sums a row reduction keeps side by side (one AVX-512 register of f32).
pub(crate) const LANES: usize = 16;

/// `e^x` for `x ≤ 88`; values below −87.3 give about 1e-38 instead of 0 (harmless in a softmax,
/// whose largest term is 1).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    // x = n ln2 + r, |r| ≤ ln2/2, n = round(x / ln2). Adding 1.5 · 2^23 rounds to an integer and
    // leaves n in the low bits of the sum (no float-to-int conversion, which would not vectorise).
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    // ln2 split in two so that n ln2 is exact to f32 precision.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    // Taylor series of e^r to r^7 (error < 2e-9 relative on |r| ≤ 0.35).
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n from its exponent bits: the sum's bits are ROUNDER's plus n (n in [-126, 127]).
    p * f32::from_bits(shifted.to_bits().wrapping_sub(ROUNDER.to_bits() - 127) << 23)
}

/// 1.5 · 2^23: adding it to a float of magnitude < 2^22 rounds it to an integer held in the low
/// mantissa bits.
const ROUNDER: f32 = 12_582_912.0;

/// The error function, by the rational approximation on [−4, 4] that Eigen and XLA use for f32
/// (erf is ±1 to f32 precision outside it).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 - 2.101_024e-6;
    let p = p * x2 - 5.692_506_4e-5;
    let p = p * x2 - 7.349_906_3e-4;
    let p = p * x2 - 2.954_6e-3;
    let p = p * x2 - 1.609_603_3e-2;
    let q = -1.456_607_2e-5;
    let q = q * x2 - 2.133_740_6e-4;
    let q = q * x2 - 1.682_827e-3;
    let q = q * x2 - 7.373_329e-3;
    let q = q * x2 - 1.426_474e-2;
    x * p / q
}

/// GELU as BERT defines it, `x Φ(x) = x (1 + erf(x / √2)) / 2`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `v` folded into [`LANES`] interleaved partial results (`acc[k] = step(acc[k], v[k + LANES j])`
/// in order of `j`), starting from `init`: the shape of every row reduction here, written so that it
/// vectorises and gives the same bits on every instruction set.
#[inline(always)]
fn lanes(v: &[f32], init: f32, step: impl Fn(f32, f32) -> f32) -> [f32; LANES] {
    let mut acc = [init; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a = step(*a, *x);
        }
    }
    for (a, x) in acc.iter_mut().zip(chunks.remainder()) {
        *a = step(*a, *x);
    }
    acc
}

/// Sum of `v`: its [`lanes`], then those in order.
#[inline(always)]
fn sum(v: &[f32]) -> f32 {
    lanes(v, 0.0, |a, x| a + x).iter().sum()
}

/// Sum of the squares of `v`, as [`sum`].
#[inline(always)]
fn sum_of_squares(v: &[f32]) -> f32 {
    lanes(v, 0.0, |a, x| a + x * x).iter().sum()
}

/// Largest value of `v` (not empty), as [`sum`].
#[inline(always)]
fn max(v: &[f32]) -> f32 {
    lanes(v, f32::NEG_INFINITY, f32::max).iter().fold(f32::NEG_INFINITY, |m, x| m.max(*x))
}

/// The contiguous f32 values of a tensor's storage, or an error naming the operation.
fn data_mut<'a>(s: &'a mut CpuStorage, l: &Layout, op: &str) -> Result<&'a mut [f32]> {
    let span = span(l, op)?;
    match s {
        CpuStorage::F32(v) => Ok(&mut v[span]),
        _ => Err(bad(op, "f32 values")),
    }
}

/// As [`data_mut`], read only.
fn data<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let span = span(l, op)?;
    match s {
        CpuStorage::F32(v) => Ok(&v[span]),
        _ => Err(bad(op, "f32 values")),
    }
}

/// Where a contiguous tensor's values are in its storage.
fn span(l: &Layout, op: &str) -> Result<std::ops::Range<usize>> {
    let (start, end) = l.contiguous_offsets().ok_or_else(|| bad(op, "a contiguous tensor"))?;
    Ok(start..end)
}

fn bad(op: &str, wanted: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("{op} needs {wanted}"))
}

/// Rows of `width` values: `x ← x + bias`, then GELU when `gelu`.
pub(crate) struct AddBias<'a> {
    pub bias: &'a [f32],
    pub gelu: bool,
}

impl InplaceOp1 for AddBias<'_> {
    fn name(&self) -> &'static str {
        "add-bias"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        let x = data_mut(s, l, self.name())?;
        let bias = self.bias;
        if bias.is_empty() || x.len() % bias.len() != 0 {
            return Err(bad(self.name(), "rows as wide as the bias"));
        }
        pulp::Arch::new().dispatch(BiasRows { x, bias, gelu: self.gelu });
        Ok(())
    }
}

/// The loop of [`AddBias`], compiled for each instruction set by [`pulp`].
struct BiasRows<'a> {
    x: &'a mut [f32],
    bias: &'a [f32],
    gelu: bool,
}

impl WithSimd for BiasRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        for row in self.x.chunks_exact_mut(self.bias.len()) {
            for (v, b) in row.iter_mut().zip(self.bias) {
                *v += *b;
            }
            if self.gelu {
                for v in row.iter_mut() {
                    *v = gelu(*v);
                }
            }
        }
    }
}

/// Layer normalisation over rows of `hidden` values, `x ← LayerNorm(x)` in place: the embeddings'
/// norm; with a bias and a residual first, [`ResidualNorm`].
pub(crate) struct LayerNorm {
    pub weight: Vec<f32>,
    pub shift: Vec<f32>,
    pub eps: f32,
}

impl InplaceOp1 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        let x = data_mut(s, l, self.name())?;
        let h = self.weight.len();
        if h == 0 || x.len() % h != 0 {
            return Err(bad(self.name(), "rows as wide as the norm's weights"));
        }
        pulp::Arch::new().dispatch(NormRows { x, before: None, norm: self });
        Ok(())
    }
}

/// Rows of `hidden` values: `x ← LayerNorm(x + bias + residual)`, the close of each half of a
/// BERT layer (`x` is the matrix product's output, `residual` the half's input).
pub(crate) struct ResidualNorm<'a> {
    pub bias: &'a [f32],
    pub norm: &'a LayerNorm,
}

impl InplaceOp2 for ResidualNorm<'_> {
    fn name(&self) -> &'static str {
        "residual-layer-norm"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<()> {
        let x = data_mut(s1, l1, self.name())?;
        let residual = data(s2, l2, self.name())?;
        let h = self.norm.weight.len();
        if h == 0 || x.len() % h != 0 || residual.len() != x.len() || self.bias.len() != h {
            return Err(bad(
                self.name(),
                "an input and a residual of the same shape, rows as wide as the bias and the norm",
            ));
        }
        pulp::Arch::new().dispatch(NormRows { x, before: Some((self.bias, residual)), norm: self.norm });
        Ok(())
    }
}

/// The loop of [`LayerNorm`] and [`ResidualNorm`], compiled for each instruction set by [`pulp`].
struct NormRows<'a> {
    x: &'a mut [f32],
    /// The bias and the residual rows added before normalising, if any.
    before: Option<(&'a [f32], &'a [f32])>,
    norm: &'a LayerNorm,
}

impl WithSimd for NormRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let LayerNorm { weight, shift, eps } = self.norm;
        let h = weight.len();
        for (i, row) in self.x.chunks_exact_mut(h).enumerate() {
            if let Some((bias, residual)) = self.before {
                for ((v, r), b) in row.iter_mut().zip(&residual[i * h..(i + 1) * h]).zip(bias) {
                    *v += *b + *r;
                }
            }
            let mean = sum(row) / h as f32;
            for v in row.iter_mut() {
                *v -= mean;
            }
            let var = sum_of_squares(row) / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, w), s) in row.iter_mut().zip(weight).zip(shift) {
                *v = *v * inv * *w + *s;
            }
        }
    }
}

/// Rows of attention scores: `x ← softmax(scale · x)` over each row of `width`.
pub(crate) struct ScaledSoftmax {
    pub scale: f32,
    pub width: usize,
}

impl InplaceOp1 for ScaledSoftmax {
    fn name(&self) -> &'static str {
        "scaled-softmax"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        let x = data_mut(s, l, self.name())?;
        let (scale, width) = (self.scale, self.width);
        if width == 0 || x.len() % width != 0 {
            return Err(bad(self.name(), "rows of the given width"));
        }
        pulp::Arch::new().dispatch(SoftmaxRows { x, scale, width });
        Ok(())
    }
}

/// The loop of [`ScaledSoftmax`], compiled for each instruction set by [`pulp`].
struct SoftmaxRows<'a> {
    x: &'a mut [f32],
    scale: f32,
    width: usize,
}

impl WithSimd for SoftmaxRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        for row in self.x.chunks_exact_mut(self.width) {
            for v in row.iter_mut() {
                *v *= self.scale;
            }
            let top = max(row);
            for v in row.iter_mut() {
                *v = exp(*v - top);
            }
            let total = sum(row);
            for v in row.iter_mut() {
                *v /= total;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_matches_the_c_library_within_two_ulp() {
        let mut worst = 0;
        for i in 0..=200_000 {
            let x = -87.0 + 87.0 * i as f32 / 200_000.0; // softmax arguments are ≤ 0
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2, "exp is {worst} ulp from the C library");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
    }

    #[test]
    fn erf_is_within_5e_7_of_a_f64_reference() {
        let mut worst = 0.0f64;
        for i in 0..=400_000 {
            let x = -6.0 + 12.0 * i as f64 / 400_000.0;
            worst = worst.max((erf(x as f32) as f64 - erf_reference(x)).abs());
        }
        // Measured 4.5e-7 at worst (near |x| = 3.9; 2.2e-7 on [0, 1]): a few f32 ulps, far below
        // what the encoder's parity (1e-5) can notice.
        assert!(worst < 5e-7, "erf is {worst:e} from the reference");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(-1.5), -erf(1.5));
    }

    /// erf in f64 by its Maclaurin series (|x| ≤ 3) or continued fraction of erfc (|x| > 3),
    /// an independent reference accurate far below f32's precision.
    fn erf_reference(x: f64) -> f64 {
        let a = x.abs();
        let v = if a <= 3.0 {
            let (mut term, mut total, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 * total.abs() {
                n += 1.0;
                term *= -a * a / n;
                total += term / (2.0 * n + 1.0);
            }
            total * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))), evaluated bottom-up.
            let mut f = a;
            for k in (1..60).rev() {
                f = a + (k as f64 / 2.0) / f;
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
        };
        v.copysign(x)
    }

    #[test]
    fn fused_ops_match_candle_on_a_seeded_matrix() -> Result<()> {
        let dev = Device::Cpu;
        let (n, h) = (7, 40); // h not a multiple of LANES: the remainder path runs too
                              // Seeded values (candle's randn is not), uniform in [lo, hi).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut uniform = |lo: f32, hi: f32, shape: &[usize]| {
            let values: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(lo..hi)).collect();
            Tensor::from_vec(values, shape, &dev)
        };
        let x = uniform(-5.0, 5.0, &[n, h])?;
        let r = uniform(-2.0, 2.0, &[n, h])?;
        let b = uniform(-2.0, 2.0, &[h])?;
        let (w, s) = (uniform(0.8, 1.2, &[h])?, uniform(-0.2, 0.2, &[h])?);
        let close = |a: &Tensor, b: &Tensor, tol: f32| -> Result<()> {
            let d = (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(d < tol, "differs by {d}");
            Ok(())
        };
        let bias: Vec<f32> = b.to_vec1()?;
        let (wv, sv): (Vec<f32>, Vec<f32>) = (w.to_vec1()?, s.to_vec1()?);

        let got = x.copy()?;
        got.inplace_op1(&AddBias { bias: &bias, gelu: true })?;
        close(&got, &x.broadcast_add(&b)?.gelu_erf()?, 1e-6)?;

        let got = x.copy()?;
        let norm = LayerNorm { weight: wv, shift: sv, eps: 1e-12 };
        got.inplace_op2(&r, &ResidualNorm { bias: &bias, norm: &norm })?;
        let want = candle_nn::ops::layer_norm(&x.broadcast_add(&b)?.add(&r)?, &w, &s, 1e-12)?;
        close(&got, &want, 1e-5)?;

        let got = x.copy()?;
        got.inplace_op1(&norm)?;
        close(&got, &candle_nn::ops::layer_norm(&x, &w, &s, 1e-12)?, 1e-5)?;

        let got = x.copy()?;
        got.inplace_op1(&ScaledSoftmax { scale: 0.125, width: h })?;
        close(&got, &candle_nn::ops::softmax_last_dim(&(&x * 0.125)?)?, 1e-7)?;
        Ok(())
    }
}
