//! IEEE 754 half-precision (binary16) conversion, for storing encoder weights at half size.
//!
//! [`to_f16`] rounds to the nearest half value (ties to even), as a hardware conversion does;
//! values beyond the half range become infinities (which the weight reader then refuses) and
//! values below half the smallest subnormal become signed zeros. [`to_f32`] is exact.

/// The binary16 bits nearest to `x` (ties to even).
pub(crate) fn to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x007f_ffff;
    if exp == 0xff {
        // Infinity stays infinity; NaN stays a (quiet) NaN.
        return sign | 0x7c00 | if man != 0 { 0x0200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // A subnormal half: the value is r · 2^-24.
        let m = man | 0x0080_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rem = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rem > half || (rem == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        // May carry into the exponent: the next binade, or infinity past the largest value.
        r += 1;
    }
    sign | r as u16
}

/// The `f32` value of binary16 bits `h` (exact).
pub(crate) fn to_f32(h: u16) -> f32 {
    let negative = h & 0x8000 != 0;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x03ff);
    let sign = if negative { 0x8000_0000u32 } else { 0 };
    match exp {
        0 => {
            // Zero or subnormal: man · 2^-24.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            if negative {
                -v
            } else {
                v
            }
        }
        0x1f => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// `x` rounded to the nearest half value, as an `f32`.
#[cfg(test)]
pub(crate) fn round(x: f32) -> f32 {
    to_f32(to_f16(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_half_value_round_trips() {
        for h in 0..=u16::MAX {
            let f = to_f32(h);
            if f.is_nan() {
                assert!(to_f32(to_f16(f)).is_nan());
            } else {
                assert_eq!(to_f16(f), h, "{h:#06x} = {f}");
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(to_f16(1.0), 0x3c00);
        assert_eq!(to_f16(-2.0), 0xc000);
        assert_eq!(to_f16(65504.0), 0x7bff);
        assert_eq!(to_f16(65520.0), 0x7c00); // rounds past the largest half: infinity
        assert_eq!(to_f16(f32::from_bits(0x3380_0000)), 0x0001); // 2^-24, smallest subnormal
        assert_eq!(to_f16(f32::from_bits(0x3300_0000)), 0x0000); // 2^-25: a tie, to even (zero)
        assert_eq!(to_f16(-0.0), 0x8000);
        assert_eq!(to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn rounds_to_the_nearest_half_value() {
        // Between every pair of neighbouring positive halves: below the midpoint rounds down,
        // above rounds up, at it to the even one.
        for h in 0u16..0x7bff {
            let (lo, hi) = (to_f32(h), to_f32(h + 1));
            let mid = (f64::from(lo) + f64::from(hi)) / 2.0;
            let mid32 = mid as f32;
            assert_eq!(f64::from(mid32), mid, "midpoints are f32 values");
            let even = if h & 1 == 0 { h } else { h + 1 };
            assert_eq!(to_f16(mid32), even, "tie between {h:#06x} and the next");
            assert_eq!(to_f16(f32::from_bits(mid32.to_bits() - 1)), h);
            assert_eq!(to_f16(f32::from_bits(mid32.to_bits() + 1)), h + 1);
        }
    }
}
