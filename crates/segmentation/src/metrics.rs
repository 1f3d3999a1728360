//! Segmentation metrics as kindling-core [`Metric`]s, accumulated over every pixel of an epoch:
//! pixel accuracy, fastai's `foreground_acc`, `DiceMulti`, binary `Dice` and `JaccardCoeff`.
//!
//! Predictions arrive as one row of class scores per pixel (the model's output flattened) and
//! targets as one class id per pixel. Pixels of the void class, when there is one, are left
//! out of every metric (and the void class out of `dice_multi`'s mean).

use kindling_core::metrics::{HostPreds, HostTarget, Metric};

fn ids(target: &HostTarget) -> &[i64] {
    match target {
        HostTarget::Classes(c) => c,
        HostTarget::Values(_) => panic!("a segmentation metric needs class-id targets"),
    }
}

/// `(predicted, target)` class pairs of the pixels that count (not void).
fn pairs<'a>(preds: &HostPreds, target: &'a HostTarget, void: Option<usize>) -> impl Iterator<Item = (usize, usize)> + 'a {
    let p = preds.argmax();
    p.into_iter()
        .zip(ids(target))
        .filter_map(move |(p, &t)| usize::try_from(t).ok().filter(|t| Some(*t) != void).map(|t| (p as usize, t)))
}

/// Share of (non-void) pixels whose highest-scoring class is their class.
#[derive(Clone, Debug, Default)]
pub struct PixelAccuracy {
    /// Ignored class.
    pub void: Option<usize>,
    correct: u64,
    total: u64,
}

impl PixelAccuracy {
    /// Pixel accuracy ignoring `void`.
    pub fn new(void: Option<usize>) -> Self {
        Self { void, ..Self::default() }
    }
}

