//! An image classifier's model file checked against itself before anything is built from it:
//! the architecture against the tensors' shapes (stage and block counts, the stem's input
//! channels, the classifier's outputs, then every tensor), the class list against the outputs,
//! and the preprocessing against the architecture (channels, normalisation statistics, size).
//! An edited header is an error naming its field, never a panic or a giant allocation.

use std::collections::{BTreeMap, BTreeSet};

use kindling_core::export::{Fault, HeaderCheck, TensorShapes};

use crate::data::Preprocessing;
use crate::head::HeadConfig;
use crate::learner::VisionModelConfig;
use crate::models::ArchConfig;
use crate::models::efficientnet::EfficientNetConfig;
use crate::models::resnet::ResNetConfig;

/// The largest image side a model may be trained or run at (`--size`, `preprocessing.size`):
/// 4096² RGB pixels are 200 MB of floats per image.
pub const MAX_SIZE: usize = 4096;

impl HeaderCheck<VisionModelConfig> for Preprocessing {
    fn check(&self, arch: &VisionModelConfig, classes: &[String], tensors: &TensorShapes) -> Result<(), Fault> {
        check_arch(arch, tensors)?;
        check_classes(arch, classes)?;
        check_preprocessing(self, arch)
    }
}

/// The tensor name prefix of the body (burn names an enum module's variant in the path).
fn body_prefix(body: &ArchConfig) -> &'static str {
    match body {
        ArchConfig::ResNet(_) => "body.ResNet.",
        ArchConfig::EfficientNet(_) => "body.EfficientNet.",
    }
}

/// The header field of the body's configuration.
fn body_field(body: &ArchConfig) -> &'static str {
    match body {
        ArchConfig::ResNet(_) => "arch.body.resnet",
        ArchConfig::EfficientNet(_) => "arch.body.efficientnet",
    }
}

/// Input channels of the body.
fn in_channels(body: &ArchConfig) -> usize {
    match body {
        ArchConfig::ResNet(c) => c.in_channels,
        ArchConfig::EfficientNet(c) => c.in_channels,
    }
}

/// The model's outputs and the field they come from: the head's `n_out`, or the body's own
/// classifier.
fn outputs(arch: &VisionModelConfig) -> (Option<usize>, String) {
    match (&arch.head, &arch.body) {
        (Some(h), _) => (Some(h.n_out), "arch.head.n_out".into()),
        (None, ArchConfig::ResNet(c)) => (c.num_classes, "arch.body.resnet.num_classes".into()),
        (None, ArchConfig::EfficientNet(c)) => (c.num_classes, "arch.body.efficientnet.num_classes".into()),
    }
}

/// The architecture, checked against the tensors: first the sizes a user would edit (each
/// naming its field), then every tensor the architecture implies against the file's.
fn check_arch(arch: &VisionModelConfig, tensors: &TensorShapes) -> Result<(), Fault> {
    let prefix = body_prefix(&arch.body);
    if tensors.under(prefix).next().is_none() {
        let other = if prefix == "body.ResNet." { "an EfficientNet" } else { "a ResNet" };
        return Err(Fault::new("arch.body", format!("names {}, but the file's tensors are {other}'s", &prefix[5..prefix.len() - 1])));
    }
    let mut expected = Expected::default();
    match &arch.body {
        ArchConfig::ResNet(c) => check_resnet(c, tensors, &mut expected)?,
        ArchConfig::EfficientNet(c) => check_efficientnet(c, tensors, &mut expected)?,
    }
    match &arch.head {
        Some(h) => check_head(h, &arch.body, tensors, &mut expected)?,
        None => {
            let (n, field) = outputs(arch);
            if n.is_none() {
                return Err(Fault::new(field, "is null, but a model without a head needs the body's own classifier"));
            }
            if tensors.under("head.").next().is_some() {
                return Err(Fault::new("arch.head", "is null, but the file holds a head's tensors"));
            }
        }
    }
    expected.compare(tensors)
}

/// The tensors an architecture implies, each with the header field that sizes it.
#[derive(Default)]
struct Expected(BTreeMap<String, (Vec<usize>, String)>);

