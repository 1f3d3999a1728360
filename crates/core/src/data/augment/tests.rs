//! Tests across the augmentation module: masks follow every geometric transform of their image
//! (the issue's "a mask drawn from the image's own pixels stays equal to the transformed
//! image's"), and the outputs are bit-identical to vision's before the pipeline moved to core.

use super::*;
use crate::data::image::{Image, Mask};
use crate::data::{SplitKind, TransformContext};

/// A 3-channel grey scene whose pixel values are class ids (`id / 255`, as an 8-bit grey PNG
/// of ids decodes): background 0, two rectangles and two discs of ids 1 to 4, placed by `seed`.
fn scene(h: usize, w: usize, seed: usize) -> Image {
    let mut ids = vec![0u8; h * w];
    let (fh, fw) = (h as f32, w as f32);
    let o = (seed % 5) as f32 / 10.0;
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f32 / fw, y as f32 / fh);
            let disc = |cx: f32, cy: f32, r: f32| (u - cx).powi(2) + (v - cy).powi(2) < r * r;
            ids[y * w + x] = if disc(0.7 - o * 0.5, 0.3 + o * 0.3, 0.18) {
                1
            } else if (0.1..0.45).contains(&u) && (0.55 - o * 0.3..0.9 - o * 0.3).contains(&v) {
                2
            } else if disc(0.75, 0.75, 0.12) {
                3
            } else if (0.05 + o..0.3 + o).contains(&u) && (0.05..0.3).contains(&v) {
                4
            } else {
                0
            };
        }
    }
    let grey = Image::from_grey_u8(&ids, h, w);
    Image { channels: 3, data: grey.data.repeat(3), ..grey }
}

/// The mask drawn from the image's own pixels.
fn mask_of(img: &Image) -> Mask {
    Mask { height: img.height, width: img.width, data: img.plane(0).iter().map(|v| (v * 255.0).round() as u8).collect() }
}

/// `img` (every channel) read back as class ids; `None` where a pixel is not within 1e-3 of an id.
fn ids_of(img: &Image) -> Vec<Option<u8>> {
    let hw = img.height * img.width;
    (0..hw)
        .map(|i| {
            let v = img.data[i] * 255.0;
            let all_same = (1..img.channels).all(|c| img.data[c * hw + i] == img.data[i]);
            (all_same && (v - v.round()).abs() < 1e-3).then(|| v.round() as u8)
        })
        .collect()
}

/// The image, sampled nearest as its mask is, equals the mask exactly.
fn assert_nearest_equal(nearest_img: &Image, mask: &Mask, what: &str) {
    assert_eq!((nearest_img.height, nearest_img.width), (mask.height, mask.width), "{what}");
    let ids: Vec<u8> = ids_of(nearest_img).into_iter().map(|v| v.unwrap_or_else(|| panic!("{what}: nearest sampling invented a value"))).collect();
    assert!(ids == mask.data, "{what}: the mask differs from its image in {} pixels", ids.iter().zip(&mask.data).filter(|(a, b)| a != b).count());
}

/// Where the bilinear image is a flat class (the pixel and its 8 neighbours all exactly one id:
/// the interior of a shape), the mask holds that id; returns how many pixels were checked.
fn assert_interior_agrees(img: &Image, mask: &Mask, what: &str) -> usize {
    let (h, w) = (img.height, img.width);
    let ids = ids_of(img);
    let mut checked = 0;
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let Some(k) = ids[y * w + x] else { continue };
            if (0..9).all(|n| ids[(y + n / 3 - 1) * w + x + n % 3 - 1] == Some(k)) {
                assert_eq!(mask.data[y * w + x], k, "{what}: at ({x}, {y}) the image is class {k} all around");
                checked += 1;
            }
        }
    }
    assert!(checked * 5 > h * w, "{what}: only {checked} of {} pixels lie inside flat regions", h * w);
    checked
}

