//! What kindling's CPU kernels (convolution, BatchNorm) share: at the boundary with burn's flex
//! backend, when a tensor can take them, reading its values and wrapping results; inside, how
//! work is split between threads.

use std::borrow::Cow;

use burn::backend::{DispatchDevice, DispatchTensorKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Shape, Tensor, TensorData};

/// Whether `x` is an `f32` tensor on the flex CPU backend (with or without autodiff).
pub(crate) fn runs_on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && matches!(x.device().without_autodiff().as_dispatch(), DispatchDevice::Flex(_))
}

/// The tensor's values in row-major order: borrowed, or copied when it is strided.
pub(crate) fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(t.to_contiguous().as_slice::<f32>().expect("a contiguous f32 tensor").to_vec()),
    }
}

/// A flex tensor holding `values` in row-major order.
pub(crate) fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Whether `x` is an `f32` tensor held by the flex backend itself (not by autodiff over it).
pub(crate) fn is_plain_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && matches!(x.clone().into_dispatch().kind, DispatchTensorKind::Flex(_))
}

/// `0..n` cut into `parts` contiguous ranges of nearly equal length, in order: each thread's
/// share, fixed for a given number of threads so that sums come out the same on every run.
pub(crate) fn split_evenly(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    (0..parts).map(|i| i * n / parts..(i + 1) * n / parts).collect()
}