impl Metric for PixelAccuracy {
    fn name(&self) -> String {
        "pixel_accuracy".into()
    }
    fn reset(&mut self) {
        *self = Self::new(self.void);
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        for (p, t) in pairs(preds, target, self.void) {
            self.correct += u64::from(p == t);
            self.total += 1;
        }
    }
    fn value(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// fastai's `foreground_acc(bkg_idx)`: accuracy over the pixels whose class is not `bkg`
/// (class 0, or the void class as fastbook's `acc_camvid`).
///
/// ```
/// use kindling_core::metrics::{HostPreds, HostTarget, Metric};
/// use kindling_segmentation::metrics::ForegroundAccuracy;
/// let mut m = ForegroundAccuracy::new(0);
/// // pixels of classes 0, 1, 1: the background one is left out; one of the two others is right.
/// let p = HostPreds { values: vec![0.9, 0.1, 0.2, 0.8, 0.7, 0.3], n_out: 2 };
/// m.accumulate(&p, &HostTarget::Classes(vec![0, 1, 1]));
/// assert_eq!(m.value(), Some(0.5));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ForegroundAccuracy(PixelAccuracy);

impl ForegroundAccuracy {
    /// Accuracy over the pixels not of class `bkg`.
    pub fn new(bkg: usize) -> Self {
        Self(PixelAccuracy::new(Some(bkg)))
    }
}

impl Metric for ForegroundAccuracy {
    fn name(&self) -> String {
        "foreground_accuracy".into()
    }
    fn reset(&mut self) {
        self.0.reset();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        self.0.accumulate(preds, target);
    }
    fn value(&self) -> Option<f64> {
        self.0.value()
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// Per-class intersections and unions (predicted + actual pixel counts) over an epoch.
#[derive(Clone, Debug, Default)]
struct Overlaps {
    inter: Vec<u64>,
    union: Vec<u64>,
}

impl Overlaps {
    fn add(&mut self, n_classes: usize, pairs: impl Iterator<Item = (usize, usize)>) {
        if self.inter.len() < n_classes {
            self.inter.resize(n_classes, 0);
            self.union.resize(n_classes, 0);
        }
        for (p, t) in pairs {
            if p == t {
                self.inter[p] += 1;
                self.union[p] += 2;
            } else {
                self.union[p] += 1;
                if t < self.union.len() {
                    self.union[t] += 1;
                }
            }
        }
    }

    fn dice(&self, c: usize) -> Option<f64> {
        let u = *self.union.get(c)?;
        (u > 0).then(|| 2.0 * self.inter[c] as f64 / u as f64)
    }

    fn jaccard(&self, c: usize) -> Option<f64> {
        let u = *self.union.get(c)?;
        (u > 0).then(|| self.inter[c] as f64 / (u - self.inter[c]) as f64)
    }
}

/// fastai's `DiceMulti`: the mean over classes of each class's Dice coefficient
/// `2·|P∩T| / (|P| + |T|)`, counted over the epoch; classes absent from both predictions and
/// targets are left out of the mean (fastai's `nanmean`), and so is the void class.
#[derive(Clone, Debug, Default)]
pub struct DiceMulti {
    /// Ignored class.
    pub void: Option<usize>,
    o: Overlaps,
}

impl DiceMulti {
    /// Mean Dice ignoring `void`.
    pub fn new(void: Option<usize>) -> Self {
        Self { void, o: Overlaps::default() }
    }

    /// Each class's Dice coefficient (`None` for a class never predicted nor present).
    pub fn per_class(&self) -> Vec<Option<f64>> {
        (0..self.o.inter.len()).map(|c| self.o.dice(c)).collect()
    }

    /// Each class's IoU (Jaccard) `|P∩T| / |P∪T|`.
    pub fn per_class_iou(&self) -> Vec<Option<f64>> {
        (0..self.o.inter.len()).map(|c| self.o.jaccard(c)).collect()
    }
}

impl Metric for DiceMulti {
    fn name(&self) -> String {
        "dice_multi".into()
    }
    fn reset(&mut self) {
        self.o = Overlaps::default();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        self.o.add(preds.n_out, pairs(preds, target, self.void));
    }
    fn value(&self) -> Option<f64> {
        let scores: Vec<f64> = self.per_class().into_iter().enumerate().filter(|(c, _)| Some(*c) != self.void).filter_map(|(_, d)| d).collect();
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// fastai's binary `Dice`: the Dice coefficient of class 1 over the epoch.
#[derive(Clone, Debug, Default)]
pub struct Dice {
    /// Ignored class.
    pub void: Option<usize>,
    o: Overlaps,
}

impl Dice {
    /// Binary Dice ignoring `void`.
    pub fn new(void: Option<usize>) -> Self {
        Self { void, o: Overlaps::default() }
    }
}

impl Metric for Dice {
    fn name(&self) -> String {
        "dice".into()
    }
    fn reset(&mut self) {
        self.o = Overlaps::default();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        self.o.add(preds.n_out.max(2), pairs(preds, target, self.void));
    }
    fn value(&self) -> Option<f64> {
        self.o.dice(1)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// fastai's `JaccardCoeff`: the IoU `|P∩T| / |P∪T|` of class 1 over the epoch.
#[derive(Clone, Debug, Default)]
pub struct Jaccard(Dice);

impl Jaccard {
    /// Binary IoU ignoring `void`.
    pub fn new(void: Option<usize>) -> Self {
        Self(Dice::new(void))
    }
}

impl Metric for Jaccard {
    fn name(&self) -> String {
        "jaccard".into()
    }
    fn reset(&mut self) {
        self.0.reset();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        self.0.accumulate(preds, target);
    }
    fn value(&self) -> Option<f64> {
        self.0.o.jaccard(1)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// The metrics `unet_learner` reports for `n_classes` classes: pixel accuracy, foreground
/// accuracy (without `background`), `dice_multi`, and for two classes `dice` and `jaccard`.
pub fn segmentation_metrics(n_classes: usize, void: Option<usize>, background: usize) -> Vec<Box<dyn Metric>> {
    let mut m: Vec<Box<dyn Metric>> = vec![Box::new(PixelAccuracy::new(void)), Box::new(ForegroundAccuracy::new(background)), Box::new(DiceMulti::new(void))];
    if n_classes == 2 {
        m.push(Box::new(Dice::new(void)));
        m.push(Box::new(Jaccard::new(void)));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onehot(classes: &[usize], n: usize) -> HostPreds {
        HostPreds { values: classes.iter().flat_map(|&c| (0..n).map(move |k| if k == c { 1.0 } else { 0.0 })).collect(), n_out: n }
    }

    #[test]
    fn counts_over_batches_and_ignores_void() {
        // Batch 1: preds 0,1,2 for targets 0,1,1; batch 2: preds 2,2 for targets 2,0.
        let mut d = DiceMulti::new(None);
        d.accumulate(&onehot(&[0, 1, 2], 3), &HostTarget::Classes(vec![0, 1, 1]));
        d.accumulate(&onehot(&[2, 2], 3), &HostTarget::Classes(vec![2, 0]));
        // class 0: inter 1, |P| 1, |T| 2 -> 2/3; class 1: 1, 1, 2 -> 2/3; class 2: 1, 3, 1 -> 1/2.
        let want = (2.0 / 3.0 + 2.0 / 3.0 + 0.5) / 3.0;
        assert!((d.value().unwrap() - want).abs() < 1e-12);
        let mut a = PixelAccuracy::new(Some(0));
        a.accumulate(&onehot(&[0, 1, 2, 2, 2], 3), &HostTarget::Classes(vec![0, 1, 1, 2, 0]));
        assert_eq!(a.value(), Some(2.0 / 3.0), "the two void pixels do not count");
        let mut dv = DiceMulti::new(Some(2));
        dv.accumulate(&onehot(&[0, 1, 2], 3), &HostTarget::Classes(vec![0, 1, 2]));
        assert_eq!(dv.value(), Some(1.0));
        let mut j = Jaccard::new(None);
        j.accumulate(&onehot(&[1, 1, 0, 0], 2), &HostTarget::Classes(vec![1, 0, 1, 0]));
        assert_eq!(j.value(), Some(1.0 / 3.0));
        assert!(DiceMulti::new(None).value().is_none());
    }
}
