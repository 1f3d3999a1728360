//! The U-Net's encoder: one of kindling-vision's networks without its classifier (a ResNet or
//! an EfficientNet-Lite, vision's [`ArchConfig`] and [`Body`]), seen as a list of stages whose
//! outputs feed the decoder's skip connections.
//!
//! fastai finds the stages by hooking the encoder's children (`model_sizes`); here each
//! encoder lists them itself ([`ResNet::forward_stages`](kindling_vision::models::ResNet::forward_stages),
//! [`EfficientNet::forward_stages`](kindling_vision::models::EfficientNet::forward_stages)) and
//! computes their shapes without running the network, so that an exported model's header can
//! be checked against its tensors before anything is built.

use std::collections::BTreeSet;

use burn::tensor::Tensor;
use kindling_core::export::{Fault, TensorShapes};
use kindling_vision::models::{ArchConfig, Body, EfficientNetConfig, ResNetConfig};

/// The encoders `--arch` accepts.
pub const ENCODERS: [&str; 5] = ["resnet18", "resnet34", "resnet50", "resnet18-small", "efficientnet-lite0"];

/// The encoder called `arch` (one of [`ENCODERS`]) for images of `in_channels`, without its
/// classifier; `None` for an unknown name, and for EfficientNet-Lite0 on grey images (its
/// stem takes RGB).
///
/// ```
/// use kindling_segmentation::model::encoder_by_name;
/// assert!(encoder_by_name("efficientnet-lite0", 3).is_some());
/// assert!(encoder_by_name("efficientnet-lite0", 1).is_none());
/// assert!(encoder_by_name("vgg16", 3).is_none());
/// ```
pub fn encoder_by_name(arch: &str, in_channels: usize) -> Option<ArchConfig> {
    ENCODERS.contains(&arch).then(|| ArchConfig::by_name(arch, in_channels, 1)).flatten().map(|a| a.without_classifier())
}

/// What a U-Net needs to know of its encoder's configuration.
pub trait EncoderConfig {
    /// The shape `[channels, height, width]` of every stage's output for images of `size`.
    fn stage_shapes(&self, size: [usize; 2]) -> Vec<[usize; 3]>;
    /// Channels of the images it takes.
    fn in_channels(&self) -> usize;
    /// The encoder's tensors in an exported U-Net checked against this configuration (every
    /// size that builds a layer), each fault naming the header field; `channels` is the
    /// preprocessing's.
    fn check_tensors(&self, channels: usize, t: &TensorShapes) -> Result<(), Fault>;
}

/// What a U-Net needs of its encoder network.
pub trait EncoderStages {
    /// The output of every stage, in the order of [`EncoderConfig::stage_shapes`].
    fn forward_stages(&self, x: Tensor<4>) -> Vec<Tensor<4>>;
}

impl EncoderConfig for ArchConfig {
    fn stage_shapes(&self, size: [usize; 2]) -> Vec<[usize; 3]> {
        match self {
            Self::ResNet(c) => c.stage_shapes(size),
            Self::EfficientNet(c) => c.stage_shapes(size),
        }
    }

    fn in_channels(&self) -> usize {
        match self {
            Self::ResNet(c) => c.in_channels,
            Self::EfficientNet(c) => c.in_channels,
        }
    }

    fn check_tensors(&self, channels: usize, t: &TensorShapes) -> Result<(), Fault> {
        let (prefix, other) = match self {
            Self::ResNet(_) => (RESNET, EFFICIENTNET),
            Self::EfficientNet(_) => (EFFICIENTNET, RESNET),
        };
        if t.under(prefix).next().is_none() {
            let held = if t.under(other).next().is_some() { format!("`{other}…`") } else { "no encoder under either name (a file from an older kindling?)".into() };
            return Err(Fault::new("arch.encoder", format!("names tensors `{prefix}…`, but the file holds {held}")));
        }
        if self.in_channels() != channels {
            return Err(Fault::new("preprocessing.channels", format!("{channels}, but the encoder takes {} (arch.encoder)", self.in_channels())));
        }
        match self {
            Self::ResNet(c) => check_resnet(c, t),
            Self::EfficientNet(c) => check_efficientnet(c, t),
        }
    }
}

impl EncoderStages for Body {
    fn forward_stages(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        match self {
            Self::ResNet(m) => m.forward_stages(x),
            Self::EfficientNet(m) => m.forward_stages(x),
        }
    }
}

/// Where a U-Net's ResNet encoder keeps its tensors (burn names an enum module's variant).
const RESNET: &str = "encoder.ResNet.";
/// Where a U-Net's EfficientNet encoder keeps its tensors.
const EFFICIENTNET: &str = "encoder.EfficientNet.";

/// The distinct block numbers under `prefix`.
fn block_count(t: &TensorShapes, prefix: &str) -> usize {
    t.under(prefix).filter_map(|(k, _)| k[prefix.len()..].split('.').next()).collect::<BTreeSet<_>>().len()
}

