//! fastai's `collab_learner`: MSE loss, Adam, weight decay as the user asks (fastbook: 0.1).

use burn::tensor::Device;
use kindling_core::data::DataLoaders;
use kindling_core::learner::{Learner, MseLoss};
use kindling_core::metrics::Rmse;
use kindling_core::optim::{OptimizerConfig, ParamGroups};

use crate::data::{CollabBatch, CollabData};
use crate::model::{CollabModel, CollabModelConfig};

/// A learner for `data` with `config`'s model and decoupled weight decay `wd`.
pub fn collab_learner(
    data: &CollabData,
    dls: &DataLoaders<usize, CollabBatch>,
    config: &CollabModelConfig,
    wd: f64,
    device: &Device,
) -> Learner<CollabModel, CollabBatch> {
    debug_assert_eq!((config.n_users, config.n_items), (data.users.len(), data.items.len()));
    Learner::new(config.init(device), dls, MseLoss)
        .with_optimizer(OptimizerConfig::adam().with_wd(wd), ParamGroups::single())
        .with_metrics(vec![Box::new(Rmse::default())])
}

/// fastai's defaults for `data`: 50 factors, the default output range, and `EmbeddingNN` with
/// `nn_layers` when given.
pub fn default_config(data: &CollabData, n_factors: usize, nn_layers: Option<Vec<usize>>, y_range: Option<(f64, f64)>) -> CollabModelConfig {
    CollabModelConfig {
        n_users: data.users.len(),
        n_items: data.items.len(),
        n_factors,
        nn_layers,
        y_range: Some(y_range.unwrap_or_else(|| data.default_y_range())),
    }
}
