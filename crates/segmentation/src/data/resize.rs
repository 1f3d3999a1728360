//! Bringing an image and its mask to the model's size together, with core's resizing: the
//! image with PIL's bilinear resampling, the mask with nearest-neighbour sampling over the same
//! window, so that no class id is ever invented between two others.

use kindling_core::data::augment::{Interpolation, ResizePlan, resample_mask};
use kindling_vision::data::decode::Image;

use super::mask::Mask;

/// `img` stretched to `out_h × out_w` (fastai's `Resize(method='squish')`); unchanged when it
/// already has that size.
pub fn resize_image(img: &Image, [out_h, out_w]: [usize; 2]) -> Image {
    if (img.height, img.width) == (out_h, out_w) {
        return img.clone();
    }
    ResizePlan::stretch(img.height, img.width, out_h, out_w).image(img, Interpolation::Bilinear)
}

/// `mask` stretched to `out_h × out_w` with nearest-neighbour sampling, as PIL's `NEAREST`:
/// output pixel `o` reads source pixel `floor((o + 0.5) · in / out)`.
///
/// ```
/// use kindling_segmentation::data::{Mask, resize::resize_mask};
/// let m = Mask { height: 1, width: 2, data: vec![3, 7] };
/// assert_eq!(resize_mask(&m, [2, 4]).data, vec![3, 3, 7, 7, 3, 3, 7, 7]);
/// ```
pub fn resize_mask(mask: &Mask, [out_h, out_w]: [usize; 2]) -> Mask {
    if (mask.height, mask.width) == (out_h, out_w) {
        return mask.clone();
    }
    resample_mask(mask, (0.0, 0.0, mask.height as f32, mask.width as f32), out_h, out_w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_shrinks_and_grows_without_new_ids() {
        let m = Mask { height: 4, width: 4, data: (0..16).map(|i| (i % 3) as u8).collect() };
        let small = resize_mask(&m, [2, 2]);
        assert_eq!(small.data, vec![m.data[4 + 1], m.data[4 + 3], m.data[12 + 1], m.data[12 + 3]]);
        let big = resize_mask(&m, [7, 5]);
        assert!(big.data.iter().all(|v| *v < 3));
        assert_eq!(resize_mask(&m, [4, 4]), m);
        let img = Image { channels: 1, height: 4, width: 4, data: vec![0.5; 16] };
        let r = resize_image(&img, [2, 3]);
        assert_eq!((r.height, r.width), (2, 3));
        assert!(r.data.iter().all(|v| (v - 0.5).abs() < 1e-6));
    }
}
