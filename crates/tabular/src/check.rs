//! A tabular model file's header checked against itself and its tensors before anything is
//! built from it: every list the procs index by column position (medians, `_na` flags,
//! vocabularies, normalisation statistics) has one entry per column, the class list agrees with
//! the output layer, and every size in the architecture agrees with the tensors' shapes, so an
//! edited header is an error naming its field, never a panic or a giant allocation.

use kindling_core::export::{Fault, HeaderCheck, TensorShapes};

use crate::model::TabularModelConfig;
use crate::predict::TabularPreprocessing;
use crate::procs::{NA, TabularProcs};
use crate::roles::TaskKind;

const ROLES: &str = "preprocessing.procs.roles";
const MEDIANS: &str = "preprocessing.procs.fill.medians";
const ADD_NA: &str = "preprocessing.procs.fill.add_na";
const VOCABS: &str = "preprocessing.procs.categorify.vocabs";
const MEANS: &str = "preprocessing.procs.normalize.means";
const STDS: &str = "preprocessing.procs.normalize.stds";
const PROCS_CLASSES: &str = "preprocessing.procs.classes";

impl HeaderCheck<TabularModelConfig> for TabularPreprocessing {
    fn check(&self, arch: &TabularModelConfig, classes: &[String], tensors: &TensorShapes) -> Result<(), Fault> {
        check_procs(&self.procs)?;
        check_source(self)?;
        check_classes(&self.procs, classes)?;
        check_arch(arch, &self.procs)?;
        check_tensors(arch, tensors)
    }
}

/// The procs agree with the column roles: one median, `_na` flag, mean and standard deviation
/// per continuous column, one vocabulary per categorical input (`#na#` first), all finite.
fn check_procs(p: &TabularProcs) -> Result<(), Fault> {
    let cont = &p.roles.cont;
    let what = "the continuous columns (`preprocessing.procs.roles.cont`)";
    Fault::len(MEDIANS, p.fill.medians.len(), cont.len(), what)?;
    Fault::len(ADD_NA, p.fill.add_na.len(), cont.len(), what)?;
    Fault::len(MEANS, p.normalize.means.len(), cont.len(), what)?;
    Fault::len(STDS, p.normalize.stds.len(), cont.len(), what)?;
    for (j, ((name, median), c)) in p.fill.medians.iter().zip(cont).enumerate() {
        if name != c {
            return Err(Fault::new(MEDIANS, format!("entry {j} is for column '{name}', but continuous column {j} is '{c}'")));
        }
        if !median.is_finite() {
            return Err(Fault::new(MEDIANS, format!("the median of '{c}' is {median}, not a finite number")));
        }
    }
    for (j, c) in cont.iter().enumerate() {
        let (mean, std) = (p.normalize.means[j], p.normalize.stds[j]);
        if !mean.is_finite() {
            return Err(Fault::new(MEANS, format!("the mean of '{c}' is {mean}, not a finite number")));
        }
        if !(std.is_finite() && std > 0.0) {
            return Err(Fault::new(STDS, format!("the standard deviation of '{c}' is {std}, not a positive finite number")));
        }
    }
    let mut inputs = p.roles.cat.clone();
    inputs.extend(p.fill.na_columns());
    Fault::len(VOCABS, p.categorify.vocabs.len(), inputs.len(), "the categorical columns and `_na` columns of `preprocessing.procs.roles.cat` and `preprocessing.procs.fill.add_na`")?;
    for (j, ((name, vocab), want)) in p.categorify.vocabs.iter().zip(&inputs).enumerate() {
        if name != want {
            return Err(Fault::new(VOCABS, format!("entry {j} is for column '{name}', but categorical input {j} is '{want}'")));
        }
        if vocab.first().map(String::as_str) != Some(NA) {
            return Err(Fault::new(VOCABS, format!("the vocabulary of '{name}' does not start with '{NA}'")));
        }
    }
    if let Some(c) = p.roles.cat.iter().chain(cont).find(|c| **c == p.roles.target) {
        return Err(Fault::new(ROLES, format!("the target '{c}' is also an input")));
    }
    Ok(())
}

