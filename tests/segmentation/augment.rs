//! Masks follow their images through every augmentation: segmentation's own data pipeline
//! (decode, resize, augment, batch) on scenes whose images are drawn from their masks, so
//! that wherever an augmented image shows one class all around a pixel, its mask must say so.

use burn::tensor::{Device, Tensor};
use kindling_core::data::augment::AugTransforms;
use kindling_core::data::{DataLoader, Image};
use kindling_segmentation::data::mask::{Mask, write_mask};
use kindling_segmentation::data::{MaskLayout, SegBatch, SegData, SegDataOptions, SplitChoice};

/// Grey level of class `k` in the images.
const LEVEL: u8 = 50;

/// A `h × w` mask with ids 0 to 4: two rectangles and two discs placed by `k`.
fn scene_mask(k: usize, h: usize, w: usize) -> Mask {
    let o = (k % 4) as f32 * 0.1;
    let data = (0..h * w)
        .map(|i| {
            let (u, v) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
            let disc = |cx: f32, cy: f32, r: f32| (u - cx).powi(2) + (v - cy).powi(2) < r * r;
            match () {
                _ if disc(0.65 - o, 0.3 + o, 0.2) => 1,
                _ if (0.05..0.4).contains(&u) && (0.55 - o..0.95 - o).contains(&v) => 2,
                _ if disc(0.78, 0.75, 0.15) => 3,
                _ if (0.1 + o..0.35 + o).contains(&u) && (0.05..0.3).contains(&v) => 4,
                _ => 0,
            }
        })
        .collect();
    Mask { height: h, width: w, data }
}

/// A CamVid-layout set of 12 training and 4 validation 48×64 scenes whose grey images are
/// their masks' ids times [`LEVEL`].
fn drawn_scenes(name: &str) -> SegData {
    let root = super::tmp(name);
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("labels")).unwrap();
    for k in 0..16 {
        let mask = scene_mask(k, 48, 64);
        let grey = image::GrayImage::from_raw(64, 48, mask.data.iter().map(|id| id * LEVEL).collect()).unwrap();
        grey.save(root.join(format!("images/s{k:02}.png"))).unwrap();
        write_mask(&root.join(format!("labels/s{k:02}_P.png")), &mask).unwrap();
    }
    std::fs::write(root.join("valid.txt"), "s12.png\ns13.png\ns14.png\ns15.png\n").unwrap();
    let opts = SegDataOptions {
        codes: None,
        codes_origin: "the masks".into(),
        void: None,
        size: Some(40),
        channels: 3,
        binary: false,
        split: SplitChoice::ValidList(root.join("valid.txt")),
        limit_train: None,
        limit_valid: None,
    };
    SegData::load(&MaskLayout::camvid(&root), &opts).unwrap()
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

/// Every batch of `loader` in `epoch`, as (pixels, class ids) on the host.
fn host_batches(loader: &DataLoader<(Image, Mask), SegBatch>, epoch: usize) -> Vec<(Vec<f32>, Vec<i64>)> {
    loader
        .iter(epoch)
        .map(|b| {
            let b = b.unwrap();
            (floats(b.images), b.masks.into_data().convert::<i64>().try_into_vec::<i64>().unwrap())
        })
        .collect()
}

/// For each `h × w` item of a batch: the pixels whose image shows one class in every channel
/// at them and their eight neighbours (the inside of a shape), and how many of those the mask
/// labels otherwise.
fn inside_and_wrong(pixels: &[f32], ids: &[i64], (h, w): (usize, usize)) -> (usize, usize) {
    let class_at = |item: usize, y: usize, x: usize| -> Option<i64> {
        let vals: Vec<f32> = (0..3).map(|c| pixels[((item * 3 + c) * h + y) * w + x] * 255.0 / LEVEL as f32).collect();
        let k = vals[0].round();
        vals.iter().all(|v| (v - k).abs() < 1e-3).then_some(k as i64)
    };
    let (mut inside, mut wrong) = (0, 0);
    for item in 0..ids.len() / (h * w) {
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let Some(k) = class_at(item, y, x) else { continue };
                let flat = (y - 1..=y + 1).all(|yy| (x - 1..=x + 1).all(|xx| class_at(item, yy, xx) == Some(k)));
                if flat {
                    inside += 1;
                    wrong += usize::from(ids[item * h * w + y * w + x] != k);
                }
            }
        }
    }
    (inside, wrong)
}

/// Strong flips, rotations, zooms and warps (no lighting, so image levels stay class levels)
/// on segmentation's training loader, over two epochs: inside every shape the mask holds the
/// image's class; the augmentation did move the training pairs; validation pairs are the
/// un-augmented ones.
#[test]
fn training_masks_follow_their_augmented_images_and_validation_is_untouched() {
    let geometric = AugTransforms { flip_vert: true, max_rotate: 30.0, max_zoom: 1.5, max_warp: 0.3, p_affine: 1.0, max_lighting: 0.0, ..AugTransforms::default() };
    let data = drawn_scenes("augment-follow").with_augment(Some(geometric));
    let device = Device::flex();
    let dls = data.dataloaders(4, 7, &device).unwrap();
    let plain = drawn_scenes("augment-plain").with_augment(None).dataloaders(4, 7, &device).unwrap();
    for epoch in 0..2 {
        let (aug, none) = (host_batches(&dls.train, epoch), host_batches(&plain.train, epoch));
        assert_eq!(aug.len(), 3, "12 training pairs in batches of 4");
        for ((pixels, ids), (_, plain_ids)) in aug.iter().zip(&none) {
            assert_eq!(ids.len(), 4 * 40 * 40);
            let (inside, wrong) = inside_and_wrong(pixels, ids, (40, 40));
            assert!(inside * 4 > ids.len(), "epoch {epoch}: only {inside} pixels lie inside shapes");
            assert_eq!(wrong, 0, "epoch {epoch}: {wrong} of {inside} pixels inside shapes have another class in the mask");
            assert_ne!(ids, plain_ids, "epoch {epoch}: the augmentation moved the masks");
        }
    }
    assert_eq!(host_batches(&dls.valid, 0), host_batches(&plain.valid, 0), "validation pairs are never augmented");
}

/// `SegData::load` turns on fastai's `aug_transforms()` defaults; they are seeded (the same
/// seed gives the same batches, another epoch other ones) and `with_augment(None)` turns them
/// off.
#[test]
fn fastais_augmentation_is_the_default_and_it_is_seeded() {
    let data = drawn_scenes("augment-default");
    assert_eq!(data.augment, Some(AugTransforms::default()));
    let device = Device::flex();
    let batches = |seed, epoch| host_batches(&data.dataloaders(4, seed, &device).unwrap().train, epoch);
    assert_eq!(batches(3, 0), batches(3, 0));
    assert_ne!(batches(3, 0), batches(3, 1));
    for (_, ids) in batches(3, 1) {
        assert!(ids.iter().all(|&k| (0..5).contains(&k)), "nearest sampling keeps every id a class of the codes");
    }
    let data = data.with_augment(None);
    assert_eq!(data.augment, None);
}
