//! The lighting half of fastai's `aug_transforms`: brightness and contrast changed in logit
//! space, so pixels stay inside `(0, 1)`. Images only: a mask's class ids never change.

use rand::RngExt;

use crate::seed::Rng;

/// One draw of brightness and contrast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lighting {
    /// Added in logit space (0: unchanged).
    pub brightness: f32,
    /// Multiplies in logit space (1: unchanged).
    pub contrast: f32,
}

impl Default for Lighting {
    fn default() -> Self {
        Self::NONE
    }
}

impl Lighting {
    /// No change.
    pub const NONE: Lighting = Lighting { brightness: 0.0, contrast: 1.0 };

    /// fastai's `Brightness` and `Contrast` draws, each applied with probability `p`: a
    /// brightness of `0.5 · (1 ± max_lighting)` (as a logit shift) and a contrast factor
    /// log-uniform in `[1 - max_lighting, 1 / (1 - max_lighting)]`. Nothing is drawn when
    /// `max_lighting` is 0.
    pub fn sample(max_lighting: f32, p: f32, rng: &mut Rng) -> Self {
        let mut out = Self::NONE;
        if max_lighting > 0.0 && rng.random::<f32>() < p {
            let b = rng.random_range(0.5 * (1.0 - max_lighting)..=0.5 * (1.0 + max_lighting));
            out.brightness = (b / (1.0 - b)).ln();
        }
        if max_lighting > 0.0 && rng.random::<f32>() < p {
            let lo = (1.0 - max_lighting).ln();
            out.contrast = rng.random_range(lo..=-lo).exp();
        }
        out
    }

    /// Whether this draw changes nothing.
    pub fn is_none(&self) -> bool {
        self.brightness == 0.0 && self.contrast == 1.0
    }

    /// Applies the change to pixels in `[0, 1]`, in place.
    pub fn apply(&self, pixels: &mut [f32]) {
        if self.is_none() {
            return;
        }
        for v in pixels {
            let x = v.clamp(1e-6, 1.0 - 1e-6);
            let logit = (x / (1.0 - x)).ln() * self.contrast + self.brightness;
            *v = 1.0 / (1.0 + (-logit).exp());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brightness_raises_contrast_spreads_and_none_keeps() {
        let mut px = vec![0.2, 0.5, 0.8];
        Lighting::NONE.apply(&mut px);
        assert_eq!(px, vec![0.2, 0.5, 0.8]);
        let mut bright = px.clone();
        Lighting { brightness: 1.0, contrast: 1.0 }.apply(&mut bright);
        assert!(bright.iter().zip(&px).all(|(b, p)| b > p && *b < 1.0));
        let mut spread = px.clone();
        Lighting { brightness: 0.0, contrast: 2.0 }.apply(&mut spread);
        assert!(spread[0] < 0.2 && (spread[1] - 0.5).abs() < 1e-6 && spread[2] > 0.8, "{spread:?}");
    }

    #[test]
    fn draws_stay_in_fastais_ranges() {
        let mut rng = crate::seed::rng(1, &[]);
        for _ in 0..200 {
            let l = Lighting::sample(0.2, 1.0, &mut rng);
            let b = 1.0 / (1.0 + (-l.brightness).exp());
            assert!((0.4 - 1e-5..=0.6 + 1e-5).contains(&b), "{l:?}");
            assert!((0.8 - 1e-5..=1.25 + 1e-5).contains(&l.contrast), "{l:?}");
        }
        assert_eq!(Lighting::sample(0.0, 1.0, &mut rng), Lighting::NONE);
    }
}
