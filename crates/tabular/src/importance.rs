//! Permutation feature importance, as fastai's book computes it (chapter 9): shuffle one
//! feature at a time among the validation rows, leaving the others as they are, and measure how
//! much the metric worsens. A feature the model leans on worsens it a lot; one it ignores, not
//! at all.
//!
//! Meant to move to `kindling_core::interpret` (it knows nothing of tables: the caller scores
//! a permutation of one feature); it lives here until then.

use kindling_core::Result;

/// How much the metric worsens when one feature is shuffled.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureImportance {
    /// The feature.
    pub feature: String,
    /// The metric with the feature shuffled (the mean over the shuffles).
    pub shuffled: f64,
    /// How much worse that is than the metric without shuffling: a drop for a metric where
    /// higher is better (accuracy), a rise for one where lower is (RMSE). Near 0, or below
    /// it, for a feature the model does not use.
    pub importance: f64,
}

/// The metric's value on the untouched rows, and each feature's importance, most important
/// first (ties in feature order).
#[derive(Clone, Debug, PartialEq)]
pub struct PermutationImportance {
    /// The metric without shuffling.
    pub baseline: f64,
    /// One entry per feature, most important first.
    pub features: Vec<FeatureImportance>,
}

/// Scores `features` over `n_rows` rows: `score(None)` is the metric on the rows as they are,
/// `score(Some((j, perm)))` the metric with feature `j`'s values permuted (row `i` takes the
/// value of row `perm[i]`). Each feature is shuffled `shuffles` times (at least once), each
/// time by its own permutation drawn from `seed`, and the metric averaged.
///
/// ```
/// use kindling_tabular::importance::permutation_importance;
/// // y = x0 exactly; x1 is noise. The metric is the share of rows where y == x0.
/// let x0 = [0, 1, 0, 1, 1, 0, 1, 0];
/// let imp = permutation_importance(&["x0".into(), "x1".into()], 8, 3, 42, true, |p| {
///     Ok(match p {
///         Some((0, perm)) => (0..8).filter(|&i| x0[perm[i]] == x0[i]).count() as f64 / 8.0,
///         _ => 1.0,
///     })
/// })
/// .unwrap();
/// assert_eq!(imp.baseline, 1.0);
/// assert_eq!(imp.features[0].feature, "x0");
/// assert!(imp.features[0].importance > 0.0);
/// assert_eq!(imp.features[1].importance, 0.0);
/// ```
pub fn permutation_importance(
    features: &[String],
    n_rows: usize,
    shuffles: usize,
    seed: u64,
    higher_is_better: bool,
    mut score: impl FnMut(Option<(usize, &[usize])>) -> Result<f64>,
) -> Result<PermutationImportance> {
    let baseline = score(None)?;
    let shuffles = shuffles.max(1);
    let mut out = Vec::with_capacity(features.len());
    for (j, name) in features.iter().enumerate() {
        let mut total = 0.0;
        for s in 0..shuffles {
            let perm = kindling_core::seed::permutation(n_rows, &mut kindling_core::seed::rng(seed, &[j as u64, s as u64]));
            total += score(Some((j, &perm)))?;
        }
        let shuffled = total / shuffles as f64;
        let importance = if higher_is_better { baseline - shuffled } else { shuffled - baseline };
        out.push(FeatureImportance { feature: name.clone(), shuffled, importance });
    }
    out.sort_by(|a, b| b.importance.total_cmp(&a.importance));
    Ok(PermutationImportance { baseline, features: out })
}
