//! Image/mask pairs as a dataset (decoded in the loader's worker threads), their preprocessing
//! (stored in exported models), and fastai's `SegmentationDataLoaders` built from a layout.

use std::sync::Arc;

use burn::tensor::Device;
use kindling_core::data::augment::AugTransforms;
use kindling_core::data::{DataLoaders, Dataset, Pipeline, Splits, TransformContext};
use kindling_core::export::SplitRecord;
use kindling_core::{Error, Result};
use kindling_vision::data::decode::{DecodeOptions, decode};
use kindling_vision::data::{Image, Normalize};
use serde::{Deserialize, Serialize};

use super::batch::{SegBatch, SegBatcher};
use super::check::{check_ids, check_items};
use super::codes::Codes;
use super::mask::{Mask, read_mask};
use super::resize::{resize_image, resize_mask};
use super::sources::{MaskLayout, SegItem, SplitChoice};

/// How images and masks are prepared for the model; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegPreprocessing {
    /// `[height, width]` the model sees (fastai's `img_size`); images of another size are
    /// resized to it (squished), and predicted masks resized back.
    pub size: [usize; 2],
    /// Channels (1 grey, 3 RGB; fastai reads every image as RGB).
    pub channels: usize,
    /// Per-channel normalisation (none from scratch, as fastai's `unet_learner` with
    /// `pretrained=False`; ImageNet's statistics for a pretrained encoder).
    pub normalize: Normalize,
    /// The class the loss and metrics ignore.
    pub void: Option<usize>,
    /// Masks were read as 0 / not 0 (`--binary-masks`).
    pub binary: bool,
}

impl SegPreprocessing {
    /// No normalisation: pixels in `[0, 1]`, as fastai feeds a from-scratch U-Net.
    pub fn identity_normalize(channels: usize) -> Normalize {
        Normalize { mean: vec![0.0; channels], std: vec![1.0; channels] }
    }

    /// The image at `path`, decoded with the model's channels.
    pub fn load_image(&self, path: &std::path::Path) -> Result<Image> {
        decode(path, DecodeOptions { channels: self.channels, ..DecodeOptions::default() })
    }
}

/// Decodes item `i` into `(image, mask)`.
pub struct SegDataset {
    items: Arc<Vec<SegItem>>,
    channels: usize,
    binary: bool,
}

impl SegDataset {
    /// A dataset over `items`, decoding images with `channels` channels; with `binary`, every
    /// non-zero mask id reads as 1.
    pub fn new(items: Arc<Vec<SegItem>>, channels: usize, binary: bool) -> Self {
        Self { items, channels, binary }
    }
}

impl Dataset for SegDataset {
    type Item = (Image, Mask);
    fn len(&self) -> usize {
        self.items.len()
    }
    fn get(&self, index: usize) -> Result<(Image, Mask)> {
        let item = self.items.get(index).ok_or_else(|| Error::Item { index, message: "out of range".into() })?;
        let img = decode(&item.image, DecodeOptions { channels: self.channels, ..DecodeOptions::default() })?;
        let mask = read_mask(&item.mask)?;
        if (mask.height, mask.width) != (img.height, img.width) {
            return Err(Error::bad_file(&item.mask, format!("the mask is {}×{} pixels but its image is {}×{}", mask.width, mask.height, img.width, img.height)));
        }
        Ok((img, if self.binary { mask.binarized() } else { mask }))
    }
}

/// What [`SegData::load`] needs besides the layout.
#[derive(Clone, Debug)]
pub struct SegDataOptions {
    /// Class names (`None`: `0` … the largest id found in the masks).
    pub codes: Option<Codes>,
    /// Where the codes came from, for messages (`codes.txt`).
    pub codes_origin: String,
    /// The void class, by name or id.
    pub void: Option<String>,
    /// Square side to resize to (`None`: keep the images' common size).
    pub size: Option<usize>,
    /// Channels to decode images with.
    pub channels: usize,
    /// Read masks as 0 / not 0.
    pub binary: bool,
    /// The split.
    pub split: SplitChoice,
    /// Train on the first N training items only.
    pub limit_train: Option<usize>,
    /// Validate on the first N validation items only.
    pub limit_valid: Option<usize>,
}

