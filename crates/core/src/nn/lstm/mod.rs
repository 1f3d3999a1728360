//! An LSTM layer over a whole sequence, as PyTorch's single-layer `nn.LSTM(batch_first=True)`
//! computes it, taking the recurrent weight as a tensor so that a caller can drop out its
//! entries first (AWD-LSTM's weight dropout).
//!
//! On the flex backend with `f32` values, [`lstm`] runs kindling's kernel: the recurrent
//! product of each step (against the recurrent weight packed once per sequence) written into
//! one gate buffer in place, the gate arithmetic vectorised
//! and split over the batch rows, and a backward pass through time written by hand (the
//! recurrent weight's gradient is one matrix product over all steps). Elsewhere (GPU devices)
//! it runs the same steps as burn operations, so the result is the same function everywhere.

mod extension;
mod kernel;
mod packed;

use burn::backend::Dispatch;
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Tensor, s};

pub use extension::CpuLstm;
pub use kernel::LstmShape;

use super::flex::runs_on_flex;

/// The kernel on plain `f32` slices, for benchmarks and for code that holds its data outside
/// burn. The functions panic when a slice's length does not match the shape.
pub mod cpu {
    pub use super::kernel::{Saved, backward, forward};
}

/// The outputs of [`lstm`].
#[derive(Clone, Debug)]
pub struct LstmOutput {
    /// The hidden state of every step, `[batch, steps, hidden]`.
    pub output: Tensor<3>,
    /// The last hidden state, `[batch, hidden]`, detached (truncated backpropagation through
    /// time: the next call starts from it without a path back into this one).
    pub h: Tensor<2>,
    /// The last cell state, `[batch, hidden]`, detached.
    pub c: Tensor<2>,
}

/// One LSTM layer over `steps` time steps.
///
/// `xw` is the input already projected, `x·W_ihᵀ + b_ih + b_hh`, `[batch, steps, 4·hidden]`,
/// with the gates in PyTorch's order (input, forget, cell, output); `w_hh` is the recurrent
/// weight `[4·hidden, hidden]`; `h0`, `c0` `[batch, hidden]` are the initial states (not
/// differentiated).
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// let device = Device::flex();
/// let xw = Tensor::<3>::random([2, 5, 12], Distribution::Normal(0.0, 1.0), &device);
/// let w_hh = Tensor::<2>::random([12, 3], Distribution::Normal(0.0, 0.5), &device);
/// let zeros = Tensor::<2>::zeros([2, 3], &device);
/// let out = kindling_core::nn::lstm(xw, w_hh, zeros.clone(), zeros);
/// assert_eq!(out.output.dims(), [2, 5, 3]);
/// assert_eq!(out.h.dims(), [2, 3]);
/// ```
pub fn lstm(xw: Tensor<3>, w_hh: Tensor<2>, h0: Tensor<2>, c0: Tensor<2>) -> LstmOutput {
    let [batch, steps, g4] = xw.dims();
    let hidden = g4 / 4;
    assert_eq!(w_hh.dims(), [g4, hidden], "lstm: w_hh must be [4·hidden, hidden]");
    if runs_on_flex(&xw) && runs_on_flex(&w_hh) && steps > 0 {
        let shape = LstmShape { batch, steps, hidden };
        let out = Tensor::<3>::from_dispatch(<Dispatch as CpuLstm>::kindling_lstm(
            xw.into_dispatch(),
            w_hh.into_dispatch(),
            h0.into_dispatch(),
            c0.into_dispatch(),
            shape,
        ));
        let output = out.clone().slice(s![.., 0..steps, ..]);
        let h = output.clone().slice(s![.., steps - 1..steps, ..]).reshape([batch, hidden]).detach();
        let c = out.slice(s![.., steps..steps + 1, ..]).reshape([batch, hidden]).detach();
        return LstmOutput { output, h, c };
    }
    lstm_ops(xw, w_hh, h0, c0)
}

/// The same layer as burn operations, step by step (any backend).
fn lstm_ops(xw: Tensor<3>, w_hh: Tensor<2>, h0: Tensor<2>, c0: Tensor<2>) -> LstmOutput {
    let [batch, steps, g4] = xw.dims();
    let hidden = g4 / 4;
    let w_t = w_hh.transpose();
    let (mut h, mut c) = (h0, c0);
    let mut outs = Vec::with_capacity(steps);
    for t in 0..steps {
        let gates = xw.clone().slice(s![.., t..t + 1, ..]).reshape([batch, g4]) + h.matmul(w_t.clone());
        let [i, f, g, o] = gates.chunk(4, 1).try_into().expect("four gates");
        c = sigmoid(f) * c + sigmoid(i) * tanh(g);
        h = sigmoid(o) * tanh(c.clone());
        outs.push(h.clone().reshape([batch, 1, hidden]));
    }
    let output = if outs.is_empty() { Tensor::zeros([batch, 0, hidden], &xw.device()) } else { Tensor::cat(outs, 1) };
    LstmOutput { output, h: h.detach(), c: c.detach() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tolerance};

    #[test]
    fn kernel_matches_burn_operations_forward_and_backward() {
        let device = Device::flex().autodiff();
        device.seed(11);
        let xw = Tensor::<3>::random([3, 6, 20], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<2>::random([20, 5], Distribution::Normal(0.0, 0.4), &device);
        let h0 = Tensor::<2>::random([3, 5], Distribution::Normal(0.0, 0.5), &device);
        let c0 = Tensor::<2>::random([3, 5], Distribution::Normal(0.0, 0.5), &device);
        let r = Tensor::<3>::random([3, 6, 5], Distribution::Normal(0.0, 1.0), &device);
        let run = |ours: bool| {
            let (xw, w) = (xw.clone().require_grad(), w.clone().require_grad());
            let out = if ours { lstm(xw.clone(), w.clone(), h0.clone(), c0.clone()) } else { lstm_ops(xw.clone(), w.clone(), h0.clone(), c0.clone()) };
            let grads = (out.output.clone() * r.clone()).sum().backward();
            [out.output.into_data(), out.h.into_data(), out.c.into_data(), xw.grad(&grads).unwrap().into_data(), w.grad(&grads).unwrap().into_data()]
        };
        let (ours, burns) = (run(true), run(false));
        for (a, b) in ours.iter().zip(&burns) {
            a.assert_approx_eq::<f32>(b, Tolerance::absolute(2e-5));
        }
        // Without autodiff.
        let plain = |t: &Tensor<3>| Tensor::<3>::from_data(t.to_data(), &Device::flex());
        let p2 = |t: &Tensor<2>| Tensor::<2>::from_data(t.to_data(), &Device::flex());
        let a = lstm(plain(&xw), p2(&w), p2(&h0), p2(&c0));
        let b = lstm_ops(plain(&xw), p2(&w), p2(&h0), p2(&c0));
        a.output.into_data().assert_approx_eq::<f32>(&b.output.into_data(), Tolerance::absolute(2e-5));
    }
}
