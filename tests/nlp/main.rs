//! End-to-end tests of kindling-nlp, grouped by theme.

mod cli;
mod data;
mod model;
mod ulmfit_tokenize;
mod ulmfit;
