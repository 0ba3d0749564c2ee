//! Int8 weights and integer matrix products for [`Precision::Int8`](super::Precision) encoders.
//!
//! A dense layer's weight matrix `[out, in]` is stored as `i8` with one `f32` scale per output
//! row (symmetric: `scale = max |w| / 127`, `q = round(w / scale)`). At run time every input row
//! (one token's activations) is quantized the same way, with its own scale, and stored as `u8`
//! with a zero point of 128 (`u = q + 128`, so `q` is in `-127..=127`). The product of the two
//! is an exact `i32` sum, `Σₖ qₓ[k] · q_w[j, k]`, which becomes
//! `(acc · scale_x) · scale_w[j] + bias[j]` in `f32`.
//!
//! Two paths compute the sums: the AVX-512 VNNI kernel of [`super::simd`] over weights packed
//! for it ([`Packed`]), when the CPU has it, and [`gemm_portable`], plain Rust over the weights
//! as stored. Both compute the same integers and then the same `f32` operations in the same
//! order, so an int8 encoder's embeddings are bit-identical on every CPU.

use super::simd;

/// Columns per block of the packed weights (four AVX-512 registers of 16 `i32` lanes).
pub(crate) const NR: usize = 64;

/// `n` rounded up to a multiple of `m`.
fn round_up(n: usize, m: usize) -> usize {
    n.div_ceil(m) * m
}

/// Rounds `v` (finite, `|v| < 2²²`) to the nearest integer, ties to even, with two additions
/// and no conversion instruction, so that loops over it vectorize on any x86-64.
#[inline]
fn round_to_i32(v: f32) -> i32 {
    // 1.5 · 2^23: adding it leaves the integer part of v in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    ((v + ROUND).to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32)
}

