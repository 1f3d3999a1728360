//! Raw throughput of a backend: a matrix product and a convolution's forward and backward pass,
//! for choosing and tuning CPU backends (`cargo xtask bench backends`).

use std::time::Instant;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};

/// Timings of one backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackendTimings {
    /// Milliseconds for a 1024×1024 f32 matrix product.
    pub matmul_ms: f64,
    /// Its GFLOP/s.
    pub matmul_gflops: f64,
    /// Milliseconds for a 3→32 channel 3×3 convolution on 32×3×64×64, forward and backward.
    pub conv_ms: f64,
    /// Its GFLOP/s (backward counted as twice the forward).
    pub conv_gflops: f64,
}

/// Measures `device` (after a warm-up run of each operation).
pub fn measure(device: &Device) -> BackendTimings {
    device.seed(0);
    let n = 1024;
    let a = Tensor::<2>::random([n, n], Distribution::Default, device);
    let b = Tensor::<2>::random([n, n], Distribution::Default, device);
    let _ = a.clone().matmul(b.clone()).into_data();
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = a.clone().matmul(b.clone()).into_data();
    }
    let matmul = t.elapsed().as_secs_f64() / reps as f64;
    let ad = device.clone().autodiff();
    let conv = Conv2dConfig::new([3, 32], [3, 3]).with_padding(PaddingConfig2d::Same).init(&ad);
    let x = Tensor::<4>::random([32, 3, 64, 64], Distribution::Default, &ad);
    let step = || {
        let _ = conv.forward(x.clone()).sum().backward();
    };
    step();
    let reps = 5;
    let t = Instant::now();
    for _ in 0..reps {
        step();
    }
    let conv_s = t.elapsed().as_secs_f64() / reps as f64;
    let conv_flops = 3.0 * 2.0 * 32.0 * 32.0 * 64.0 * 64.0 * 3.0 * 9.0;
    BackendTimings {
        matmul_ms: matmul * 1e3,
        matmul_gflops: 2.0 * (n as f64).powi(3) / matmul / 1e9,
        conv_ms: conv_s * 1e3,
        conv_gflops: conv_flops / conv_s / 1e9,
    }
}