impl Expected {
    fn add(&mut self, name: String, shape: Vec<usize>, field: &str) {
        self.0.insert(name, (shape, field.to_string()));
    }

    /// A BatchNorm over `c` channels.
    fn bn(&mut self, at: &str, c: usize, field: &str) {
        for p in ["gamma", "beta", "running_mean", "running_var"] {
            self.add(format!("{at}.{p}"), vec![c], field);
        }
    }

    /// Every expected tensor is in the file with its shape, and the file holds no other.
    fn compare(&self, tensors: &TensorShapes) -> Result<(), Fault> {
        for (name, (shape, field)) in &self.0 {
            match tensors.0.get(name) {
                None => return Err(Fault::new(field.as_str(), format!("implies a tensor `{name}` {shape:?}, which the file does not hold"))),
                Some(_) => tensors.expect(name, shape, field)?,
            }
        }
        if let Some(extra) = tensors.0.keys().find(|k| !self.0.contains_key(*k)) {
            let field = if extra.starts_with("head.") { "arch.head" } else { "arch.body" };
            return Err(Fault::new(field, format!("does not account for the file's tensor `{extra}`")));
        }
        Ok(())
    }
}

/// The distinct block numbers under `prefix` (`body.ResNet.layer1.` holds `0.`, `1.` …).
fn block_count(tensors: &TensorShapes, prefix: &str) -> usize {
    tensors.under(prefix).filter_map(|(k, _)| k[prefix.len()..].split('.').next()).collect::<BTreeSet<_>>().len()
}

/// At least 1, for the sizes a layer is built from (0 makes burn panic at init).
fn positive(field: &str, v: usize) -> Result<(), Fault> {
    if v == 0 { Err(Fault::new(field, "is 0; it must be at least 1")) } else { Ok(()) }
}

fn check_resnet(c: &ResNetConfig, tensors: &TensorShapes, e: &mut Expected) -> Result<(), Fault> {
    const F: &str = "arch.body.resnet";
    let p = "body.ResNet.";
    for (s, &n) in c.layers.iter().enumerate() {
        let held = block_count(tensors, &format!("{p}layer{}.", s + 1));
        if n != held {
            return Err(Fault::new(format!("{F}.layers"), format!("says stage {} has {n} blocks, but the file holds {held}", s + 1)));
        }
        positive(&format!("{F}.layers"), n)?;
    }
    let has_bottleneck = tensors.0.contains_key(&format!("{p}layer1.0.Bottleneck.conv1.weight"));
    if c.bottleneck != has_bottleneck {
        return Err(Fault::new(format!("{F}.bottleneck"), format!("is {}, but the file's blocks are {}", c.bottleneck, if has_bottleneck { "bottlenecks" } else { "basic blocks" })));
    }
    positive(&format!("{F}.in_channels"), c.in_channels)?;
    let stem = tensors.dims(&format!("{p}conv1.weight"))?;
    if stem.len() != 4 || stem[1] != c.in_channels {
        return Err(Fault::new(format!("{F}.in_channels"), format!("is {}, but the first convolution's weights are {stem:?} (input channels second)", c.in_channels)));
    }
    let k = if c.small_stem { 3 } else { 7 };
    if stem[2..] != [k, k] {
        return Err(Fault::new(format!("{F}.small_stem"), format!("is {} (a {k}×{k} first convolution), but its weights are {stem:?}", c.small_stem)));
    }
    check_classifier(&format!("{p}fc"), c.num_classes, c.n_features(), &format!("{F}.num_classes"), tensors, e)?;
    // Every tensor, as `ResNetConfig::init` builds them.
    let conv = |e: &mut Expected, at: &str, i: usize, o: usize, k: usize| e.add(format!("{at}.weight"), vec![o, i, k, k], F);
    conv(e, &format!("{p}conv1"), c.in_channels, 64, k);
    e.bn(&format!("{p}bn1"), 64, F);
    let expansion = if c.bottleneck { 4 } else { 1 };
    let mut in_c = 64;
    for (stage, (&n, width)) in c.layers.iter().zip([64, 128, 256, 512]).enumerate() {
        for b in 0..n {
            let stride = if b == 0 && stage > 0 { 2 } else { 1 };
            let out_c = width * expansion;
            let at = format!("{p}layer{}.{b}.{}", stage + 1, if c.bottleneck { "Bottleneck" } else { "Basic" });
            if stride != 1 || in_c != out_c {
                conv(e, &format!("{at}.downsample.conv"), in_c, out_c, 1);
                e.bn(&format!("{at}.downsample.bn"), out_c, F);
            }
            if c.bottleneck {
                conv(e, &format!("{at}.conv1"), in_c, width, 1);
                e.bn(&format!("{at}.bn1"), width, F);
                conv(e, &format!("{at}.conv2"), width, width, 3);
                e.bn(&format!("{at}.bn2"), width, F);
                conv(e, &format!("{at}.conv3"), width, out_c, 1);
                e.bn(&format!("{at}.bn3"), out_c, F);
            } else {
                conv(e, &format!("{at}.conv1"), in_c, width, 3);
                e.bn(&format!("{at}.bn1"), width, F);
                conv(e, &format!("{at}.conv2"), width, width, 3);
                e.bn(&format!("{at}.bn2"), width, F);
            }
            in_c = out_c;
        }
    }
    Ok(())
}

