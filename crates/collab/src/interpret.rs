//! Where a recommender goes wrong: its validation ratings rebuilt from what the model file
//! records (the ratings file, how it was read, the split's seed and share), checked against the
//! file's split record, and the ratings it predicts worst (largest squared error).

use std::path::Path;

use kindling_core::data::Splits;
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::{Error, Result};

use crate::predict::CollabPredictor;
use crate::ratings::{RatingColumns, Ratings};

/// One validation rating and its prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Mispredicted {
    /// User id.
    pub user: String,
    /// Item id.
    pub item: String,
    /// Item row in the model (0, `#na#`, for an item not rated in training).
    pub item_row: usize,
    /// The rating given.
    pub rating: f32,
    /// The model's prediction.
    pub predicted: f32,
}

impl Mispredicted {
    /// Squared error of the prediction.
    pub fn sq_error(&self) -> f64 {
        (self.predicted as f64 - self.rating as f64).powi(2)
    }
}

/// The validation set's errors.
#[derive(Clone, Debug)]
pub struct Interpretation {
    /// Validation ratings.
    pub n_valid: usize,
    /// Their mean squared error (the training's `valid_loss`).
    pub mse: f64,
    /// Validation ratings whose user or item was not in training (predicted through `#na#`).
    pub unseen: usize,
    /// The worst-predicted ratings, largest squared error first.
    pub worst: Vec<Mispredicted>,
}

/// The ratings and split a model was trained on, rebuilt from the model file's record: the
/// recorded file (or `ratings`, when it moved), read as recorded, split with the recorded
/// share and seed, then compared with the file's split record — changed data is an error that
/// says what differs, never a validation set with training ratings in it.
pub fn validation_set(p: &CollabPredictor, model: &Path, ratings: Option<&Path>) -> Result<(Ratings, Splits)> {
    let source = p.pre.source.as_ref().ok_or_else(|| {
        Error::bad_file(model, "does not record its ratings file and split (it was written before kindling recorded them): train it again to interpret it")
    })?;
    let file = match ratings {
        Some(f) => f.to_path_buf(),
        None if source.path.exists() => source.path.clone(),
        None => match &source.dataset {
            Some(name) => crate::datasets::locate(name)?.0,
            None => {
                return Err(Error::invalid(
                    "--ratings",
                    format!("the model was trained on {}, which is not there now: give its new place with --ratings FILE", source.path.display()),
                ));
            }
        },
    };
    let (u, i, r) = &p.pre.columns;
    let cols = RatingColumns { user: Some(u.clone()), item: Some(i.clone()), rating: Some(r.clone()) };
    let data = Ratings::read(&file, &source.read_options()?, &cols)?;
    let splits = RandomSplitter::new(source.valid_pct, source.seed).split(&data.len())?;
    if let Some(recorded) = &p.split {
        recorded.check_same(&source.split_record(&data, &splits)).map_err(|why| {
            Error::bad_file(&file, format!("is not the data {} was trained and validated on: {why}", model.display()))
        })?;
    }
    Ok((data, splits))
}

/// Predicts every validation rating of `splits` and keeps the `n` worst.
pub fn worst_predictions(p: &CollabPredictor, ratings: &Ratings, splits: &Splits, n: usize) -> Result<Interpretation> {
    if splits.valid.is_empty() {
        return Err(Error::Data("the split has no validation ratings to interpret".into()));
    }
    let rows: Vec<(usize, usize)> = splits.valid.iter().map(|&k| (p.pre.users.get_or_na(&ratings.users[k]), p.pre.items.get_or_na(&ratings.items[k]))).collect();
    let unseen = rows.iter().filter(|(u, i)| *u == 0 || *i == 0).count();
    let preds = p.predict_rows(&rows)?;
    let mut all: Vec<Mispredicted> = splits
        .valid
        .iter()
        .zip(&rows)
        .zip(preds)
        .map(|((&k, &(_, i)), predicted)| Mispredicted { user: ratings.users[k].clone(), item: ratings.items[k].clone(), item_row: i, rating: ratings.ratings[k], predicted })
        .collect();
    let mse = all.iter().map(Mispredicted::sq_error).sum::<f64>() / all.len() as f64;
    let n_valid = all.len();
    all.sort_by(|a, b| b.sq_error().total_cmp(&a.sq_error()).then(a.user.cmp(&b.user)).then(a.item.cmp(&b.item)));
    all.truncate(n);
    Ok(Interpretation { n_valid, mse, unseen, worst: all })
}
