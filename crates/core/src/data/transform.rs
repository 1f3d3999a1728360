//! Item and batch transforms. A transform sees a [`TransformContext`] that says which split
//! the item is from and carries a generator seeded from (seed, epoch, item), so random
//! augmentations run on the training set only, differ between epochs, repeat exactly for the
//! same seed, and give the same result whichever worker thread runs them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::seed::{self, Rng};

/// Which set an item belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// Training items: random augmentation applies.
    Train,
    /// Validation items: only deterministic transforms.
    Valid,
    /// Held-out test items: only deterministic transforms.
    Test,
}

impl fmt::Display for SplitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitKind::Train => "train",
            SplitKind::Valid => "valid",
            SplitKind::Test => "test",
        })
    }
}

/// What a transform knows about the item it is given.
pub struct TransformContext {
    /// The split the item comes from.
    pub split: SplitKind,
    /// The epoch (0-based).
    pub epoch: usize,
    /// A generator seeded from (seed, split, epoch, position): draw random parameters from it.
    pub rng: Rng,
}

impl TransformContext {
    /// The context for item or batch `position` of `split` in `epoch`, under `seed`.
    pub fn new(seed: u64, split: SplitKind, epoch: usize, position: usize) -> Self {
        let rng = seed::rng(seed, &[split as u64, epoch as u64, position as u64]);
        Self { split, epoch, rng }
    }

    /// Whether random augmentation should run (training items only).
    pub fn is_train(&self) -> bool {
        self.split == SplitKind::Train
    }
}

/// A transform of one item (decode, resize, random crop …), run in loader worker threads.
pub trait ItemTransform<I>: Send + Sync {
    /// The transformed item. Random transforms should leave non-training items unchanged or
    /// apply their deterministic variant (a centre crop instead of a random one).
    fn apply(&self, item: I, ctx: &mut TransformContext) -> Result<I>;
}

impl<I, F: Fn(I, &mut TransformContext) -> Result<I> + Send + Sync> ItemTransform<I> for F {
    fn apply(&self, item: I, ctx: &mut TransformContext) -> Result<I> {
        self(item, ctx)
    }
}

/// A transform of a whole collated batch (GPU-friendly augmentation, normalisation), run on
/// the thread that drives training.
pub trait BatchTransform<B>: Send + Sync {
    /// The transformed batch.
    fn apply(&self, batch: B, ctx: &mut TransformContext) -> Result<B>;
}

impl<B, F: Fn(B, &mut TransformContext) -> Result<B> + Send + Sync> BatchTransform<B> for F {
    fn apply(&self, batch: B, ctx: &mut TransformContext) -> Result<B> {
        self(batch, ctx)
    }
}

/// Item transforms applied in order.
pub struct Pipeline<I> {
    steps: Vec<Arc<dyn ItemTransform<I>>>,
}

impl<I> Clone for Pipeline<I> {
    fn clone(&self) -> Self {
        Self { steps: self.steps.clone() }
    }
}

impl<I> Default for Pipeline<I> {
    fn default() -> Self {
        Self { steps: Vec::new() }
    }
}

impl<I> Pipeline<I> {
    /// An empty pipeline (the identity).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a step.
    pub fn then(mut self, step: impl ItemTransform<I> + 'static) -> Self {
        self.steps.push(Arc::new(step));
        self
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the pipeline has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl<I> ItemTransform<I> for Pipeline<I> {
    fn apply(&self, mut item: I, ctx: &mut TransformContext) -> Result<I> {
        for step in &self.steps {
            item = step.apply(item, ctx)?;
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn jitter(x: f32, ctx: &mut TransformContext) -> Result<f32> {
        Ok(if ctx.is_train() { x + ctx.rng.random::<f32>() } else { x })
    }

    #[test]
    fn random_only_on_train_and_seeded_per_epoch() {
        let p = Pipeline::new().then(jitter).then(|x: f32, _: &mut TransformContext| Ok(x * 2.0));
        let run = |split, epoch, pos| p.apply(1.0, &mut TransformContext::new(9, split, epoch, pos)).unwrap();
        assert_eq!(run(SplitKind::Valid, 0, 0), 2.0);
        assert_eq!(run(SplitKind::Valid, 3, 5), 2.0);
        assert_ne!(run(SplitKind::Train, 0, 0), 2.0);
        assert_eq!(run(SplitKind::Train, 0, 0), run(SplitKind::Train, 0, 0));
        assert_ne!(run(SplitKind::Train, 0, 0), run(SplitKind::Train, 1, 0));
        assert_ne!(run(SplitKind::Train, 0, 0), run(SplitKind::Train, 0, 1));
    }
}