/// Checked image/mask pairs with their codes, split and preprocessing (fastai's
/// `SegmentationDataLoaders` inputs).
pub struct SegData {
    /// The pairs.
    pub items: Arc<Vec<SegItem>>,
    /// Class names and the void class.
    pub codes: Codes,
    /// The split.
    pub splits: Splits,
    /// What made the split, in words.
    pub split_method: String,
    /// Preprocessing.
    pub pre: SegPreprocessing,
    /// Random augmentation of training pairs after resizing (fastai's `aug_transforms`; the
    /// mask follows every geometric change, nearest-sampled, and never changes its ids).
    /// [`SegData::load`] sets fastai's defaults, `aug_transforms()`; `None` trains without
    /// augmentation (the benchmark's setting, `--no-aug`).
    pub augment: Option<AugTransforms>,
}

impl SegData {
    /// The pairs of `layout`, every one checked (readable, mask and image the same size, ids
    /// inside the codes) before anything trains, split and sized.
    pub fn load(layout: &MaskLayout, opts: &SegDataOptions) -> Result<Self> {
        let items = layout.items()?;
        let report = check_items(&items, opts.channels, opts.binary)?;
        let codes = match &opts.codes {
            Some(c) => c.clone(),
            None if opts.binary => Codes::new(vec!["background".into(), "foreground".into()])?,
            None => Codes::numbered(report.max_id() as usize + 1)?,
        };
        check_ids(&items, &report, &codes, &opts.codes_origin)?;
        let codes = codes.with_void(opts.void.as_deref())?;
        let size = match (opts.size, report.common_size()) {
            (Some(0), _) => return Err(Error::invalid("--size", "must be at least 1")),
            (Some(s), _) => [s, s],
            (None, Some(s)) => s,
            (None, None) => {
                let (a, b) = (&items[0], report.sizes.iter().position(|s| *s != report.sizes[0]).expect("sizes differ"));
                return Err(Error::invalid(
                    "--size",
                    format!(
                        "the images have different sizes ({} is {}×{}, {} is {}×{}): give --size N to resize them all to N×N",
                        a.image.display(),
                        report.sizes[0][1],
                        report.sizes[0][0],
                        items[b].image.display(),
                        report.sizes[b][1],
                        report.sizes[b][0]
                    ),
                ));
            }
        };
        let (splits, split_method) = opts.split.split(&items)?;
        let cap = |v: &[usize], n: Option<usize>| v[..n.unwrap_or(v.len()).min(v.len())].to_vec();
        let splits = if opts.limit_train.is_some() || opts.limit_valid.is_some() {
            Splits::new(items.len(), cap(&splits.train, opts.limit_train), cap(&splits.valid, opts.limit_valid), vec![], true)?
        } else {
            splits
        };
        let pre = SegPreprocessing { size, channels: opts.channels, normalize: SegPreprocessing::identity_normalize(opts.channels), void: codes.void, binary: opts.binary };
        Ok(Self { items: Arc::new(items), codes, splits, split_method, pre, augment: Some(AugTransforms::default()) })
    }

    /// The record of the split for the model file (keys: image file names).
    pub fn split_record(&self, seed: u64) -> SplitRecord {
        SplitRecord::new(&self.split_method, seed, &self.splits, |i| self.items[i].name())
    }

    /// The same data with `augment` as its training augmentation (`None`: none).
    pub fn with_augment(mut self, augment: Option<AugTransforms>) -> Self {
        self.augment = augment;
        self
    }

    /// Train and valid loaders; pairs are decoded, resized and (training pairs, when
    /// [`SegData::augment`] is set) augmented in worker threads, seeded per item and epoch.
    pub fn dataloaders(&self, bs: usize, seed: u64, device: &Device) -> Result<DataLoaders<(Image, Mask), SegBatch>> {
        let ds: Arc<dyn Dataset<Item = (Image, Mask)>> = Arc::new(SegDataset::new(self.items.clone(), self.pre.channels, self.pre.binary));
        let batcher = Arc::new(SegBatcher { normalize: self.pre.normalize.clone() });
        let (size, augment) = (self.pre.size, self.augment.clone());
        let tfm = move |(img, mask): (Image, Mask), ctx: &mut TransformContext| {
            let (img, mask) = (resize_image(&img, size), resize_mask(&mask, size));
            match &augment {
                Some(a) => a.apply_with_mask(&img, &mask, ctx),
                None => Ok((img, mask)),
            }
        };
        Ok(DataLoaders::from_splits(ds, &self.splits, batcher, bs, seed, device.clone())?.with_item_tfms(Pipeline::new().then(tfm)))
    }
}