fn check_efficientnet(c: &EfficientNetConfig, tensors: &TensorShapes, e: &mut Expected) -> Result<(), Fault> {
    const F: &str = "arch.body.efficientnet";
    let p = "body.EfficientNet.";
    let blocks = format!("{F}.blocks");
    let held = block_count(tensors, &format!("{p}blocks."));
    if c.blocks.len() != held {
        return Err(Fault::new(blocks, format!("lists {} blocks, but the file holds {held}", c.blocks.len())));
    }
    positive(&format!("{F}.in_channels"), c.in_channels)?;
    positive(&format!("{F}.stem"), c.stem)?;
    positive(&format!("{F}.head"), c.head)?;
    if !(c.bn_eps.is_finite() && c.bn_eps > 0.0) {
        return Err(Fault::new(format!("{F}.bn_eps"), format!("is {}, not a positive number", c.bn_eps)));
    }
    let stem = tensors.dims(&format!("{p}conv_stem.weight"))?;
    if stem.len() != 4 || stem[1] != c.in_channels {
        return Err(Fault::new(format!("{F}.in_channels"), format!("is {}, but the first convolution's weights are {stem:?} (input channels second)", c.in_channels)));
    }
    let mut prev = c.stem;
    for (i, b) in c.blocks.iter().enumerate() {
        for (v, what) in [(b.c_in, "c_in"), (b.c_out, "c_out"), (b.expand, "expand"), (b.kernel, "kernel"), (b.stride, "stride")] {
            positive(&format!("{blocks}[{i}].{what}"), v)?;
        }
        if b.c_in != prev {
            return Err(Fault::new(format!("{blocks}[{i}].c_in"), format!("is {}, but the layer before gives {prev} channels", b.c_in)));
        }
        prev = b.c_out;
    }
    check_classifier(&format!("{p}fc"), c.num_classes, c.head, &format!("{F}.num_classes"), tensors, e)?;
    let conv = |e: &mut Expected, at: &str, i: usize, o: usize, k: usize, field: &str| e.add(format!("{at}.weight"), vec![o, i, k, k], field);
    conv(e, &format!("{p}conv_stem"), c.in_channels, c.stem, 3, F);
    e.bn(&format!("{p}bn0"), c.stem, F);
    for (i, b) in c.blocks.iter().enumerate() {
        let (at, field) = (format!("{p}blocks.{i}"), format!("{blocks}[{i}]"));
        let hidden = b.c_in.saturating_mul(b.expand);
        if b.expand != 1 {
            conv(e, &format!("{at}.expand_conv"), b.c_in, hidden, 1, &field);
            e.bn(&format!("{at}.bn0"), hidden, &field);
        }
        // Depthwise: one input channel per group.
        conv(e, &format!("{at}.depthwise_conv"), 1, hidden, b.kernel, &field);
        e.bn(&format!("{at}.bn1"), hidden, &field);
        conv(e, &format!("{at}.project_conv"), hidden, b.c_out, 1, &field);
        e.bn(&format!("{at}.bn2"), b.c_out, &field);
    }
    conv(e, &format!("{p}conv_head"), prev, c.head, 1, F);
    e.bn(&format!("{p}bn1"), c.head, F);
    Ok(())
}

