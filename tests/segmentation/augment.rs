//! Masks follow their images through every augmentation.
