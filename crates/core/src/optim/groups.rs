use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Assigns parameters to groups by the start of their path in the module, as fastai's
/// `splitter`: with prefixes `["body"]`, every parameter under `body` is group 0 and every
/// other one group 1. Groups get their own learning rates, and freezing works group by group.
///
/// ```
/// use kindling_core::optim::ParamGroups;
/// let g = ParamGroups::by_prefix(&["body"]);
/// assert_eq!(g.len(), 2);
/// assert_eq!(g.group_of("body.conv1.weight"), 0);
/// assert_eq!(g.group_of("head.1.weight"), 1);
/// assert_eq!(ParamGroups::single().group_of("anything"), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamGroups {
    prefixes: Vec<String>,
}

impl ParamGroups {
    /// One group holding every parameter.
    pub fn single() -> Self {
        Self::default()
    }

    /// Group `i` holds the parameters under `prefixes[i]`; the last group holds the rest.
    pub fn by_prefix(prefixes: &[&str]) -> Self {
        Self { prefixes: prefixes.iter().map(|p| p.to_string()).collect() }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.prefixes.len() + 1
    }

    /// Always false: there is at least one group.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The group of the parameter at `path`.
    pub fn group_of(&self, path: &str) -> usize {
        self.prefixes
            .iter()
            .position(|p| path == p || path.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('.')))
            .unwrap_or(self.prefixes.len())
    }

    /// Freezes the parameters of groups `0..n` (they stop receiving gradients) and unfreezes the
    /// others, as fastai's `freeze_to(n)`. With `train_bn`, normalisation layers stay trainable
    /// in frozen groups, as fastai does by default.
    pub fn freeze_to<M: Module>(&self, model: M, n: usize, train_bn: bool) -> M {
        let mut mapper = Freezer { groups: self, n, train_bn, path: PathTracker::default() };
        model.map(&mut mapper)
    }

    /// Where each float parameter sits: path, group, whether it is a bias or normalisation
    /// weight, whether it trains, and its size.
    pub fn describe<M: Module>(&self, model: &M) -> Vec<ParamInfo> {
        let mut v = Describer { groups: self, path: PathTracker::default(), out: Vec::new() };
        model.visit(&mut v);
        v.out
    }
}

/// A parameter as [`ParamGroups::describe`] sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Dotted path in the module (`head.1.weight`).
    pub path: String,
    /// Its group.
    pub group: usize,
    /// Whether it is a bias or belongs to a normalisation layer (no weight decay by default).
    pub is_bias_or_norm: bool,
    /// Whether it is a buffer rather than a learned parameter (BatchNorm's running statistics):
    /// PyTorch keeps these out of `parameters()`.
    pub is_buffer: bool,
    /// Whether it receives gradients (on a model that is in training mode).
    pub trainable: bool,
    /// Number of values.
    pub numel: usize,
}

/// Follows `enter_module`/`exit_module` calls to know the dotted path of the current parameter
/// and the type of the struct that owns it.
#[derive(Default, Clone, Debug)]
pub(crate) struct PathTracker {
    names: Vec<String>,
    owners: Vec<String>,
}

impl PathTracker {
    pub fn enter(&mut self, name: &str, container: &str) {
        self.names.push(name.to_string());
        self.owners.push(container.to_string());
    }

    pub fn exit(&mut self) {
        self.names.pop();
        self.owners.pop();
    }

    pub fn path(&self) -> String {
        self.names.join(".")
    }

    /// A bias, or a weight of a normalisation layer (BatchNorm, LayerNorm, GroupNorm …).
    pub fn is_bias_or_norm(&self) -> bool {
        self.names.last().is_some_and(|n| n == "bias") || self.owners.last().is_some_and(|o| o.contains("Norm"))
    }

    pub fn in_norm(&self) -> bool {
        self.owners.last().is_some_and(|o| o.contains("Norm"))
    }

    /// A running statistic of a normalisation layer.
    pub fn is_buffer(&self) -> bool {
        self.in_norm() && self.names.last().is_some_and(|n| n.starts_with("running_"))
    }
}

struct Freezer<'a> {
    groups: &'a ParamGroups,
    n: usize,
    train_bn: bool,
    path: PathTracker,
}

impl ModuleMapper for Freezer<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let frozen = self.groups.group_of(&self.path.path()) < self.n && !(self.train_bn && self.path.in_norm());
        param.set_require_grad(!frozen)
    }
}

struct Describer<'a> {
    groups: &'a ParamGroups,
    path: PathTracker,
    out: Vec<ParamInfo>,
}

impl ModuleVisitor for Describer<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.path.path();
        self.out.push(ParamInfo {
            group: self.groups.group_of(&path),
            path,
            is_bias_or_norm: self.path.is_bias_or_norm(),
            is_buffer: self.path.is_buffer(),
            trainable: param.val().is_require_grad(),
            numel: param.lazy_shape().num_elements(),
        });
    }
}