/// The recorded split's shares are ones a random split can use: each in `[0, 1)`, together
/// below 1.
fn check_source(pre: &TabularPreprocessing) -> Result<(), Fault> {
    let Some(src) = &pre.source else { return Ok(()) };
    for (field, v) in [("preprocessing.source.valid_pct", src.valid_pct), ("preprocessing.source.test_pct", src.test_pct)] {
        if !(0.0..1.0).contains(&v) {
            return Err(Fault::new(field, format!("{v} is outside [0, 1)")));
        }
    }
    if src.valid_pct + src.test_pct >= 1.0 {
        return Err(Fault::new("preprocessing.source.test_pct", format!("{} with valid_pct {} leaves no training rows", src.test_pct, src.valid_pct)));
    }
    Ok(())
}

/// The header's class list is the procs' (classification: at least two; regression: none).
fn check_classes(p: &TabularProcs, classes: &[String]) -> Result<(), Fault> {
    match p.roles.kind {
        TaskKind::Classification if p.classes.len() < 2 => {
            Err(Fault::new(PROCS_CLASSES, format!("a classifier needs at least two classes, the header lists {}", p.classes.len())))
        }
        TaskKind::Regression if !p.classes.is_empty() => Err(Fault::new(PROCS_CLASSES, "a regression model has no classes")),
        _ if classes != p.classes.as_slice() => Err(Fault::new(
            "classes",
            format!("{classes:?} differs from `{PROCS_CLASSES}` {:?}, the order the target was encoded in", p.classes),
        )),
        _ => Ok(()),
    }
}

/// The architecture is sized for these procs: one embedding per vocabulary (its cardinality),
/// one continuous input per continuous column, one output per class; dropouts in `[0, 1)`.
fn check_arch(a: &TabularModelConfig, p: &TabularProcs) -> Result<(), Fault> {
    Fault::len("arch.emb_szs", a.emb_szs.len(), p.categorify.vocabs.len(), &format!("the vocabularies (`{VOCABS}`)"))?;
    for ((card, _), (name, vocab)) in a.emb_szs.iter().zip(&p.categorify.vocabs) {
        if *card != vocab.len() {
            return Err(Fault::new(
                "arch.emb_szs",
                format!("gives '{name}' an embedding of {card} rows, but its vocabulary in `{VOCABS}` has {} entries", vocab.len()),
            ));
        }
    }
    if a.n_cont != p.roles.cont.len() {
        return Err(Fault::new(
            "arch.n_cont",
            format!("is {}, but `preprocessing.procs.roles.cont` lists {} continuous columns", a.n_cont, p.roles.cont.len()),
        ));
    }
    let out = match p.roles.kind {
        TaskKind::Classification => p.classes.len(),
        TaskKind::Regression => 1,
    };
    if a.out_sz != out {
        return Err(Fault::new("arch.out_sz", format!("is {}, but the model predicts {out} value(s) (`classes`, `preprocessing.procs.roles.kind`)", a.out_sz)));
    }
    for (i, &q) in a.ps.iter().enumerate() {
        if !(0.0..1.0).contains(&q) {
            return Err(Fault::new("arch.ps", format!("dropout {i} is {q}, outside [0, 1)")));
        }
    }
    if !(0.0..1.0).contains(&a.embed_p) {
        return Err(Fault::new("arch.embed_p", format!("{} is outside [0, 1)", a.embed_p)));
    }
    if let Some((lo, hi)) = a.y_range
        && !(lo.is_finite() && hi.is_finite() && lo < hi)
    {
        return Err(Fault::new("arch.y_range", format!("({lo}, {hi}) is not a finite range")));
    }
    Ok(())
}

/// Tensor `name` has shape `shape`; otherwise a fault in `field`, the setting the shape was
/// computed from.
fn expect(t: &TensorShapes, name: &str, shape: &[usize], field: &str) -> Result<(), Fault> {
    if t.0.contains_key(name) {
        t.expect(name, shape, field)
    } else {
        Err(Fault::new(field, format!("needs tensor `{name}` {shape:?}, which the file does not hold")))
    }
}

