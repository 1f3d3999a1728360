//! Decoded pixels as the data pipeline carries them: an [`Image`] of float channels, and a
//! segmentation [`Mask`] of 8-bit class ids. Decoding files into them is the task crates' work
//! (vision decodes images, segmentation masks); [`augment`](super::augment) transforms both.

use crate::error::{Error, Result};

/// A decoded image: `channels × height × width` floats in `[0, 1]`, channel-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Pixels, `[c][y][x]`.
    pub data: Vec<f32>,
}

impl Image {
    /// An image from 8-bit grey pixels (`height × width`, row-major).
    ///
    /// ```
    /// use kindling_core::data::Image;
    /// let img = Image::from_grey_u8(&[0, 255], 1, 2);
    /// assert_eq!((img.channels, img.data), (1, vec![0.0, 1.0]));
    /// ```
    pub fn from_grey_u8(pixels: &[u8], height: usize, width: usize) -> Self {
        Self { channels: 1, height, width, data: pixels.iter().map(|&p| p as f32 / 255.0).collect() }
    }

    /// Channel `c` as a `height × width` row-major plane (empty when `c` is out of range).
    pub fn plane(&self, c: usize) -> &[f32] {
        let hw = self.height * self.width;
        self.data.get(c * hw..(c + 1) * hw).unwrap_or(&[])
    }
}

/// A segmentation mask: one 8-bit class id per pixel, `height × width`, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Class ids, row-major.
    pub data: Vec<u8>,
}

impl Mask {
    /// The largest id in the mask (0 for an empty one).
    pub fn max_id(&self) -> u8 {
        self.data.iter().copied().max().unwrap_or(0)
    }

    /// The mask with every non-zero id turned into 1 (masks saved as 0/255 for a binary task).
    pub fn binarized(mut self) -> Self {
        self.data.iter_mut().for_each(|v| *v = u8::from(*v != 0));
        self
    }

    /// An error unless the mask has `img`'s height and width and holds one id per pixel: a
    /// mask must cover its image pixel for pixel to follow it through a transform.
    pub fn check_matches(&self, img: &Image) -> Result<()> {
        if (self.height, self.width) != (img.height, img.width) || self.data.len() != self.height * self.width {
            return Err(Error::Data(format!(
                "the mask is {}×{} pixels ({} ids) but its image is {}×{}: a mask must have its image's size",
                self.width,
                self.height,
                self.data.len(),
                img.width,
                img.height
            )));
        }
        Ok(())
    }
}
