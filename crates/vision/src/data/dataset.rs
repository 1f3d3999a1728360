//! Labelled images as a dataset, decoded (and transformed) in the loader's worker threads.

use std::sync::Arc;

use burn::tensor::Device;
use kindling_core::data::{DataLoaders, Dataset, Pipeline, Splits, TransformContext};
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::batch::{ImageBatch, ImageBatcher, Normalize};
use super::decode::{DecodeOptions, Image, decode};
use super::resize::{ResizeMethod, resize};
use super::sources::{LabelledItems, Source};

/// Decodes item `i` of labelled items into `(image, class)`.
pub struct ImageDataset {
    items: Arc<LabelledItems>,
    decode: DecodeOptions,
}

impl ImageDataset {
    /// A dataset over `items`.
    pub fn new(items: Arc<LabelledItems>, decode: DecodeOptions) -> Self {
        Self { items, decode }
    }
}

/// The pixels of one source, with `channels` channels.
pub fn load(source: &Source, opts: DecodeOptions) -> Result<Image> {
    match source {
        Source::File(p) => decode(p, opts),
        Source::Idx(d, i) => {
            let side = d.images.dims[1];
            let grey = Image::from_grey_u8(d.image(*i), side, d.images.dims[2]);
            Ok(if opts.channels == 3 { Image { channels: 3, data: grey.data.repeat(3), ..grey } } else { grey })
        }
    }
}

impl Dataset for ImageDataset {
    type Item = (Image, usize);
    fn len(&self) -> usize {
        self.items.items.len()
    }
    fn get(&self, index: usize) -> Result<(Image, usize)> {
        let item = self.items.items.get(index).ok_or_else(|| Error::Item { index, message: "out of range".into() })?;
        Ok((load(&item.source, self.decode)?, self.items.class_of(index)))
    }
}

/// How images are prepared for the model; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Side of the square the model sees.
    pub size: usize,
    /// How images reach that size.
    pub method: ResizeMethod,
    /// Channels (1 grey, 3 RGB).
    pub channels: usize,
    /// Per-channel normalisation.
    pub normalize: Normalize,
}

impl Preprocessing {
    /// One image prepared as validation images are (a deterministic resize).
    pub fn prepare(&self, img: &Image) -> Image {
        let mut ctx = TransformContext::new(0, kindling_core::data::SplitKind::Valid, 0, 0);
        if img.height == self.size && img.width == self.size { img.clone() } else { resize(img, self.size, self.method, &mut ctx) }
    }
}

/// Labelled images with their split and preprocessing (fastai's `ImageDataLoaders` inputs).
pub struct VisionData {
    /// The items.
    pub items: Arc<LabelledItems>,
    /// The split.
    pub splits: Splits,
    /// Preprocessing.
    pub pre: Preprocessing,
    /// Random augmentation of training images (`None` for none).
    pub augment: Option<super::augment::AugTransforms>,
}

impl VisionData {
    /// Train and valid loaders; images are decoded and resized in worker threads.
    pub fn dataloaders(&self, bs: usize, seed: u64, device: &Device) -> Result<DataLoaders<(Image, usize), ImageBatch>> {
        let ds: Arc<dyn Dataset<Item = (Image, usize)>> =
            Arc::new(ImageDataset::new(self.items.clone(), DecodeOptions { channels: self.pre.channels, ..DecodeOptions::default() }));
        let batcher = Arc::new(ImageBatcher { normalize: self.pre.normalize.clone() });
        let (size, method, augment) = (self.pre.size, self.pre.method, self.augment.clone());
        let tfm = move |(img, y): (Image, usize), ctx: &mut TransformContext| {
            let img = if img.height == size && img.width == size { img } else { resize(&img, size, method, ctx) };
            Ok((match &augment { Some(a) => a.apply(&img, ctx), None => img }, y))
        };
        Ok(DataLoaders::from_splits(ds, &self.splits, batcher, bs, seed, device.clone())?.with_item_tfms(Pipeline::new().then(tfm)))
    }
}