/// Symmetric per-row quantization of `row` into `q` (same length): returns the scale
/// `max |x| / 127` (0 for a row of zeros, whose values all become 0).
pub(crate) fn quantize_row(row: &[f32], q: &mut [i8]) -> f32 {
    let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if !(max > 0.0 && max.is_finite()) {
        q.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (q, &v) in q.iter_mut().zip(row) {
        *q = (v / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// A weight matrix `[rows, cols]` quantized row by row: what an int8 model file stores.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    /// Row-major `i8` values, `rows · cols`.
    pub q: Vec<i8>,
    /// One scale per row.
    pub scale: Vec<f32>,
}

impl QMatrix {
    /// Quantizes `w` (row-major `rows × cols`).
    pub(crate) fn quantize(w: &[f32], rows: usize, cols: usize) -> QMatrix {
        assert_eq!(w.len(), rows * cols, "matrix size");
        let mut q = vec![0i8; rows * cols];
        let scale = if cols == 0 {
            vec![0.0; rows]
        } else {
            w.chunks_exact(cols)
                .zip(q.chunks_exact_mut(cols))
                .map(|(w, q)| quantize_row(w, q))
                .collect()
        };
        QMatrix {
            rows,
            cols,
            q,
            scale,
        }
    }

    /// Row `r` dequantized into `out` (`cols` values).
    pub(crate) fn row_into(&self, r: usize, out: &mut [f32]) {
        let s = self.scale[r];
        for (o, &q) in out
            .iter_mut()
            .zip(&self.q[r * self.cols..(r + 1) * self.cols])
        {
            *o = f32::from(q) * s;
        }
    }

    /// The rows of `parts` one after the other (all with the same number of columns).
    pub(crate) fn stack(parts: &[&QMatrix]) -> QMatrix {
        let cols = parts[0].cols;
        assert!(parts.iter().all(|p| p.cols == cols), "same columns");
        QMatrix {
            rows: parts.iter().map(|p| p.rows).sum(),
            cols,
            q: parts.iter().flat_map(|p| p.q.iter().copied()).collect(),
            scale: parts.iter().flat_map(|p| p.scale.iter().copied()).collect(),
        }
    }

    /// Rows `range` as a matrix of their own.
    pub(crate) fn slice_rows(&self, range: std::ops::Range<usize>) -> QMatrix {
        QMatrix {
            rows: range.len(),
            cols: self.cols,
            q: self.q[range.start * self.cols..range.end * self.cols].to_vec(),
            scale: self.scale[range].to_vec(),
        }
    }
}

/// The weights of one int8 dense layer rearranged for the VNNI kernel: column blocks of
/// [`NR`] output columns, and within a block, for every group of four inputs, the four `i8`
/// weights of each column side by side (one 32-bit lane of `vpdpbusd` per column).
#[derive(Debug, Clone)]
pub(crate) struct Packed {
    /// Inputs rounded up to a multiple of 4.
    pub kp: usize,
    /// Outputs rounded up to a multiple of [`NR`].
    pub np: usize,
    /// `np / NR` blocks of `kp / 4` groups of `NR · 4` bytes; padding is 0.
    pub data: Vec<i8>,
    /// `128 · Σₖ w[j, k]` per output column (0 in the padding): what the zero point adds.
    pub corr: Vec<i32>,
    /// Row scales of the weights, padded with zeros to `np`.
    pub scale: Vec<f32>,
    /// Bias, padded with zeros to `np`.
    pub bias: Vec<f32>,
}

impl Packed {
    fn new(w: &QMatrix, bias: &[f32]) -> Packed {
        let (n, k) = (w.rows, w.cols);
        let (kp, np) = (round_up(k, 4), round_up(n, NR));
        let groups = kp / 4;
        let mut data = vec![0i8; np * kp];
        let mut corr = vec![0i32; np];
        for (j, c) in corr.iter_mut().enumerate().take(n) {
            let row = &w.q[j * k..(j + 1) * k];
            *c = 128 * row.iter().map(|&v| i32::from(v)).sum::<i32>();
            let (block, jj) = (j / NR, j % NR);
            for (kk, &v) in row.iter().enumerate() {
                data[((block * groups + kk / 4) * NR + jj) * 4 + kk % 4] = v;
            }
        }
        let pad = |v: &[f32]| {
            let mut p = v.to_vec();
            p.resize(np, 0.0);
            p
        };
        Packed {
            kp,
            np,
            data,
            corr,
            scale: pad(&w.scale),
            bias: pad(bias),
        }
    }
}

/// Token activations quantized for an int8 product: `rows` rows of `kp` bytes (`q + 128`,
/// padded with 128, which is 0) and one scale per row.
#[derive(Debug, Default)]
pub(crate) struct QActs {
    pub rows: usize,
    pub cols: usize,
    pub kp: usize,
    pub data: Vec<u8>,
    pub scale: Vec<f32>,
}

impl QActs {
    /// Quantizes the rows of `x` (row-major, `cols` wide) into this buffer, each value first
    /// multiplied by its column's factor in `mul` when given.
    pub(crate) fn quantize(&mut self, x: &[f32], cols: usize, mul: Option<&[f32]>) {
        let rows = x.len().checked_div(cols).unwrap_or(0);
        let kp = round_up(cols, 4);
        self.rows = rows;
        self.cols = cols;
        self.kp = kp;
        self.data.clear();
        self.data.resize(rows * kp, 128);
        self.scale.clear();
        let mut scaled = Vec::new();
        for (r, row) in x.chunks_exact(cols.max(1)).take(rows).enumerate() {
            let row = match mul {
                Some(m) => {
                    scaled.clear();
                    scaled.extend(row.iter().zip(m).map(|(v, m)| v * m));
                    &scaled[..]
                }
                None => row,
            };
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let out = &mut self.data[r * kp..r * kp + cols];
            if !(max > 0.0 && max.is_finite()) {
                self.scale.push(0.0);
                continue;
            }
            let inv = 127.0 / max;
            for (o, &v) in out.iter_mut().zip(row) {
                let q = round_to_i32((v * inv).clamp(-127.0, 127.0));
                *o = (q + 128) as u8;
            }
            self.scale.push(max / 127.0);
        }
    }
}

/// Smoothing factors `s` of a dense layer's inputs (as SmoothQuant): the layer computes
/// `(x / s) · (w · s)ᵀ`, which moves the range of inputs with large values (BERT's hidden
/// states have a few such dimensions) into the weights, so that per-token quantization keeps
/// more resolution for the other dimensions. `act[k]` estimates the magnitude of input `k`;
/// `s[k] = √(act[k] / max_j |w[j, k]|)` (1 where either is 0).
pub(crate) fn smoothing(act: &[f32], w: &[f32], cols: usize) -> Vec<f32> {
    let mut wmax = vec![0.0f32; cols];
    for row in w.chunks_exact(cols) {
        for (m, v) in wmax.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    act.iter()
        .zip(&wmax)
        .map(|(&a, &w)| {
            let s = (a / w).sqrt();
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect()
}

/// An int8 dense layer `y = x · wᵀ + b`.
#[derive(Debug)]
pub(crate) struct QLinear {
    pub w: QMatrix,
    pub b: Vec<f32>,
    /// Factors the inputs are multiplied by before they are quantized (`1 / s` of
    /// [`smoothing`]; the weights were multiplied by `s` before they were quantized).
    pub input_mul: Option<Vec<f32>>,
    /// The weights packed for the VNNI kernel, when the CPU has one.
    packed: Option<Packed>,
}

/// Which code computes the integer products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// The AVX-512 VNNI kernel (only where the CPU has it).
    Vnni,
    /// Plain Rust.
    Portable,
}

impl QLinear {
    pub(crate) fn new(w: QMatrix, b: Vec<f32>, input_mul: Option<Vec<f32>>) -> QLinear {
        assert_eq!(w.rows, b.len(), "one bias per output");
        if let Some(m) = &input_mul {
            assert_eq!(m.len(), w.cols, "one factor per input");
        }
        let packed = simd::vnni_available().then(|| Packed::new(&w, &b));
        QLinear {
            w,
            b,
            input_mul,
            packed,
        }
    }

    /// The path [`QLinear::forward`] takes.
    pub(crate) fn path(&self) -> Path {
        if self.packed.is_some() {
            Path::Vnni
        } else {
            Path::Portable
        }
    }

    /// `out = x · wᵀ + b`, or `out += x · wᵀ + b` with `add`, for `x` already quantized into
    /// `a` (`a.cols` must be the layer's inputs, `out` `a.rows × outputs`).
    pub(crate) fn forward(&self, a: &QActs, out: &mut [f32], add: bool) {
        self.forward_on(self.path(), a, out, add);
    }

    /// [`QLinear::forward`] on a given path (the VNNI path needs a CPU with it).
    pub(crate) fn forward_on(&self, path: Path, a: &QActs, out: &mut [f32], add: bool) {
        assert_eq!(a.cols, self.w.cols, "input width");
        assert_eq!(out.len(), a.rows * self.w.rows, "output size");
        match (path, &self.packed) {
            (Path::Vnni, Some(p)) => simd::gemm_vnni(a, p, out, self.w.rows, add),
            (Path::Vnni, None) => panic!("the VNNI kernel needs an AVX-512 VNNI CPU"),
            (Path::Portable, _) => gemm_portable(a, &self.w, &self.b, out, add),
        }
    }
}

/// The `f32` result of one output from its integer sum: the same operations in the same order
/// as the kernel's vector code.
#[inline]
pub(crate) fn dequantize(acc: i32, scale_x: f32, scale_w: f32, bias: f32) -> f32 {
    (acc as f32 * scale_x) * scale_w + bias
}

/// The integer product in plain Rust: exactly the sums of the VNNI kernel. Both sides are
/// widened to `i16`, so that the dot products compile to `pmaddwd` on baseline x86-64.
pub(crate) fn gemm_portable(a: &QActs, w: &QMatrix, bias: &[f32], out: &mut [f32], add: bool) {
    let (n, k) = (w.rows, w.cols);
    if n == 0 || a.rows == 0 {
        return;
    }
    let x: Vec<i16> = (0..a.rows)
        .flat_map(|r| a.data[r * a.kp..r * a.kp + k].iter())
        .map(|&u| i16::from(u) - 128)
        .collect();
    let mut wr = vec![0i16; k];
    // Blocks of rows, so that a block's activations stay in cache across the weight rows.
    const ROWS: usize = 16;
    for r0 in (0..a.rows).step_by(ROWS) {
        let r1 = (r0 + ROWS).min(a.rows);
        for j in 0..n {
            for (d, &v) in wr.iter_mut().zip(&w.q[j * k..(j + 1) * k]) {
                *d = i16::from(v);
            }
            for r in r0..r1 {
                let acc = dot_i16(&x[r * k..(r + 1) * k], &wr);
                let v = dequantize(acc, a.scale[r], w.scale[j], bias[j]);
                let o = &mut out[r * n + j];
                *o = if add { *o + v } else { v };
            }
        }
    }
}

/// `Σ a[i] · b[i]` in `i32` (exact: at most 1536 products of at most 127 · 127).
fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
    // Sixteen interleaved sums, so that the loop vectorizes at full width (integer sums are
    // exact in any order).
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += i32::from(x[l]) * i32::from(y[l]);
        }
    }
    acc.iter().sum::<i32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    fn layer(n_out: usize, n_in: usize, seed: u64) -> (Vec<f32>, QLinear) {
        let w = values(n_out * n_in, seed);
        let b = values(n_out, seed + 1);
        (
            w.clone(),
            QLinear::new(QMatrix::quantize(&w, n_out, n_in), b, None),
        )
    }

    #[test]
    fn rounding_trick_rounds_half_to_even() {
        for (v, want) in [
            (0.4f32, 0),
            (0.5, 0),
            (1.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (-126.7, -127),
            (127.0, 127),
            (2.49, 2),
        ] {
            assert_eq!(round_to_i32(v), want, "{v}");
        }
    }

    #[test]
    fn quantized_rows_are_within_half_a_step() {
        let w = values(7 * 13, 3);
        let m = QMatrix::quantize(&w, 7, 13);
        let mut row = vec![0.0; 13];
        for r in 0..7 {
            m.row_into(r, &mut row);
            let max = w[r * 13..(r + 1) * 13]
                .iter()
                .fold(0.0f32, |a, v| a.max(v.abs()));
            assert!(m.q[r * 13..(r + 1) * 13].iter().any(|q| q.abs() == 127));
            for (a, b) in row.iter().zip(&w[r * 13..(r + 1) * 13]) {
                assert!((a - b).abs() <= max / 127.0 * 0.5 + 1e-7);
            }
        }
        let zero = QMatrix::quantize(&[0.0; 4], 2, 2);
        assert_eq!((zero.q, zero.scale), (vec![0; 4], vec![0.0; 2]));
    }

    /// Odd shapes (neither rows, inputs nor outputs multiples of the blocks) and the real ones.
    const SHAPES: [(usize, usize, usize); 6] = [
        (1, 1, 1),
        (3, 5, 7),
        (5, 37, 70),
        (9, 64, 64),
        (13, 384, 1536),
        (7, 1536, 384),
    ];

    #[test]
    fn int8_product_is_within_quantization_error_of_f32() {
        for (rows, k, n) in SHAPES {
            let (w, lin) = layer(n, k, (rows * k * n) as u64);
            let x = values(rows * k, 99);
            let mut a = QActs::default();
            a.quantize(&x, k, None);
            let mut out = vec![0.0; rows * n];
            lin.forward(&a, &mut out, false);
            for r in 0..rows {
                for j in 0..n {
                    let exact: f32 =
                        (0..k).map(|i| x[r * k + i] * w[j * k + i]).sum::<f32>() + lin.b[j];
                    // Each side is off by at most half a step per value (uniform values in
                    // ±0.5: a step is about 1/254); the errors add up like a random walk.
                    let tol = 0.5 * (k as f32).sqrt() * 0.5 / 127.0 * 2.0 + 1e-5;
                    let got = out[r * n + j];
                    assert!(
                        (got - exact).abs() <= tol,
                        "{rows}×{k}→{n} at ({r}, {j}): {got} vs {exact} (tolerance {tol})"
                    );
                }
            }
            // Adding onto existing values adds the same result.
            let mut added = vec![1.0; rows * n];
            lin.forward(&a, &mut added, true);
            for (s, o) in added.iter().zip(&out) {
                assert_eq!(*s, 1.0 + o);
            }
        }
    }

    #[test]
    fn vnni_kernel_and_portable_code_agree_bit_for_bit() {
        if !simd::vnni_available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        for (rows, k, n) in SHAPES {
            let (_, lin) = layer(n, k, (rows + k + n) as u64);
            assert_eq!(lin.path(), Path::Vnni);
            // Large and tiny values, a row of zeros and values at the rounding ties.
            let mut x = values(rows * k, 7);
            x[..k].fill(0.0);
            if rows > 2 {
                x[2 * k] = 1e4;
                x[k] = -3e-3;
            }
            let mut a = QActs::default();
            a.quantize(&x, k, None);
            for add in [false, true] {
                let start = values(rows * n, 11);
                let (mut v, mut p) = (start.clone(), start);
                lin.forward_on(Path::Vnni, &a, &mut v, add);
                lin.forward_on(Path::Portable, &a, &mut p, add);
                let (vb, pb): (Vec<u32>, Vec<u32>) = (
                    v.iter().map(|f| f.to_bits()).collect(),
                    p.iter().map(|f| f.to_bits()).collect(),
                );
                assert_eq!(vb, pb, "{rows}×{k}→{n}, add {add}");
            }
        }
    }

    #[test]
    fn extreme_weights_do_not_overflow() {
        // Every weight and activation at ±127 on the widest layer: the sums stay exact.
        let (rows, k, n) = (3, 1536, 20);
        let w: Vec<f32> = (0..n * k)
            .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let lin = QLinear::new(QMatrix::quantize(&w, n, k), vec![0.0; n], None);
        let x: Vec<f32> = (0..rows * k)
            .map(|i| if i % 2 == 0 { -2.0 } else { 2.0 })
            .collect();
        let mut a = QActs::default();
        a.quantize(&x, k, None);
        let mut p = vec![0.0; rows * n];
        lin.forward_on(Path::Portable, &a, &mut p, false);
        for r in 0..rows {
            for j in 0..n {
                let exact: f32 = (0..k).map(|i| x[r * k + i] * w[j * k + i]).sum();
                assert!((p[r * n + j] - exact).abs() < 1e-2 * exact.abs().max(1.0));
            }
        }
        if simd::vnni_available() {
            let mut v = vec![0.0; rows * n];
            lin.forward_on(Path::Vnni, &a, &mut v, false);
            assert_eq!(v, p);
        }
    }
}