fn ctx(seed: u64) -> TransformContext {
    TransformContext::new(seed, SplitKind::Train, 1, seed as usize)
}

/// Each geometric part of `aug_transforms` alone, then all of them (with lighting on), over
/// several seeds: the mask stays equal to the image sampled the same way, and agrees with the
/// bilinear image wherever that one is a flat class.
#[test]
fn masks_follow_every_augmentation_through_the_same_map() {
    let off = AugTransforms { p_affine: 1.0, p_lighting: 1.0, ..AugTransforms::none() };
    let kinds = [
        ("flip", AugTransforms { do_flip: true, ..off.clone() }),
        ("vertical flip", AugTransforms { flip_vert: true, ..off.clone() }),
        ("rotate", AugTransforms { max_rotate: 30.0, ..off.clone() }),
        ("zoom", AugTransforms { max_zoom: 1.6, ..off.clone() }),
        ("warp", AugTransforms { max_warp: 0.4, ..off.clone() }),
        ("all", AugTransforms { do_flip: true, flip_vert: true, max_rotate: 30.0, max_zoom: 1.6, max_warp: 0.4, max_lighting: 0.3, ..off.clone() }),
        ("fastai's defaults", AugTransforms::default()),
    ];
    for (what, aug) in kinds {
        let mut moved = 0;
        for seed in 0..8u64 {
            let img = scene(40, 56, seed as usize);
            let mask = mask_of(&img);
            let (out_img, out_mask) = aug.apply_with_mask(&img, &mask, &mut ctx(seed)).unwrap();
            let p = aug.sample(&mut ctx(seed));
            assert_eq!(out_img, p.apply_image(&img), "{what}: the image is augmented as it is without a mask");
            assert_eq!(out_img, aug.apply(&img, &mut ctx(seed)), "{what}: as vision augments it");
            let what = format!("{what}, seed {seed}");
            assert_nearest_equal(&CoordMap::new(&p.matrix, img.height, img.width).image(&img, Interpolation::Nearest).unwrap(), &out_mask, &what);
            let unlit = AugParams { lighting: Lighting::NONE, ..p };
            assert_interior_agrees(&unlit.apply_image(&img), &out_mask, &what);
            moved += usize::from(out_mask != mask);
        }
        assert!(moved >= 2, "{what}: only {moved} of 8 seeds moved the mask");
    }
}

/// Every `Resize` method (random crops on train, centred on valid) and `RandomResizedCrop`,
/// shrinking and growing a non-square scene: the mask follows the image's window.
#[test]
fn masks_follow_every_crop_and_resize() {
    for (h, w, size) in [(48, 72, 32), (30, 20, 44)] {
        for seed in 0..4u64 {
            let img = scene(h, w, seed as usize);
            let mask = mask_of(&img);
            for split in [SplitKind::Train, SplitKind::Valid] {
                let c = || TransformContext::new(seed, split, 0, seed as usize);
                for method in [ResizeMethod::Squish, ResizeMethod::Crop, ResizeMethod::Pad, ResizeMethod::ResizeCrop] {
                    let what = format!("{method:?} {h}×{w} to {size}, seed {seed}, {split}");
                    let (out_img, out_mask) = resize_with_mask(&img, &mask, size, method, &mut c()).unwrap();
                    assert_eq!(out_img, resize(&img, size, method, &mut c()), "{what}: the image is resized as it is without a mask");
                    let plan = ResizePlan::resize(h, w, size, method, &mut c());
                    assert_nearest_equal(&plan.image(&img, Interpolation::Nearest), &out_mask, &what);
                    assert_interior_agrees(&out_img, &out_mask, &what);
                }
                let rrc = RandomResizedCrop::new(size);
                let (out_img, out_mask) = rrc.apply_with_mask(&img, &mask, &mut c()).unwrap();
                assert_eq!(out_img, rrc.apply(&img, &mut c()));
                let what = format!("RandomResizedCrop {h}×{w} to {size}, seed {seed}, {split}");
                assert_nearest_equal(&rrc.plan(h, w, &mut c()).image(&img, Interpolation::Nearest), &out_mask, &what);
                assert_interior_agrees(&out_img, &out_mask, &what);
            }
        }
    }
}

