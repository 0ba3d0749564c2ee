//! The only `unsafe` code of the encoder: an AVX-512 VNNI kernel for the int8 dense layers.
//!
//! Why it exists: the crate is compiled for baseline x86-64 (SSE2), where the portable integer
//! product ([`super::int8::gemm_portable`]) cannot use `vpdpbusd` (four `u8 · i8` products
//! summed into each 32-bit lane, 64 per instruction). The kernel is chosen at run time with
//! `is_x86_feature_detected!`; std::arch's AVX-512 intrinsics need `unsafe` for their pointer
//! loads and stores and for calling a `#[target_feature]` function. README.md ("Sentence
//! encoder") gives the measured speed-up over the portable code.
//!
//! The kernel computes the same `i32` sums as the portable code (the zero point's `128 · Σ w`
//! is subtracted exactly) and then the same `f32` operations in the same order
//! ([`super::int8::dequantize`]): its results are bit-identical, which a unit test checks.
//!
//! Setting the environment variable `NEWSCLASS_INT8_PORTABLE=1` turns the kernel off (for
//! measuring it against the portable code).

use super::int8::{Packed, QActs, NR};

/// True when the CPU has AVX-512 F, BW and VNNI (and `NEWSCLASS_INT8_PORTABLE` is not set).
pub(crate) fn vnni_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if std::env::var_os("NEWSCLASS_INT8_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0") {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// `out = x · wᵀ + b` (or `out += …` with `add`) for `a` (`a.rows` quantized rows) and the
/// packed weights `p` of a layer with `n_out` outputs; `out` is `a.rows × n_out`, row-major.
///
/// # Panics
/// When the CPU lacks VNNI or the sizes do not fit.
pub(crate) fn gemm_vnni(a: &QActs, p: &Packed, out: &mut [f32], n_out: usize, add: bool) {
    assert!(
        vnni_available(),
        "the VNNI kernel needs an AVX-512 VNNI CPU"
    );
    assert_eq!(a.kp, p.kp, "packed input width");
    assert!(n_out <= p.np && p.np.is_multiple_of(NR), "packed outputs");
    assert!(a.data.len() >= a.rows * a.kp && a.scale.len() >= a.rows);
    assert!(p.data.len() >= p.np * p.kp && p.corr.len() >= p.np);
    assert!(p.scale.len() >= p.np && p.bias.len() >= p.np);
    assert_eq!(out.len(), a.rows * n_out, "output size");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512 F, BW and VNNI (checked above), and every size the kernel's
    // pointer arithmetic relies on was checked above.
    unsafe {
        x86::gemm(a, p, out, n_out, add)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("vnni_available() is false off x86-64");
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Packed, QActs, NR};

    /// Rows per micro-tile: `MR × 4` accumulators, 4 weight registers and a broadcast fit in
    /// the 32 vector registers.
    const MR: usize = 6;

    /// # Safety
    /// The CPU has AVX-512 F, BW and VNNI; the sizes are those `gemm_vnni` checks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm(a: &QActs, p: &Packed, out: &mut [f32], n_out: usize, add: bool) {
        // Column blocks outside, rows inside: a block's weights (kp · 64 bytes) stay in cache
        // while every row passes over them.
        for block in 0..n_out.div_ceil(NR) {
            let mut r = 0;
            while r + MR <= a.rows {
                // SAFETY: rows r..r + MR exist; the caller's guarantees hold.
                unsafe { tile::<MR>(a, p, out, n_out, add, r, block) };
                r += MR;
            }
            while r < a.rows {
                // SAFETY: row r exists; the caller's guarantees hold.
                unsafe { tile::<1>(a, p, out, n_out, add, r, block) };
                r += 1;
            }
        }
    }

    /// Rows `row..row + R` times column block `block`, with the epilogue.
    ///
    /// # Safety
    /// As [`gemm`], and `row + R <= a.rows`, `block · NR < n_out`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn tile<const R: usize>(
        a: &QActs,
        p: &Packed,
        out: &mut [f32],
        n_out: usize,
        add: bool,
        row: usize,
        block: usize,
    ) {
        let groups = p.kp / 4;
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        // SAFETY: block < np / NR, so the block's groups · NR · 4 bytes lie inside p.data;
        // rows row..row + R of a.data hold kp bytes each; every load reads inside those.
        unsafe {
            let w = p.data.as_ptr().add(block * groups * NR * 4);
            let x = a.data.as_ptr().add(row * a.kp);
            for g in 0..groups {
                let wg = w.add(g * NR * 4);
                let w0 = _mm512_loadu_si512(wg.cast());
                let w1 = _mm512_loadu_si512(wg.add(64).cast());
                let w2 = _mm512_loadu_si512(wg.add(128).cast());
                let w3 = _mm512_loadu_si512(wg.add(192).cast());
                for (r, acc) in acc.iter_mut().enumerate() {
                    let four = x.add(r * a.kp + g * 4).cast::<i32>().read_unaligned();
                    let xv = _mm512_set1_epi32(four);
                    acc[0] = _mm512_dpbusd_epi32(acc[0], xv, w0);
                    acc[1] = _mm512_dpbusd_epi32(acc[1], xv, w1);
                    acc[2] = _mm512_dpbusd_epi32(acc[2], xv, w2);
                    acc[3] = _mm512_dpbusd_epi32(acc[3], xv, w3);
                }
            }
        }
        // Epilogue, as int8::dequantize: ((acc - corr) as f32 · scale_x) · scale_w + bias.
        for c in 0..4 {
            let col = block * NR + c * 16;
            if col >= n_out {
                break;
            }
            let lanes = (n_out - col).min(16);
            let mask: __mmask16 = if lanes == 16 {
                0xffff
            } else {
                (1u16 << lanes) - 1
            };
            // SAFETY: col + 16 <= np, the length of corr, scale and bias.
            let (corr, sw, bias) = unsafe {
                (
                    _mm512_loadu_si512(p.corr.as_ptr().add(col).cast()),
                    _mm512_loadu_ps(p.scale.as_ptr().add(col)),
                    _mm512_loadu_ps(p.bias.as_ptr().add(col)),
                )
            };
            for (r, acc) in acc.iter().enumerate() {
                let sx = _mm512_set1_ps(a.scale[row + r]);
                let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[c], corr));
                let v = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(v, sx), sw), bias);
                // SAFETY: the masked lanes are columns col..col + lanes < n_out of row
                // row + r < a.rows, inside out (a.rows × n_out).
                unsafe {
                    let o = out.as_mut_ptr().add((row + r) * n_out + col);
                    let v = if add {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, o), v)
                    } else {
                        v
                    };
                    _mm512_mask_storeu_ps(o, mask, v);
                }
            }
        }
    }
}
