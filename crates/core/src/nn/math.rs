//! Scalar `exp` and `erf` in straight-line arithmetic (no calls into libm, no branches), so
//! that the loops of kindling's CPU kernels that use them vectorise.

/// `e^x` for `x` up to 88 (clamped above; 0 below -87, as `f32` underflows there): `2^k · e^r` with `r = x - k·ln 2` in
/// `[-ln 2 / 2, ln 2 / 2]` and a degree-7 Taylor polynomial for `e^r` (relative error below
/// 1e-8 before rounding to `f32`).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let underflow = x < -87.0;
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by adding and removing 1.5·2^23 (vectorises where `round` may not).
    const SHIFT: f32 = 12_582_912.0;
    let k = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    // ln 2 split in two so that `k · ln 2` is exact in its high part (Cody and Waite).
    let r = (x - k * 0.693_145_75) - k * 1.428_606_8e-6;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let e = p * f32::from_bits(((k as i32 + 127) as u32) << 23);
    if underflow { 0.0 } else { e }
}

/// `erf(x)` by Abramowitz and Stegun's formula 7.1.26 (absolute error below 1.5e-7, 5e-7 after
/// rounding to `f32`).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (exact enough for |x| ≤ 3) and by 1 - erfc's continued
    /// fraction beyond: the reference the fast formula is checked against.
    pub(crate) fn erf_ref(x: f64) -> f64 {
        if x.abs() <= 3.0 {
            let mut sum = 0.0;
            let mut term = x;
            let mut n = 0.0;
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let a = x.abs();
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = k as f64 / 2.0 / (a + f);
            }
            let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f);
            (1.0 - erfc).copysign(x)
        }
    }

    #[test]
    fn exp_and_erf_are_accurate() {
        for i in -8000..=8000 {
            let x = i as f32 / 100.0;
            let e = exp(x) as f64;
            let want = (x as f64).exp();
            assert!(((e - want) / want).abs() < 3e-7, "exp({x}) = {e}, want {want}");
        }
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            let got = erf(x) as f64;
            let want = erf_ref(x as f64);
            assert!((got - want).abs() < 5e-7, "erf({x}) = {got}, want {want}");
        }
    }

}
