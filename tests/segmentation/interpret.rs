//! interpret, show-batch and the other encoders and decoder options, end to end.
