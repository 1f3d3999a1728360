//! What kindling's CPU kernels (convolution, BatchNorm) share at the boundary with burn's flex
//! backend: when a tensor can take them, reading its values, and wrapping results.

use burn::backend::{DispatchDevice, DispatchTensor, DispatchTensorKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Shape, Tensor, TensorData};

/// Whether `x` is an `f32` tensor on the flex CPU backend (with or without autodiff).
pub(crate) fn runs_on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && matches!(x.device().without_autodiff().as_dispatch(), DispatchDevice::Flex(_))
}

/// Calls `f` with the tensor's values in row-major order, copying only when it is strided.
pub(crate) fn with_values<R>(t: &FlexTensor, f: impl FnOnce(&[f32]) -> R) -> R {
    match t.as_slice::<f32>() {
        Some(values) => f(values),
        None => f(t.to_contiguous().as_slice::<f32>().expect("a contiguous f32 tensor")),
    }
}

/// A flex tensor holding `values` in row-major order.
pub(crate) fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Whether the dispatch tensor is held by the flex backend itself (not by autodiff over it).
pub(crate) fn is_plain_flex(t: &DispatchTensor) -> bool {
    matches!(t.kind, DispatchTensorKind::Flex(_))
}