/// Every tensor [`TabularModelConfig::init`] would make has the shape the file holds, checked in
/// build order so that the first mismatch names the setting at fault.
fn check_tensors(a: &TabularModelConfig, t: &TensorShapes) -> Result<(), Fault> {
    for (i, &(card, width)) in a.emb_szs.iter().enumerate() {
        expect(t, &format!("embeds.{i}.weight"), &[card, width], "arch.emb_szs")?;
    }
    if a.n_cont > 0 {
        for s in ["gamma", "beta", "running_mean", "running_var"] {
            expect(t, &format!("bn_cont.{s}"), &[a.n_cont], "arch.n_cont")?;
        }
    } else if let Some((name, _)) = t.under("bn_cont.").next() {
        return Err(Fault::new("arch.n_cont", format!("is 0, but the file holds `{name}`")));
    }
    // Every width is now bounded by a tensor the file holds, so the sum cannot overflow.
    let mut sizes = vec![a.emb_szs.iter().map(|(_, w)| w).sum::<usize>() + a.n_cont];
    sizes.extend(&a.layers);
    sizes.push(a.out_sz);
    let n = sizes.len() - 1;
    for i in 0..n {
        let (last, (n_in, n_out)) = (i == n - 1, (sizes[i], sizes[i + 1]));
        let field = if last { "arch.out_sz" } else { "arch.layers" };
        expect(t, &format!("layers.{i}.lin.weight"), &[n_in, n_out], field)?;
        if last {
            expect(t, &format!("layers.{i}.lin.bias"), &[n_out], field)?;
        } else {
            for s in ["gamma", "beta", "running_mean", "running_var"] {
                expect(t, &format!("layers.{i}.bn.{s}"), &[n_out], field)?;
            }
        }
    }
    let beyond = format!("layers.{n}.");
    if let Some((name, _)) = t.under(&beyond).next() {
        return Err(Fault::new("arch.layers", format!("lists {} hidden layers, but the file also holds `{name}`", n - 1)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use burn::tensor::Device;
    use kindling_core::data::split::{RandomSplitter, Splitter};
    use kindling_core::export;
    use serde_json::{Value, json};

    use crate::prelude::*;

    /// A model file trained on nothing (the checks read shapes, not values) from 40 rows: a
    /// categorical column, a continuous one with gaps (so it has an `_na` companion), two classes.
    fn model_file(dir: &Path) -> PathBuf {
        let n = 40;
        let table = Table {
            names: vec!["c".into(), "x".into(), "y".into()],
            columns: vec![
                Column::Text((0..n).map(|i| Some(format!("c{}", i % 4))).collect()),
                Column::numeric((0..n).map(|i| (i % 7 != 0).then_some(i as f64)).collect()),
                Column::Text((0..n).map(|i| Some(if i % 2 == 0 { "p" } else { "q" }.to_string())).collect()),
            ],
        };
        let roles = resolve(&table, Some("y"), Some(vec!["c".into()]), Some(vec!["x".into()]), None).unwrap();
        let splits = RandomSplitter::new(0.2, 1).split(&table.n_rows()).unwrap();
        let data = TabularData::new(&table, roles, splits).unwrap();
        let device = Device::flex();
        let dls = data.dataloaders(8, 1, &device).unwrap();
        let (learn, config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
        let path = dir.join("model.safetensors");
        export_tabular(&path, learn.model(), &config, &data.procs, &ReadOptions::default()).unwrap();
        path
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kindling-tab-check-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Opens a copy of `src` whose header `edit` changed (with a valid checksum), returning the
    /// error message.
    fn open_edited(src: &Path, edit: impl Fn(&mut Value)) -> String {
        let (header, _) = export::read(src).unwrap();
        let mut v = serde_json::to_value(&header).unwrap();
        edit(&mut v);
        let header: export::ModelHeader = serde_json::from_value(v).unwrap();
        let dst = src.with_file_name("edited.safetensors");
        export::reheader(src, &dst, &header).unwrap();
        match TabularPredictor::load(&dst, &Device::flex()) {
            Ok(_) => panic!("an edited header was accepted"),
            Err(e) => e.to_string(),
        }
    }

    /// A recorded training source with these shares.
    fn source(valid_pct: f64, test_pct: f64) -> Value {
        json!({ "csv": "t.csv", "dataset": null, "valid_pct": valid_pct, "test_pct": test_pct, "valid_col": null, "seed": 42 })
    }

    fn pop(v: &mut Value) {
        v.as_array_mut().unwrap().pop();
    }

    #[test]
    fn a_file_as_written_passes_every_check() {
        let d = dir("ok");
        let f = model_file(&d);
        let p = TabularPredictor::load(&f, &Device::flex()).unwrap();
        assert_eq!(p.pre.procs.cat_names(), vec!["c", "x_na"], "the fixture has an _na column to check");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn every_edited_header_field_is_named_before_the_model_is_built() {
        let d = dir("edits");
        let f = model_file(&d);
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            // A vocabulary one entry short: the embedding no longer fits it.
            ("preprocessing.procs.categorify.vocabs", Box::new(|h| pop(&mut h["preprocessing"]["procs"]["categorify"]["vocabs"][0][1]))),
            // A whole vocabulary gone (`lookups[j]` would index past the end).
            ("preprocessing.procs.categorify.vocabs", Box::new(|h| pop(&mut h["preprocessing"]["procs"]["categorify"]["vocabs"]))),
            ("preprocessing.procs.categorify.vocabs", Box::new(|h| h["preprocessing"]["procs"]["categorify"]["vocabs"][0][1][0] = json!("c0"))),
            ("preprocessing.procs.fill.medians", Box::new(|h| pop(&mut h["preprocessing"]["procs"]["fill"]["medians"]))),
            ("preprocessing.procs.fill.medians", Box::new(|h| h["preprocessing"]["procs"]["fill"]["medians"][0][0] = json!("z"))),
            ("preprocessing.procs.fill.add_na", Box::new(|h| pop(&mut h["preprocessing"]["procs"]["fill"]["add_na"]))),
            ("preprocessing.procs.normalize.means", Box::new(|h| pop(&mut h["preprocessing"]["procs"]["normalize"]["means"]))),
            ("preprocessing.procs.normalize.stds", Box::new(|h| pop(&mut h["preprocessing"]["procs"]["normalize"]["stds"]))),
            ("preprocessing.procs.normalize.stds", Box::new(|h| h["preprocessing"]["procs"]["normalize"]["stds"][0] = json!(0.0))),
            // A continuous column added to the roles, without its statistics.
            ("preprocessing.procs.fill.medians", Box::new(|h| h["preprocessing"]["procs"]["roles"]["cont"].as_array_mut().unwrap().push(json!("w")))),
            // A class added to the header's list only (`classes[predicted[i]]`).
            ("classes", Box::new(|h| h["classes"].as_array_mut().unwrap().push(json!("r")))),
            // ... and to the procs' too: the output layer still has two.
            ("arch.out_sz", Box::new(|h| {
                h["classes"].as_array_mut().unwrap().push(json!("r"));
                h["preprocessing"]["procs"]["classes"].as_array_mut().unwrap().push(json!("r"));
            })),
            // ... and to the architecture: the tensors still have two.
            ("arch.out_sz", Box::new(|h| {
                h["classes"].as_array_mut().unwrap().push(json!("r"));
                h["preprocessing"]["procs"]["classes"].as_array_mut().unwrap().push(json!("r"));
                h["arch"]["out_sz"] = json!(3);
            })),
            ("preprocessing.procs.classes", Box::new(|h| {
                h["classes"] = json!(["p"]);
                h["preprocessing"]["procs"]["classes"] = json!(["p"]);
            })),
            // A size that would allocate a giant model is refused from the tensor shapes.
            ("arch.layers", Box::new(|h| h["arch"]["layers"] = json!([1_000_000_000u64, 100]))),
            ("arch.layers", Box::new(|h| h["arch"]["layers"] = json!([200, 100, 50]))),
            ("arch.emb_szs", Box::new(|h| h["arch"]["emb_szs"][0][1] = json!(1_000_000_000u64))),
            ("arch.emb_szs", Box::new(|h| pop(&mut h["arch"]["emb_szs"]))),
            ("arch.n_cont", Box::new(|h| h["arch"]["n_cont"] = json!(5))),
            ("arch.ps", Box::new(|h| h["arch"]["ps"] = json!([1.5]))),
            ("arch.embed_p", Box::new(|h| h["arch"]["embed_p"] = json!(-0.5))),
            // The recorded split's shares, which interpret splits by again.
            ("preprocessing.source.valid_pct", Box::new(|h| h["preprocessing"]["source"] = source(5.0, 0.0))),
            ("preprocessing.source.test_pct", Box::new(|h| h["preprocessing"]["source"] = source(0.5, 0.5))),
        ];
        for (i, (field, edit)) in cases.iter().enumerate() {
            let err = open_edited(&f, edit);
            assert!(err.contains(&format!("`{field}`")) && err.contains("edited.safetensors"), "case {i}: expected `{field}`: {err}");
        }
        std::fs::remove_dir_all(d).unwrap();
    }
}