fn check_resnet(c: &ResNetConfig, t: &TensorShapes) -> Result<(), Fault> {
    const F: &str = "arch.encoder.resnet";
    if c.num_classes.is_some() {
        return Err(Fault::new(format!("{F}.num_classes"), "an encoder has no classifier"));
    }
    let k = if c.small_stem { 3 } else { 7 };
    t.expect(&format!("{RESNET}conv1.weight"), &[64, c.in_channels, k, k], F)?;
    let expansion = if c.bottleneck { 4 } else { 1 };
    // burn names a block's variant too: `layer1.0.Basic.conv2`.
    let last = if c.bottleneck { "Bottleneck.conv3" } else { "Basic.conv2" };
    for (s, (&n, width)) in c.layers.iter().zip([64usize, 128, 256, 512]).enumerate() {
        let field = format!("{F}.layers[{s}]");
        let layer = format!("{RESNET}layer{}.", s + 1);
        let blocks = block_count(t, &layer);
        if blocks != n || n == 0 {
            return Err(Fault::new(field, format!("says {n} blocks, but the file holds {blocks} under `{layer}`")));
        }
        t.expect(&format!("{layer}{}.{last}.weight", n - 1), &[width * expansion, width, if c.bottleneck { 1 } else { 3 }, if c.bottleneck { 1 } else { 3 }], &field)?;
    }
    Ok(())
}

fn check_efficientnet(c: &EfficientNetConfig, t: &TensorShapes) -> Result<(), Fault> {
    const F: &str = "arch.encoder.efficientnet";
    if c.num_classes.is_some() {
        return Err(Fault::new(format!("{F}.num_classes"), "an encoder has no classifier"));
    }
    t.expect(&format!("{EFFICIENTNET}conv_stem.weight"), &[c.stem, c.in_channels, 3, 3], F)?;
    let held = block_count(t, &format!("{EFFICIENTNET}blocks."));
    if held != c.blocks.len() {
        return Err(Fault::new(format!("{F}.blocks"), format!("lists {} blocks, but the file holds {held}", c.blocks.len())));
    }
    let mut c_in = c.stem;
    for (i, b) in c.blocks.iter().enumerate() {
        let field = format!("{F}.blocks[{i}]");
        if b.c_in != c_in {
            return Err(Fault::new(field, format!("takes {} channels, but the layer before gives {c_in}", b.c_in)));
        }
        if !(1..=2).contains(&b.stride) || b.expand == 0 {
            return Err(Fault::new(field, format!("stride {} and expansion {}: strides are 1 or 2, expansions at least 1", b.stride, b.expand)));
        }
        let at = format!("{EFFICIENTNET}blocks.{i}.");
        let hidden = b.c_in * b.expand;
        let has_expand = t.under(&format!("{at}expand_conv.")).next().is_some();
        if has_expand != (b.expand != 1) {
            return Err(Fault::new(field, format!("has expansion {}, but the file {} an expansion convolution", b.expand, if has_expand { "holds" } else { "has no" })));
        }
        if has_expand {
            t.expect(&format!("{at}expand_conv.weight"), &[hidden, b.c_in, 1, 1], &field)?;
        }
        t.expect(&format!("{at}depthwise_conv.weight"), &[hidden, 1, b.kernel, b.kernel], &field)?;
        t.expect(&format!("{at}project_conv.weight"), &[b.c_out, hidden, 1, 1], &field)?;
        c_in = b.c_out;
    }
    t.expect(&format!("{EFFICIENTNET}conv_head.weight"), &[c.head, c_in, 1, 1], F)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::Device;

    /// The names and shapes an exported U-Net holds for encoder `m`.
    struct Shapes(Vec<String>, TensorShapes);

    impl ModuleVisitor for Shapes {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.1.0.insert(format!("encoder.{}", self.0.join(".")), p.val().dims().to_vec());
        }
    }

    fn shapes<M: Module>(m: &M) -> TensorShapes {
        let mut v = Shapes(Vec::new(), TensorShapes::default());
        m.visit(&mut v);
        v.1
    }

    #[test]
    fn stages_have_the_computed_shapes_and_the_tensors_pass_their_check() {
        let d = Device::flex();
        for arch in ["resnet18-small", "efficientnet-lite0"] {
            let cfg = encoder_by_name(arch, 3).unwrap();
            let body = cfg.init(&d);
            let x = Tensor::zeros([1, 3, 30, 42], &d);
            let got: Vec<[usize; 3]> = body.forward_stages(x).iter().map(|s| { let [_, c, h, w] = s.dims(); [c, h, w] }).collect();
            assert_eq!(got, cfg.stage_shapes([30, 42]), "{arch}");
            let t = shapes(&body);
            assert_eq!(cfg.check_tensors(3, &t), Ok(()), "{arch}");
            assert!(cfg.check_tensors(1, &t).unwrap_err().to_string().contains("preprocessing.channels"));
        }
        // An EfficientNet header over a ResNet's tensors names both.
        let t = shapes(&encoder_by_name("resnet18", 3).unwrap().init(&d));
        let err = encoder_by_name("efficientnet-lite0", 3).unwrap().check_tensors(3, &t).unwrap_err().to_string();
        assert!(err.contains("arch.encoder") && err.contains("encoder.ResNet."), "{err}");
        // An edited block is refused by its field.
        let mut cfg = EfficientNetConfig::lite0(None);
        let t = shapes(&ArchConfig::EfficientNet(cfg.clone()).init(&d));
        cfg.blocks[3].c_out = 41;
        let err = ArchConfig::EfficientNet(cfg).check_tensors(3, &t).unwrap_err().to_string();
        assert!(err.contains("arch.encoder.efficientnet.blocks[3]"), "{err}");
    }
}
