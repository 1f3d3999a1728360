//! The CPU LSTM layer as a burn backend extension: a forward op on the flex backend, and its
//! autodiff wrapper with the hand-written backward pass through time.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, backend_extension};

use super::kernel::{self, LstmShape};
use crate::nn::flex::{flex_tensor, values};

/// One LSTM layer over a sequence, computed by [`kernel`].
#[backend_extension(Flex, Autodiff)]
pub trait CpuLstm: Backend {
    /// `out` `[batch, steps + 1, hidden]` (the hidden states, then `c_T`) from the projected
    /// inputs `xw` `[batch, steps, 4·hidden]`, `w_hh` `[4·hidden, hidden]` and the initial
    /// states `h0`, `c0` `[batch, hidden]` (not differentiated).
    fn kindling_lstm(xw: FloatTensor<Self>, w_hh: FloatTensor<Self>, h0: FloatTensor<Self>, c0: FloatTensor<Self>, shape: LstmShape) -> FloatTensor<Self>;
}

fn out_dims(s: &LstmShape) -> [usize; 3] {
    [s.batch, s.steps + 1, s.hidden]
}

impl CpuLstm for Flex {
    fn kindling_lstm(xw: FlexTensor, w_hh: FlexTensor, h0: FlexTensor, c0: FlexTensor, shape: LstmShape) -> FlexTensor {
        let (out, _) = kernel::forward(&shape, &values(&xw), &values(&w_hh), &values(&h0), &values(&c0));
        flex_tensor(out, out_dims(&shape))
    }
}

/// What the backward pass reads: the recurrent weight, the initial states, the output and the
/// activated gates and cells of the forward pass (shared, not copied, when burn clones it).
#[derive(Clone)]
struct LstmState(Arc<LstmSaved>);

struct LstmSaved {
    shape: LstmShape,
    w_hh: FlexTensor,
    h0: Vec<f32>,
    c0: Vec<f32>,
    out: Vec<f32>,
    saved: kernel::Saved,
}

impl std::fmt::Debug for LstmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LstmState").field("shape", &self.0.shape).finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct LstmBackward;

impl Backward<Flex, 2> for LstmBackward {
    type State = LstmState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_xw, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let st = ops.state.0;
        let s = st.shape;
        let (dxw, dw) = kernel::backward(&s, &values(&st.w_hh), &st.h0, &st.c0, &st.out, &st.saved, &values(&grad), node_w.is_some());
        if let Some(node) = node_xw {
            grads.register::<Flex>(node.id, flex_tensor(dxw, [s.batch, s.steps, 4 * s.hidden]));
        }
        if let (Some(node), Some(dw)) = (node_w, dw) {
            grads.register::<Flex>(node.id, flex_tensor(dw, [4 * s.hidden, s.hidden]));
        }
    }
}

impl<C: CheckpointStrategy> CpuLstm for Autodiff<Flex, C> {
    fn kindling_lstm(xw: FloatTensor<Self>, w_hh: FloatTensor<Self>, h0: FloatTensor<Self>, c0: FloatTensor<Self>, shape: LstmShape) -> FloatTensor<Self> {
        let (h0, c0) = (h0.into_primitive(), c0.into_primitive());
        match LstmBackward.prepare::<C>([xw.node(), w_hh.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (xw, w_hh) = (xw.primitive().clone(), w_hh.primitive().clone());
                let (h0, c0) = (values(&h0).into_owned(), values(&c0).into_owned());
                let (out, saved) = kernel::forward(&shape, &values(&xw), &values(&w_hh), &h0, &c0);
                let result = flex_tensor(out.clone(), out_dims(&shape));
                prep.finish(LstmState(Arc::new(LstmSaved { shape, w_hh, h0, c0, out, saved })), result)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::kindling_lstm(xw.into_primitive(), w_hh.into_primitive(), h0, c0, shape))
            }
        }
    }
}
