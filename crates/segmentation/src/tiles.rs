//! One large image and its mask (a microscopy slide, an aerial photo) cut into square tiles in
//! the same-stem layout, with the validation tiles spatially apart from the training ones: the
//! columns of tiles left of a gap column train, those right of it validate, and the gap column
//! itself is left out, so that no object is cut between the two sides (tiles next to each
//! other share objects, and a random split of them would leak).

use std::path::{Path, PathBuf};

use image::{DynamicImage, GenericImageView};
use kindling_core::{Error, Result};

use crate::data::Mask;
use crate::data::mask::{read_mask, write_mask};

/// What [`tile_pair`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tiles {
    /// `images/`: the image tiles, `rRcC.png` for row R and column C.
    pub images: PathBuf,
    /// `masks/`: the mask tiles, named as their images.
    pub masks: PathBuf,
    /// `valid.txt`: the validation tiles' names, one a line.
    pub valid_list: PathBuf,
    /// Training tiles.
    pub n_train: usize,
    /// Validation tiles.
    pub n_valid: usize,
}

/// Cuts `image` and `mask` (same size; a partial last row or column of tiles is dropped) into
/// `tile × tile` pieces under `out`: columns of tiles left of the one at two thirds of the
/// width train, those right of it validate, that column is left out.
///
/// ```no_run
/// let t = kindling_segmentation::tiles::tile_pair("slide.png".as_ref(), "slide_mask.png".as_ref(), 64, "tiles".as_ref())?;
/// println!("{} training and {} validation tiles in {}", t.n_train, t.n_valid, t.images.display());
/// # Ok::<(), kindling_core::Error>(())
/// ```
pub fn tile_pair(image: &Path, mask: &Path, tile: u32, out: &Path) -> Result<Tiles> {
    let img = image::open(image).map_err(|e| Error::bad_file(image, e.to_string()))?;
    let m = read_mask(mask)?;
    let (w, h) = img.dimensions();
    if (w as usize, h as usize) != (m.width, m.height) {
        return Err(Error::bad_file(mask, format!("the mask is {}×{} but its image {} is {w}×{h}", m.width, m.height, image.display())));
    }
    let (cols, rows) = (w / tile.max(1), h / tile.max(1));
    if tile == 0 || cols < 3 || rows < 1 {
        return Err(Error::invalid("tile", format!("{tile}-pixel tiles of a {w}×{h} image: at least three columns of tiles are needed (train, gap, valid)")));
    }
    let gap = cols * 2 / 3;
    let tiles = Tiles { images: out.join("images"), masks: out.join("masks"), valid_list: out.join("valid.txt"), n_train: 0, n_valid: 0 };
    for dir in [&tiles.images, &tiles.masks] {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut valid = Vec::new();
    let mut n_train = 0;
    for r in 0..rows {
        for c in (0..cols).filter(|&c| c != gap) {
            let name = format!("r{r}c{c}.png");
            write_png(&tiles.images.join(&name), &img.crop_imm(c * tile, r * tile, tile, tile))?;
            write_mask(&tiles.masks.join(&name), &crop_mask(&m, [c as usize, r as usize], tile as usize))?;
            if c > gap {
                valid.push(name);
            } else {
                n_train += 1;
            }
        }
    }
    kindling_core::io::write_atomic(&tiles.valid_list, valid.join("\n").as_bytes())?;
    Ok(Tiles { n_train, n_valid: valid.len(), ..tiles })
}

/// The `tile × tile` square of `m` at column and row of tiles `[c, r]`.
fn crop_mask(m: &Mask, [c, r]: [usize; 2], tile: usize) -> Mask {
    let data = (r * tile..(r + 1) * tile).flat_map(|y| m.data[y * m.width + c * tile..y * m.width + (c + 1) * tile].iter().copied()).collect();
    Mask { width: tile, height: tile, data }
}

/// `img` as a PNG at `path`, written atomically.
fn write_png(path: &Path, img: &DynamicImage) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).map_err(|e| Error::bad_file(path, e.to_string()))?;
    kindling_core::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kindling-tiles-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn tiles_are_split_by_column_with_a_gap() {
        let d = tmp("split");
        // 10×5 image, tiles of 2: 5 columns (gap at 3), 2 rows; pixel value = x.
        let img = image::GrayImage::from_fn(10, 5, |x, _| image::Luma([x as u8]));
        img.save(d.join("img.png")).unwrap();
        let mask = Mask { width: 10, height: 5, data: (0..50).map(|i| (i % 10 / 2) as u8).collect() };
        write_mask(&d.join("mask.png"), &mask).unwrap();
        let t = tile_pair(&d.join("img.png"), &d.join("mask.png"), 2, &d.join("out")).unwrap();
        assert_eq!((t.n_train, t.n_valid), (6, 2));
        let valid = std::fs::read_to_string(&t.valid_list).unwrap();
        assert_eq!(valid, "r0c4.png\nr1c4.png");
        assert!(!t.images.join("r0c3.png").exists(), "the gap column is left out");
        // A tile holds its own part of the image and the mask.
        let tile = image::open(t.images.join("r1c2.png")).unwrap().to_luma8();
        assert_eq!(tile.as_raw(), &vec![4, 5, 4, 5]);
        assert_eq!(read_mask(&t.masks.join("r1c2.png")).unwrap().data, vec![2, 2, 2, 2]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn mismatched_sizes_and_too_large_tiles_are_refused() {
        let d = tmp("bad");
        image::GrayImage::new(12, 12).save(d.join("img.png")).unwrap();
        write_mask(&d.join("mask.png"), &Mask { width: 10, height: 12, data: vec![0; 120] }).unwrap();
        let e = tile_pair(&d.join("img.png"), &d.join("mask.png"), 4, &d.join("out")).unwrap_err().to_string();
        assert!(e.contains("mask.png") && e.contains("10×12") && e.contains("12×12"), "{e}");
        write_mask(&d.join("mask.png"), &Mask { width: 12, height: 12, data: vec![0; 144] }).unwrap();
        let e = tile_pair(&d.join("img.png"), &d.join("mask.png"), 5, &d.join("out")).unwrap_err().to_string();
        assert!(e.contains("three columns"), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }
}
