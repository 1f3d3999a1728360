//! The model server's single-image latency, without HTTP: one 224² photo (resized and encoded as
//! a PNG, as `cargo xtask bench serve` sends it) through a pretrained
//! resnet18 (torchvision's random-init fixture, 1000 classes), as `kindling-web serve` answers a
//! request with batching off — the PNG decoded, prepared (shorter side to 256, centre 224
//! square), normalised, the forward pass and the softmax — timed `N` times one after another.
//! Prints the median and the spread of each part, and the logits' first values and sum (to check
//! that a faster kernel left the numbers alone).
//!
//! ```text
//! cargo run --release -p kindling-vision --example one_image_latency -- [N [PHOTO [WEIGHTS]]]
//! ```
//!
//! Defaults: 30 calls, `../shared/data/photos/chelsea.png`,
//! `../shared/models/resnet18-torchvision-random/resnet18.pth`.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use burn::tensor::activation::softmax;
use kindling_core::data::Batcher;
use kindling_vision::data::ImageBatcher;
use kindling_vision::data::decode::{DecodeOptions, decode_bytes};
use kindling_vision::predict::VisionPredictor;

// The server's allocator, keeping freed memory as it does.
kindling_core::mimalloc_allocator!();

/// The median, the fastest and the slowest of `ms`, formatted.
fn spread(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!("median {:6.2} ms  (min {:6.2}, max {:6.2})", ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

fn main() -> kindling_core::Result<()> {
    keep_freed_memory();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(30).max(1);
    let photo = args.next().map(PathBuf::from).unwrap_or_else(|| root.join("data/photos/chelsea.png"));
    let weights = args.next().map(PathBuf::from).unwrap_or_else(|| root.join("models/resnet18-torchvision-random/resnet18.pth"));
    let device = Device::flex();
    let classes = (0..1000).map(|i| i.to_string()).collect();
    let p = VisionPredictor::from_pretrained("resnet18", &weights, classes, &device)?;
    // The photo as the server benchmark sends it: resized to 224×224, encoded as a PNG.
    let data = |e: image::ImageError| kindling_core::Error::Data(format!("{}: {e}", photo.display()));
    let img = image::open(&photo).map_err(data)?.resize_exact(224, 224, image::imageops::FilterType::Triangle).to_rgb8();
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).map_err(data)?;
    let batcher = ImageBatcher { normalize: p.pre.normalize.clone() };
    let opts = DecodeOptions { channels: p.pre.channels, ..DecodeOptions::default() };
    let (mut prep, mut fwd, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut logits = Vec::new();
    for i in 0..=n {
        let t0 = Instant::now();
        let img = decode_bytes(&png, opts).map_err(kindling_core::Error::Data)?;
        let batch = batcher.batch(vec![(p.pre.prepare(&img), 0)], &device)?;
        let t1 = Instant::now();
        let out = p.model().forward(batch.images);
        let probs = softmax(out.clone(), 1).into_data();
        let t2 = Instant::now();
        if i == 0 {
            // The first call warms up (allocations, thread pools) and is not timed.
            logits = out.into_data().try_to_vec::<f32>().unwrap_or_default();
            std::hint::black_box(probs);
            continue;
        }
        std::hint::black_box(probs);
        prep.push((t1 - t0).as_secs_f64() * 1e3);
        fwd.push((t2 - t1).as_secs_f64() * 1e3);
        total.push((t2 - t0).as_secs_f64() * 1e3);
    }
    println!("decode + prepare + normalise: {}", spread(prep));
    println!("forward + softmax:            {}", spread(fwd));
    println!("total:                        {}", spread(total));
    println!("logits[..5] = {:?}, sum = {:.6}", &logits[..5.min(logits.len())], logits.iter().map(|&v| f64::from(v)).sum::<f64>());
    Ok(())
}
