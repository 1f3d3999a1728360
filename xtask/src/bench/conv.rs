//! The CPU convolution kernel layer by layer: every convolution shape of resnet18-small on
//! 28-pixel images (the vision benchmark's network), batch 128, each of the three passes a
//! training step runs; then the forward pass of one 224×224 image through resnet18's
//! convolutions (what the model server runs for a request with batching off). Shows where a
//! step's time goes and what each path (Winograd, im2col) achieves, against one large matrix
//! product as the attainable peak. GFLOP/s count the direct convolution's multiply-adds, so
//! Winograd's (which does fewer) can exceed that peak.

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use kindling_core::nn::conv2d::{Conv2dGeometry, cpu};

use super::Row;

/// The best of three timed runs after one warm-up, in seconds.
fn best_of_three<R>(f: impl Fn() -> R) -> f64 {
    std::hint::black_box(f());
    (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// `n` values drawn uniformly from [-0.5, 0.5), seeded.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let device = Device::flex();
    device.seed(seed);
    Tensor::<1>::random([n], Distribution::Uniform(-0.5, 0.5), &device).into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// A `k×k` convolution of `c → o` channels on `hw×hw` images, padding `k / 2`.
fn conv(batch: usize, c: usize, hw: usize, o: usize, k: usize, stride: usize) -> Conv2dGeometry {
    Conv2dGeometry { batch, in_channels: c, in_size: [hw, hw], out_channels: o, kernel: [k, k], stride: [stride, stride], padding: [k / 2, k / 2], dilation: [1, 1] }
}

/// One row per (shape, pass) of resnet18-small on 28-pixel images, batch 128, then one per
/// shape of resnet18's forward pass on one 224×224 image ([`resnet18_one_image_rows`]).
pub fn resnet18_small_layers() -> Vec<Row> {
    let c = |ci, hw, o, k, s| conv(128, ci, hw, o, k, s);
    let layers = [
        (c(1, 28, 64, 3, 1), 1),
        (c(64, 28, 64, 3, 1), 4),
        (c(64, 28, 128, 3, 2), 1),
        (c(64, 28, 128, 1, 2), 1),
        (c(128, 14, 128, 3, 1), 3),
        (c(128, 14, 256, 3, 2), 1),
        (c(128, 14, 256, 1, 2), 1),
        (c(256, 7, 256, 3, 1), 3),
        (c(256, 7, 512, 3, 2), 1),
        (c(256, 7, 512, 1, 2), 1),
        (c(512, 4, 512, 3, 1), 3),
    ];
    let mut rows = layer_rows(128, &layers);
    rows.extend(resnet18_one_image_rows());
    rows
}

/// `conv C→O, k×k kernel, stride s, on h×w`.
fn shape_name(g: &Conv2dGeometry) -> String {
    format!("conv {}→{}, {}×{} kernel, stride {}, on {}×{}", g.in_channels, g.out_channels, g.kernel[0], g.kernel[1], g.stride[0], g.in_size[0], g.in_size[1])
}

/// The forward pass of one 224×224 image through each convolution of resnet18 (batch 1: where
/// one image's work is shared out between the threads), and through all of them: the part of
/// the model server's latency that the convolutions take.
fn resnet18_one_image_rows() -> Vec<Row> {
    let c = |ci, hw, o, k, s| conv(1, ci, hw, o, k, s);
    let layers = [
        (c(3, 224, 64, 7, 2), 1),
        (c(64, 56, 64, 3, 1), 4),
        (c(64, 56, 128, 3, 2), 1),
        (c(64, 56, 128, 1, 2), 1),
        (c(128, 28, 128, 3, 1), 3),
        (c(128, 28, 256, 3, 2), 1),
        (c(128, 28, 256, 1, 2), 1),
        (c(256, 14, 256, 3, 1), 3),
        (c(256, 14, 512, 3, 2), 1),
        (c(256, 14, 512, 1, 2), 1),
        (c(512, 7, 512, 3, 1), 3),
    ];
    let mut rows = Vec::new();
    let mut total = 0.0;
    for (g, count) in layers {
        let x = values(g.in_channels * g.in_size[0] * g.in_size[1], 1);
        let w = values(g.out_channels * g.in_channels * g.kernel[0] * g.kernel[1], 2);
        let secs = best_of_three(|| cpu::forward(&g, &x, &w));
        total += secs * count as f64;
        rows.push(Row {
            name: format!("{}: forward, one image", shape_name(&g)),
            data: format!("resnet18 on 224², batch 1, ×{count} an image"),
            metric: format!("{:.2} ms", secs * 1e3),
            secs,
            throughput: format!("{:.0} GFLOP/s", g.flops() / secs / 1e9),
            peer: None,
        });
    }
    rows.push(Row {
        name: "all convolutions of one 224² image through resnet18 (forward, the server's batch of one)".into(),
        data: "batch 1".into(),
        metric: format!("{:.1} ms", total * 1e3),
        secs: total,
        throughput: format!("{:.0} images/s", 1.0 / total),
        peer: None,
    });
    rows
}

/// One row per (shape, pass) of `unet_learner(dls, resnet18, n_out=11)` on 64-pixel images,
/// batch 32 (the segmentation benchmark's network): the encoder, the middle, each `UnetBlock`'s
/// pixel shuffle and two convolutions, and the 64×64 `ResBlock` after the last cross.
pub fn unet_resnet18_layers() -> Vec<Row> {
    layer_rows(32, &unet_resnet18_geometries(32))
}

/// The convolutions of `unet_learner(dls, resnet18, n_out=11)` on 64-pixel images at batch
/// `batch`, each with how many times one forward pass runs it.
pub fn unet_resnet18_geometries(batch: usize) -> Vec<(Conv2dGeometry, usize)> {
    let c = |ci, hw, o, k, s| conv(batch, ci, hw, o, k, s);
    vec![
        (c(3, 64, 64, 7, 2), 1),
        (c(64, 16, 64, 3, 1), 4),
        (c(64, 16, 128, 3, 2), 1),
        (c(64, 16, 128, 1, 2), 1),
        (c(128, 8, 128, 3, 1), 3),
        (c(128, 8, 256, 3, 2), 1),
        (c(128, 8, 256, 1, 2), 1),
        (c(256, 4, 256, 3, 1), 3),
        (c(256, 4, 512, 3, 2), 1),
        (c(256, 4, 512, 1, 2), 1),
        (c(512, 2, 512, 3, 1), 3),
        (c(512, 2, 1024, 3, 1), 1),
        (c(1024, 2, 512, 3, 1), 1),
        (c(512, 2, 1024, 1, 1), 1),
        (c(512, 4, 512, 3, 1), 2),
        (c(512, 4, 1024, 1, 1), 1),
        (c(384, 8, 384, 3, 1), 2),
        (c(384, 8, 768, 1, 1), 1),
        (c(256, 16, 256, 3, 1), 2),
        (c(256, 16, 512, 1, 1), 1),
        (c(192, 32, 96, 3, 1), 1),
        (c(96, 32, 96, 3, 1), 1),
        (c(96, 32, 384, 1, 1), 1),
        (c(99, 64, 99, 3, 1), 2),
        (c(99, 64, 11, 1, 1), 1),
    ]
}

/// The seconds all convolutions of one training step take (forward and both gradients), as
/// [`layer_rows`] sums them.
pub fn step_seconds(layers: &[(Conv2dGeometry, usize)]) -> f64 {
    layer_rows(layers[0].0.batch, layers).last().map_or(0.0, |r| r.secs)
}

/// Times the three passes of each `(shape, count a step)`; a last row sums one training step.
fn layer_rows(batch: usize, layers: &[(Conv2dGeometry, usize)]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut step = 0.0;
    for &(g, count) in layers {
        let [oh, ow] = g.out_size().expect("valid shapes");
        let x = values(g.batch * g.in_channels * g.in_size[0] * g.in_size[1], 1);
        let w = values(g.out_channels * g.in_channels * g.kernel[0] * g.kernel[1], 2);
        let dy = values(g.batch * g.out_channels * oh * ow, 3);
        let name = shape_name(&g);
        let passes: [(&str, f64); 3] = [
            ("forward", best_of_three(|| cpu::forward(&g, &x, &w))),
            ("input gradient", best_of_three(|| cpu::backward_input(&g, &w, &dy))),
            ("weight gradient", best_of_three(|| cpu::backward_weight(&g, &x, &dy))),
        ];
        for (pass, secs) in passes {
            step += secs * count as f64;
            rows.push(Row {
                name: format!("{name}: {pass}"),
                data: format!("batch {batch}, ×{count} a step"),
                metric: format!("{:.1} ms", secs * 1e3),
                secs,
                throughput: format!("{:.0} GFLOP/s", g.flops() / secs / 1e9),
                peer: None,
            });
        }
    }
    // The CPU's attainable peak, for scale: one large matrix product through the same kernels.
    let n: usize = 2048;
    let device = Device::flex();
    let (a, b) = (Tensor::<2>::random([n, n], Distribution::Uniform(-0.5, 0.5), &device), Tensor::<2>::random([n, n], Distribution::Uniform(-0.5, 0.5), &device));
    let secs = best_of_three(|| a.clone().matmul(b.clone()).into_data());
    rows.push(Row {
        name: format!("f32 matrix product {n}×{n}×{n} (the attainable peak, for scale)"),
        data: "burn flex, gemm crate".into(),
        metric: format!("{:.1} ms", secs * 1e3),
        secs,
        throughput: format!("{:.0} GFLOP/s", 2.0 * (n * n * n) as f64 / secs / 1e9),
        peer: None,
    });
    rows.push(Row {
        name: "all convolutions of one training step (forward + both gradients, stem's input gradient included)".into(),
        data: format!("batch {batch}"),
        metric: format!("{:.0} ms", step * 1e3),
        secs: step,
        throughput: format!("{:.0} images/s", batch as f64 / step),
        peer: None,
    });
    rows
}
