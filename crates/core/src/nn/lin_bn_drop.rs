use burn::config::Config;
use burn::module::Module;
use crate::nn::{BatchNorm, BatchNormConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

/// fastai's `LinBnDrop`: a Linear layer (without bias when there is a BatchNorm), a ReLU, a
/// BatchNorm and a Dropout, each but the Linear optional. With `lin_first` (as `TabularModel`
/// uses it) the order is Linear, ReLU, BatchNorm, Dropout; without (as `create_head` uses it) it
/// is BatchNorm, Dropout, Linear, ReLU.
#[derive(Config, Debug)]
pub struct LinBnDropConfig {
    /// Input features.
    pub n_in: usize,
    /// Output features.
    pub n_out: usize,
    /// Add a BatchNorm after the activation.
    #[config(default = true)]
    pub bn: bool,
    /// Dropout probability (0 for none).
    #[config(default = 0.0)]
    pub p: f64,
    /// Add a ReLU after the linear layer.
    #[config(default = true)]
    pub act: bool,
    /// Linear first (then ReLU, BatchNorm, Dropout), or BatchNorm and Dropout first.
    #[config(default = true)]
    pub lin_first: bool,
}

impl LinBnDropConfig {
    /// The block, initialised on `device`.
    pub fn init(&self, device: &Device) -> LinBnDrop {
        LinBnDrop {
            lin: LinearConfig::new(self.n_in, self.n_out).with_bias(!self.bn).init(device),
            act: self.act.then(Relu::new),
            bn: self.bn.then(|| BatchNormConfig::new(if self.lin_first { self.n_out } else { self.n_in }).with_beta_init(1e-3).init(device)),
            drop: (self.p > 0.0).then(|| DropoutConfig::new(self.p).init()),
            lin_first: self.lin_first,
        }
    }
}

/// See [`LinBnDropConfig`].
#[derive(Module, Debug)]
pub struct LinBnDrop {
    /// The linear layer.
    pub lin: Linear,
    /// ReLU, if any.
    pub act: Option<Relu>,
    /// BatchNorm, if any.
    pub bn: Option<BatchNorm>,
    /// Dropout, if any.
    pub drop: Option<Dropout>,
    /// The order (see [`LinBnDropConfig::lin_first`]).
    pub lin_first: bool,
}

impl LinBnDrop {
    /// `[batch, n_in] → [batch, n_out]`.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        if self.lin_first {
            x = self.act_lin(x);
        }
        if let Some(bn) = &self.bn {
            x = bn.forward(x);
        }
        if let Some(d) = &self.drop {
            x = d.forward(x);
        }
        if !self.lin_first {
            x = self.act_lin(x);
        }
        x
    }

    fn act_lin(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.lin.forward(x);
        match &self.act {
            Some(a) => a.forward(x),
            None => x,
        }
    }
}
