//! fastai's `CollabDataLoaders`: ratings split into train / valid, id vocabularies from the
//! training ratings, and batches of (user, item) rows with their ratings.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::data::{Batcher, DataLoaders, Dataset, Splits, VecDataset};
use kindling_core::learner::{Batch, Target};
use kindling_core::{Error, Result};

use crate::ratings::Ratings;
use crate::source::RatingsSource;
use crate::vocab::IdVocab;

/// A batch: `[batch, 2]` (user row, item row) pairs and `[batch, 1]` ratings.
#[derive(Clone, Debug)]
pub struct CollabBatch {
    /// User and item rows.
    pub pairs: Tensor<2, Int>,
    /// Ratings.
    pub y: Target,
}

impl Batch for CollabBatch {
    fn target(&self) -> Target {
        self.y.clone()
    }
}

/// Encoded ratings: user row, item row, rating.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedRatings {
    /// `[n × 2]` row-major (user, item) rows.
    pub pairs: Vec<i64>,
    /// Ratings.
    pub ratings: Vec<f32>,
}

/// Gathers ratings into batches.
#[derive(Clone)]
pub struct CollabBatcher(pub Arc<EncodedRatings>);

impl Batcher<usize, CollabBatch> for CollabBatcher {
    fn batch(&self, rows: Vec<usize>, device: &Device) -> Result<CollabBatch> {
        let n = rows.len();
        let pairs: Vec<i64> = rows.iter().flat_map(|&r| [self.0.pairs[2 * r], self.0.pairs[2 * r + 1]]).collect();
        let y: Vec<f32> = rows.iter().map(|&r| self.0.ratings[r]).collect();
        Ok(CollabBatch {
            pairs: Tensor::from_data(TensorData::new(pairs, [n, 2]), device),
            y: Target::Values(Tensor::from_data(TensorData::new(y, [n, 1]), device)),
        })
    }
}

/// Ratings with their split and vocabularies.
pub struct CollabData {
    /// The ratings.
    pub ratings: Ratings,
    /// Users of the training ratings.
    pub users: IdVocab,
    /// Items of the training ratings.
    pub items: IdVocab,
    /// Every rating, encoded (ids unseen in training map to `#na#`).
    pub encoded: Arc<EncodedRatings>,
    /// The split.
    pub splits: Splits,
    /// Where the ratings came from and how they were split, when known: recorded in the model
    /// file (with the split's record) so that `interpret` can rebuild the validation set.
    pub source: Option<RatingsSource>,
}

impl CollabData {
    /// Builds vocabularies from the training ratings and encodes all of them.
    pub fn new(ratings: Ratings, splits: Splits) -> Result<Self> {
        if ratings.is_empty() {
            return Err(Error::Data("no ratings".into()));
        }
        let users = IdVocab::new(splits.train.iter().map(|&k| ratings.users[k].as_str()));
        let items = IdVocab::new(splits.train.iter().map(|&k| ratings.items[k].as_str()));
        let pairs = (0..ratings.len())
            .flat_map(|k| [users.get_or_na(&ratings.users[k]) as i64, items.get_or_na(&ratings.items[k]) as i64])
            .collect();
        let encoded = Arc::new(EncodedRatings { pairs, ratings: ratings.ratings.clone() });
        Ok(Self { ratings, users, items, encoded, splits, source: None })
    }

    /// Train and valid loaders.
    pub fn dataloaders(&self, bs: usize, seed: u64, device: &Device) -> Result<DataLoaders<usize, CollabBatch>> {
        let rows: Arc<dyn Dataset<Item = usize>> = Arc::new(VecDataset::new((0..self.ratings.len()).collect::<Vec<_>>()));
        let mut dls = DataLoaders::from_splits(rows, &self.splits, Arc::new(CollabBatcher(self.encoded.clone())), bs, seed, device.clone())?;
        for l in [&mut dls.train, &mut dls.valid] {
            let mut cfg = l.config().clone();
            cfg.num_workers = 0; // gathering from memory is cheaper than a thread hop
            *l = l.clone().with_config(cfg)?;
        }
        Ok(dls)
    }

    /// fastai's default output range: from 0 (or the lowest rating, if negative) to the highest
    /// rating plus 0.5 — `(0, 5.5)` for 1–5 stars, as the book uses.
    pub fn default_y_range(&self) -> (f64, f64) {
        let (lo, hi) = self.ratings.range();
        ((lo as f64).min(0.0), hi as f64 + 0.5)
    }
}
