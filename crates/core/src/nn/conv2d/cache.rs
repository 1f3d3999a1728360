//! Winograd's transformed kernels kept between calls, for inference: a served model runs the
//! same weights for every request, and transforming them again each time cost about 3% of a
//! resnet18 forward pass on one image (perf) — and kept Winograd off the layers with few tiles,
//! where the transform is not paid for by one call.
//!
//! Entries are found by the address and length of the weights' values. Each entry holds a
//! clone of the weight tensor itself (flex shares the buffer, counting references): while it
//! is cached, the buffer cannot be freed, so its address cannot come to hold other weights, and
//! it cannot be changed in place, since flex copies a shared buffer before writing to it. New
//! weights (a training step, a model loaded again) are new buffers, so a stale transform is
//! never used; old entries leave, least recently used first, when the kept transforms pass
//! [`MAX_BYTES`].

use std::sync::{Arc, Mutex};

use burn::backend::flex::FlexTensor;

use super::kernel::Conv2dGeometry;
use super::winograd::{WinogradKernel, fits};

/// Most bytes of transformed kernels kept (resnet18's 3×3 convolutions on 56×56 down to 7×7
/// take about 150 MB; resnet34's about 300 MB).
pub const MAX_BYTES: usize = 320 << 20;

struct Entry {
    /// Keeps the buffer alive and shared (see the module's comment).
    _weight: FlexTensor,
    key: (usize, usize),
    kernel: Arc<WinogradKernel>,
    last_used: u64,
}

#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    bytes: usize,
    clock: u64,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache { entries: Vec::new(), bytes: 0, clock: 0 });

/// `weight`'s kernels transformed for `g`, from the cache or computed (and kept); `None` where
/// Winograd does not apply to `g`, or `weight` is not a contiguous `f32` tensor.
pub(super) fn kept(weight: &FlexTensor, g: &Conv2dGeometry) -> Option<Arc<WinogradKernel>> {
    if !fits(g) {
        return None;
    }
    let values = weight.as_slice::<f32>()?;
    let key = (values.as_ptr() as usize, values.len());
    {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        cache.clock += 1;
        let now = cache.clock;
        if let Some(e) = cache.entries.iter_mut().find(|e| e.key == key && e.kernel.matches(g)) {
            e.last_used = now;
            return Some(e.kernel.clone());
        }
    }
    let kernel = Arc::new(WinogradKernel::new(g, values)?);
    let size = kernel.bytes();
    if size <= MAX_BYTES {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        while cache.bytes + size > MAX_BYTES {
            let Some(oldest) = cache.entries.iter().enumerate().min_by_key(|(_, e)| e.last_used).map(|(i, _)| i) else { break };
            let gone = cache.entries.swap_remove(oldest);
            cache.bytes -= gone.kernel.bytes();
        }
        let last_used = cache.clock;
        cache.bytes += size;
        cache.entries.push(Entry { _weight: weight.clone(), key, kernel: kernel.clone(), last_used });
    }
    Some(kernel)
}

/// Bytes of transformed kernels kept now.
pub fn kept_bytes() -> usize {
    CACHE.lock().unwrap_or_else(|e| e.into_inner()).bytes
}