/// A segmentation item's whole training path, a random crop and then every augmentation,
/// keeps the mask on its image.
#[test]
fn masks_follow_a_crop_then_augmentation() {
    let aug = AugTransforms { flip_vert: true, max_rotate: 30.0, max_zoom: 1.6, max_warp: 0.4, p_affine: 1.0, max_lighting: 0.0, ..AugTransforms::default() };
    for seed in 0..6u64 {
        let img = scene(50, 70, seed as usize);
        let (img, mask) = resize_with_mask(&img, &mask_of(&img), 40, ResizeMethod::Crop, &mut ctx(seed)).unwrap();
        let (out_img, out_mask) = aug.apply_with_mask(&img, &mask, &mut ctx(seed + 100)).unwrap();
        assert_interior_agrees(&out_img, &out_mask, &format!("crop then augment, seed {seed}"));
    }
}

/// FNV-1a over the bits of every value.
fn checksum(data: &[f32]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in data.iter().flat_map(|v| v.to_bits().to_le_bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn test_image(c: usize, h: usize, w: usize) -> Image {
    Image { channels: c, height: h, width: w, data: (0..c * h * w).map(|i| ((i * 7919 + (i / w) * 31) % 1009) as f32 / 1008.0).collect() }
}

/// Checksums of augmented and resized images taken from vision's implementation before it
/// moved into core (same seeds, same images): the move changed no bit of vision's inputs.
#[test]
fn outputs_are_bit_identical_to_visions_before_the_move() {
    let img = test_image(3, 23, 31);
    let strong = AugTransforms { flip_vert: true, max_rotate: 30.0, max_zoom: 1.5, max_warp: 0.4, p_affine: 1.0, p_lighting: 1.0, ..AugTransforms::default() };
    let sums = |aug: &AugTransforms| -> Vec<u64> {
        (0..6u64).map(|s| checksum(&aug.apply(&img, &mut TransformContext::new(s, SplitKind::Train, s as usize % 3, s as usize)).data)).collect()
    };
    assert_eq!(sums(&AugTransforms::default()), [4468122458348637732, 15043340912020822064, 2389750684632836023, 17084647790893259478, 12510326198790915264, 2311477316739374266]);
    assert_eq!(sums(&strong), [822451870548602584, 8170723082772145772, 2266576098198900438, 438738444257006786, 10016734123377909344, 3016792803790107969]);
    let big = test_image(3, 40, 57);
    let expected: [(ResizeMethod, [u64; 2]); 4] = [
        (ResizeMethod::Squish, [12131383437905168545, 12131383437905168545]),
        (ResizeMethod::Crop, [2871769347806659996, 15141799922132223925]),
        (ResizeMethod::Pad, [13548296680878813515, 13548296680878813515]),
        (ResizeMethod::ResizeCrop, [9678826100366472860, 9678826100366472860]),
    ];
    for (method, want) in expected {
        let got: Vec<u64> = [SplitKind::Train, SplitKind::Valid].iter().map(|&k| checksum(&resize(&big, 24, method, &mut TransformContext::new(4, k, 1, 2)).data)).collect();
        assert_eq!(got, want, "{method:?}");
    }
    let rrc: Vec<u64> = (0..4u64)
        .map(|s| checksum(&RandomResizedCrop::new(20).apply(&big, &mut TransformContext::new(s, if s == 3 { SplitKind::Valid } else { SplitKind::Train }, 0, 1)).data))
        .collect();
    assert_eq!(rrc, [8831650030074045792, 17604834666257222473, 13850737407403290672, 14872825766583496711]);
}