/// The body's own final linear layer: present with `n` outputs, or absent.
fn check_classifier(at: &str, n: Option<usize>, n_in: usize, field: &str, tensors: &TensorShapes, e: &mut Expected) -> Result<(), Fault> {
    let held = tensors.0.get(&format!("{at}.weight"));
    match (n, held) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(Fault::new(field, "is null (no classifier), but the file holds one")),
        (Some(_), None) => Err(Fault::new(field, "names a classifier, but the file holds none")),
        (Some(n), Some(w)) => {
            if w.len() != 2 || w[1] != n {
                return Err(Fault::new(field, format!("is {n}, but the classifier's weights are {w:?} (outputs second)")));
            }
            positive(field, n)?;
            e.add(format!("{at}.weight"), vec![n_in, n], field);
            e.add(format!("{at}.bias"), vec![n], field);
            Ok(())
        }
    }
}

fn check_head(h: &HeadConfig, body: &ArchConfig, tensors: &TensorShapes, e: &mut Expected) -> Result<(), Fault> {
    let nf = body.n_features();
    if h.nf != nf {
        return Err(Fault::new("arch.head.nf", format!("is {}, but the body gives {nf} features", h.nf)));
    }
    if !(h.ps.is_finite() && (0.0..=1.0).contains(&h.ps)) {
        return Err(Fault::new("arch.head.ps", format!("is {}, not a dropout probability in [0, 1]", h.ps)));
    }
    let held = block_count(tensors, "head.layers.");
    if held != h.lin_ftrs.len() + 1 {
        return Err(Fault::new("arch.head.lin_ftrs", format!("has {} hidden sizes ({} layers), but the file holds {held} layers", h.lin_ftrs.len(), h.lin_ftrs.len() + 1)));
    }
    positive("arch.head.n_out", h.n_out)?;
    let last = tensors.dims(&format!("head.layers.{}.lin.weight", h.lin_ftrs.len()))?;
    if last.len() != 2 || last[1] != h.n_out {
        return Err(Fault::new("arch.head.n_out", format!("is {}, but the head's last layer's weights are {last:?} (outputs second)", h.n_out)));
    }
    let mut sizes = vec![if h.concat_pool { nf * 2 } else { nf }];
    sizes.extend(&h.lin_ftrs);
    sizes.push(h.n_out);
    for (i, w) in sizes.windows(2).enumerate() {
        let field = if i + 1 == sizes.len() - 1 { "arch.head.n_out" } else { "arch.head.lin_ftrs" };
        positive(field, w[1])?;
        let at = format!("head.layers.{i}");
        e.bn(&format!("{at}.bn"), w[0], if i == 0 { "arch.head.concat_pool" } else { "arch.head.lin_ftrs" });
        e.add(format!("{at}.lin.weight"), vec![w[0], w[1]], field);
    }
    Ok(())
}

/// The class list names the model's outputs: at least two of them, one per output.
fn check_classes(arch: &VisionModelConfig, classes: &[String]) -> Result<(), Fault> {
    let (n, field) = outputs(arch);
    let n = n.unwrap_or(0);
    if classes.len() < 2 {
        return Err(Fault::new("classes", format!("has {} entries; a classifier needs at least two", classes.len())));
    }
    Fault::len("classes", classes.len(), n, &format!("the model's outputs ({field})"))
}

