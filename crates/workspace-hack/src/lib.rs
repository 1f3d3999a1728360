//! kindling's workspace-hack: a crate with no code that pins one feature set for kindling's
//! third-party dependencies.
//!
//! Cargo unifies dependency features over the packages a command selects, so
//! `cargo run -p kindling-core --example sgd_from_scratch` used to resolve (for example)
//! `serde`, `hashbrown` and `syn` with fewer features than `cargo build --workspace`, and so
//! recompiled the burn stack that depends on them. This crate depends on every such crate with
//! the union of features the `--workspace` build enables, and kindling-core depends on it:
//! whichever package is selected, the features (and so the compiled artifacts) are the same.
//! This is the pattern cargo-hakari generates; stable Cargo has no setting for it yet
//! (`resolver.feature-unification` needs `-Zfeature-unification`).
//!
//! `tests/build_features.rs` checks that every package's features under each README command
//! equal those under `--workspace`, and names the crates to add here when they drift.
