use burn::config::Config;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

/// fastai's `LinBnDrop` as `TabularModel` uses it (`lin_first`): Linear (without bias when a
/// BatchNorm follows), then ReLU, BatchNorm and Dropout, each optional.
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
}

impl LinBnDropConfig {
    /// The block, initialised on `device`.
    pub fn init(&self, device: &Device) -> LinBnDrop {
        LinBnDrop {
            lin: LinearConfig::new(self.n_in, self.n_out).with_bias(!self.bn).init(device),
            act: self.act.then(Relu::new),
            bn: self.bn.then(|| BatchNormConfig::new(self.n_out).init(device)),
            drop: (self.p > 0.0).then(|| DropoutConfig::new(self.p).init()),
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
}

impl LinBnDrop {
    /// `[batch, n_in] → [batch, n_out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = self.lin.forward(x);
        if let Some(a) = &self.act {
            x = a.forward(x);
        }
        if let Some(bn) = &self.bn {
            x = bn.forward(x);
        }
        if let Some(d) = &self.drop {
            x = d.forward(x);
        }
        x
    }
}