/// The preprocessing fits the architecture: a size in `1..=MAX_SIZE`, the body's input
/// channels (1 or 3), and one finite mean and positive standard deviation per channel.
fn check_preprocessing(p: &Preprocessing, arch: &VisionModelConfig) -> Result<(), Fault> {
    if p.size == 0 || p.size > MAX_SIZE {
        return Err(Fault::new("preprocessing.size", format!("is {}, not an image side in 1..={MAX_SIZE}", p.size)));
    }
    if p.channels != 1 && p.channels != 3 {
        return Err(Fault::new("preprocessing.channels", format!("is {}, but images have 1 (grey) or 3 (RGB) channels", p.channels)));
    }
    let want = in_channels(&arch.body);
    if p.channels != want {
        return Err(Fault::new(
            "preprocessing.channels",
            format!("is {}, but the model's first convolution ({}.in_channels) takes {want}", p.channels, body_field(&arch.body)),
        ));
    }
    let what = "the channels (preprocessing.channels)";
    Fault::len("preprocessing.normalize.mean", p.normalize.mean.len(), p.channels, what)?;
    Fault::len("preprocessing.normalize.std", p.normalize.std.len(), p.channels, what)?;
    if let Some(m) = p.normalize.mean.iter().find(|m| !m.is_finite()) {
        return Err(Fault::new("preprocessing.normalize.mean", format!("holds {m}, not a finite number")));
    }
    if let Some(s) = p.normalize.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Fault::new("preprocessing.normalize.std", format!("holds {s}, not a positive finite number")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::store::ModuleSnapshot;
    use burn::tensor::Device;

    use crate::data::Normalize;
    use crate::data::resize::ResizeMethod;

    /// The shapes of a freshly built model's tensors, named as the model file names them.
    fn shapes(config: &VisionModelConfig) -> TensorShapes {
        let model = config.init(&Device::flex());
        TensorShapes(model.collect(None, None, false).into_iter().map(|t| (t.name.clone(), t.shape.to_vec())).collect())
    }

    fn pre(channels: usize) -> Preprocessing {
        let normalize = Normalize { mean: vec![0.5; channels], std: vec![0.25; channels] };
        Preprocessing { size: 28, method: ResizeMethod::Crop, channels, normalize }
    }

    fn classes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    /// The check's picture of every architecture is the one `init` builds, tensor for tensor:
    /// otherwise every file of that architecture would be refused.
    #[test]
    fn every_architecture_passes_against_its_own_tensors() {
        let configs = [
            VisionModelConfig::scratch(ResNetConfig::resnet18_small(1, 2)),
            VisionModelConfig::scratch(ResNetConfig::resnet18(3)),
            VisionModelConfig::transfer(ResNetConfig::resnet34(1000), 4),
            VisionModelConfig::transfer(ResNetConfig::resnet50(1000), 2),
            VisionModelConfig::scratch(EfficientNetConfig::lite0(Some(5))),
            VisionModelConfig::transfer(EfficientNetConfig::lite0(None), 3),
        ];
        for config in configs {
            let t = shapes(&config);
            let channels = in_channels(&config.body);
            let n = outputs(&config).0.unwrap();
            assert_eq!(pre(channels).check(&config, &classes(n), &t), Ok(()), "{config:?}");
        }
    }

    /// Each edited field is named; none of these would build a model of the file's shape.
    #[test]
    fn an_edited_header_is_refused_naming_its_field() {
        let good = VisionModelConfig::transfer(ResNetConfig::resnet18(1000), 2);
        let t = shapes(&good);
        let refuse = |config: &VisionModelConfig, pre: &Preprocessing, classes: &[String]| pre.check(config, classes, &t).unwrap_err().field;
        let (p, c) = (pre(3), classes(2));
        assert_eq!(refuse(&good, &p, &classes(3)), "classes");
        assert_eq!(refuse(&good, &p, &classes(1)), "classes");
        let mut x = good.clone();
        x.head.as_mut().unwrap().n_out = 3;
        assert_eq!(refuse(&x, &p, &classes(3)), "arch.head.n_out");
        let mut x = good.clone();
        x.head.as_mut().unwrap().lin_ftrs = vec![512, 256];
        assert_eq!(refuse(&x, &p, &c), "arch.head.lin_ftrs");
        let mut x = good.clone();
        x.head.as_mut().unwrap().lin_ftrs = vec![256];
        assert_eq!(refuse(&x, &p, &c), "arch.head.lin_ftrs");
        let mut x = good.clone();
        x.head.as_mut().unwrap().nf = 2048;
        assert_eq!(refuse(&x, &p, &c), "arch.head.nf");
        let mut x = good.clone();
        x.head.as_mut().unwrap().ps = 7.0;
        assert_eq!(refuse(&x, &p, &c), "arch.head.ps");
        let resnet = |f: &dyn Fn(&mut ResNetConfig)| {
            let mut x = good.clone();
            if let ArchConfig::ResNet(r) = &mut x.body {
                f(r);
            }
            x
        };
        assert_eq!(refuse(&resnet(&|r| r.layers = [2, 2, 2, 1_000_000_000]), &p, &c), "arch.body.resnet.layers");
        assert_eq!(refuse(&resnet(&|r| r.bottleneck = true), &p, &c), "arch.body.resnet.bottleneck");
        assert_eq!(refuse(&resnet(&|r| r.in_channels = 1), &pre(1), &c), "arch.body.resnet.in_channels");
        assert_eq!(refuse(&resnet(&|r| r.small_stem = true), &p, &c), "arch.body.resnet.small_stem");
        assert_eq!(refuse(&resnet(&|r| r.num_classes = Some(2)), &p, &c), "arch.body.resnet.num_classes");
        let mut x = good.clone();
        x.head = None;
        assert_eq!(refuse(&x, &p, &c), "arch.body.resnet.num_classes");
        let e = VisionModelConfig::scratch(EfficientNetConfig::lite0(Some(2)));
        assert_eq!(refuse(&e, &p, &c), "arch.body");
        let pp = |f: &dyn Fn(&mut Preprocessing)| {
            let mut p = pre(3);
            f(&mut p);
            p
        };
        assert_eq!(refuse(&good, &pp(&|p| p.size = 0), &c), "preprocessing.size");
        assert_eq!(refuse(&good, &pp(&|p| p.size = usize::MAX), &c), "preprocessing.size");
        assert_eq!(refuse(&good, &pre(1), &c), "preprocessing.channels");
        assert_eq!(refuse(&good, &pp(&|p| p.channels = 2), &c), "preprocessing.channels");
        assert_eq!(refuse(&good, &pp(&|p| {
            p.normalize.mean.pop();
        }), &c), "preprocessing.normalize.mean");
        assert_eq!(refuse(&good, &pp(&|p| p.normalize.std = vec![1.0]), &c), "preprocessing.normalize.std");
        assert_eq!(refuse(&good, &pp(&|p| p.normalize.std[1] = 0.0), &c), "preprocessing.normalize.std");
        assert_eq!(refuse(&good, &pp(&|p| p.normalize.mean[0] = f32::NAN), &c), "preprocessing.normalize.mean");
    }

    #[test]
    fn an_efficientnet_header_is_checked_block_by_block() {
        let good = VisionModelConfig::transfer(EfficientNetConfig::lite0(None), 2);
        let t = shapes(&good);
        let refuse = |f: &dyn Fn(&mut EfficientNetConfig)| {
            let mut x = good.clone();
            if let ArchConfig::EfficientNet(e) = &mut x.body {
                f(e);
            }
            pre(3).check(&x, &classes(2), &t).unwrap_err().field
        };
        assert_eq!(refuse(&|e| e.blocks.truncate(15)), "arch.body.efficientnet.blocks");
        assert_eq!(refuse(&|e| e.blocks[3].c_in = 7), "arch.body.efficientnet.blocks[3].c_in");
        assert_eq!(refuse(&|e| e.blocks[3].kernel = 0), "arch.body.efficientnet.blocks[3].kernel");
        assert_eq!(refuse(&|e| e.blocks[4].kernel = 3), "arch.body.efficientnet.blocks[4]");
        assert_eq!(refuse(&|e| e.in_channels = 1), "arch.body.efficientnet.in_channels");
        assert_eq!(refuse(&|e| e.bn_eps = -1.0), "arch.body.efficientnet.bn_eps");
    }
}
