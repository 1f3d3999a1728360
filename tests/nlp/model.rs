//! The BERT-family encoder: all-MiniLM-L6-v2 against PyTorch's outputs, tiny BERT, RoBERTa and
//! DistilBERT checkpoints written here in the Hugging Face layout (the same weights under the
//! three families' names give the same hidden states), and bad checkpoints refused by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_nlp::model::{HubConfig, ModelType, load_hub, mean_pool};
use kindling_tests::{floats, shared};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-nlp-model-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ints(rows: &[Vec<i64>], device: &Device) -> Tensor<2, Int> {
    let (b, t) = (rows.len(), rows[0].len());
    Tensor::from_data(TensorData::new(rows.concat(), [b, t]), device)
}

fn to_vec<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (f64::from(*x) - y).abs()).fold(0.0, f64::max)
}

fn l2_normalise(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / n).collect()
}

// ---------------------------------------------------------------------------------------------
// all-MiniLM-L6-v2 against PyTorch

fn minilm() -> PathBuf {
    shared().join("models/all-MiniLM-L6-v2")
}

fn minilm_golden() -> serde_json::Value {
    let p = shared().join("reference/minilm-golden.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// Tolerance on every compared value: PyTorch and burn sum in different orders in float32.
const PARITY_TOL: f64 = 1e-4;

#[test]
fn minilm_matches_pytorch() {
    let device = Device::flex();
    let (config, encoder) = load_hub(&minilm(), &device).unwrap();
    assert_eq!((config.model_type, config.hidden_size, config.num_layers, config.num_heads), (ModelType::Bert, 384, 6, 12));
    assert!(encoder.pooler.is_some(), "all-MiniLM-L6-v2 has a pooler");

    let g = minilm_golden();
    let rows = |k: &str| -> Vec<Vec<i64>> {
        g[k].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()).collect()
    };
    let (ids, mask) = (ints(&rows("input_ids"), &device), ints(&rows("attention_mask"), &device));
    let hidden = encoder.forward(ids.clone(), mask.clone());
    let shape: Vec<usize> = g["last_hidden_state_shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
    assert_eq!(hidden.dims().to_vec(), shape);
    let [b, t, h] = hidden.dims();

    // The first 8 values of token 0 of each sentence.
    let all = to_vec(hidden.clone());
    let mut worst_hidden: f64 = 0.0;
    for (s, want) in g["last_hidden_state_first8_of_token0"].as_array().unwrap().iter().enumerate() {
        let got = &all[s * t * h..s * t * h + 8];
        worst_hidden = worst_hidden.max(max_abs_diff(got, &floats(want)));
    }

    // The sentence embeddings: mean over real tokens, L2-normalised.
    let pooled = to_vec(mean_pool(hidden, mask.clone()));
    let embeddings: Vec<Vec<f32>> = pooled.chunks(h).map(l2_normalise).collect();
    let mut worst_pooled: f64 = 0.0;
    for (got, want) in embeddings.iter().zip(g["mean_pooled_normalised"].as_array().unwrap()) {
        worst_pooled = worst_pooled.max(max_abs_diff(got, &floats(want)));
    }
    let mut worst_cos: f64 = 0.0;
    for (i, row) in g["cosine"].as_array().unwrap().iter().enumerate() {
        let cos: Vec<f32> = (0..b).map(|j| embeddings[i].iter().zip(&embeddings[j]).map(|(x, y)| x * y).sum()).collect();
        worst_cos = worst_cos.max(max_abs_diff(&cos, &floats(row)));
    }
    println!("MiniLM vs PyTorch, max |diff|: hidden state {worst_hidden:.2e}, mean-pooled {worst_pooled:.2e}, cosine {worst_cos:.2e}");
    assert!(worst_hidden <= PARITY_TOL, "hidden state differs by {worst_hidden}");
    assert!(worst_pooled <= PARITY_TOL, "embeddings differ by {worst_pooled}");
    assert!(worst_cos <= PARITY_TOL, "cosines differ by {worst_cos}");

    // Evaluation on a plain device is deterministic (dropout is off).
    let again = to_vec(encoder.forward(ids, mask));
    assert_eq!(all, again);
}

/// Forward time of MiniLM on 32 texts × 128 tokens (run with `--ignored --nocapture`, and
/// `RAYON_NUM_THREADS` to pin the threads).
#[test]
#[ignore = "a measurement, not a check"]
fn minilm_forward_speed() {
    let device = Device::flex();
    let (_, encoder) = load_hub(&minilm(), &device).unwrap();
    let (b, t) = (32, 128);
    let mut state = 12345u64;
    let rows: Vec<Vec<i64>> = (0..b)
        .map(|_| {
            (0..t)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    1000 + ((state >> 33) % 29000) as i64
                })
                .collect()
        })
        .collect();
    let ids = ints(&rows, &device);
    let mask = Tensor::<2, Int>::ones([b, t], &device);
    let run = || {
        let _ = to_vec(encoder.forward(ids.clone(), mask.clone()));
    };
    run();
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .collect();
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let best = times.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "MiniLM forward, {b}×{t} tokens, RAYON_NUM_THREADS={}: {:.0} ms per batch (best {:.0} ms), {:.0} tokens/s (best {:.0})",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into()),
        mean * 1e3,
        best * 1e3,
        (b * t) as f64 / mean,
        (b * t) as f64 / best
    );
}

// ---------------------------------------------------------------------------------------------
// Tiny checkpoints in the Hugging Face layout

const VOCAB: usize = 100;
const HIDDEN: usize = 32;
const LAYERS: usize = 2;
const HEADS: usize = 4;
const FFN: usize = 64;
const POSITIONS: usize = 40;

/// One tensor of a safetensors file: shape and values (f32, or i64 for buffers).
#[derive(Clone)]
enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

type Tensors = BTreeMap<String, (Vec<usize>, Values)>;

/// Writes `tensors` as a safetensors file (little-endian, 8-byte header length, JSON header).
fn write_safetensors(path: &Path, tensors: &Tensors) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, (shape, values)) in tensors {
        let start = data.len();
        let dtype = match values {
            Values::F32(v) => {
                v.iter().for_each(|x| data.extend_from_slice(&x.to_le_bytes()));
                "F32"
            }
            Values::I64(v) => {
                v.iter().for_each(|x| data.extend_from_slice(&x.to_le_bytes()));
                "I64"
            }
        };
        header.insert(name.clone(), serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}));
    }
    let mut h = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h);
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// Deterministic pseudo-random values.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn values(&mut self, n: usize, centre: f32, spread: f32) -> Values {
        Values::F32((0..n).map(|_| centre + spread * self.uniform()).collect())
    }
}

/// A random bare BERT (HF key names, no prefix), with zero token-type embeddings so that the
/// same weights make a DistilBERT, and a pooler.
fn bert_weights(seed: u64) -> Tensors {
    let mut rng = Rng(seed);
    let mut t = Tensors::new();
    let mut add = |t: &mut Tensors, name: String, shape: Vec<usize>, centre: f32, spread: f32| {
        let n = shape.iter().product();
        t.insert(name, (shape, rng.values(n, centre, spread)));
    };
    add(&mut t, "embeddings.word_embeddings.weight".into(), vec![VOCAB, HIDDEN], 0.0, 0.5);
    add(&mut t, "embeddings.position_embeddings.weight".into(), vec![POSITIONS, HIDDEN], 0.0, 0.5);
    t.insert("embeddings.token_type_embeddings.weight".into(), (vec![2, HIDDEN], Values::F32(vec![0.0; 2 * HIDDEN])));
    add(&mut t, "embeddings.LayerNorm.weight".into(), vec![HIDDEN], 1.0, 0.2);
    add(&mut t, "embeddings.LayerNorm.bias".into(), vec![HIDDEN], 0.0, 0.2);
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}.");
        for (name, o, i) in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
            ("intermediate.dense", FFN, HIDDEN),
            ("output.dense", HIDDEN, FFN),
        ] {
            add(&mut t, format!("{p}{name}.weight"), vec![o, i], 0.0, 0.3);
            add(&mut t, format!("{p}{name}.bias"), vec![o], 0.0, 0.1);
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(&mut t, format!("{p}{name}.weight"), vec![HIDDEN], 1.0, 0.2);
            add(&mut t, format!("{p}{name}.bias"), vec![HIDDEN], 0.0, 0.2);
        }
    }
    add(&mut t, "pooler.dense.weight".into(), vec![HIDDEN, HIDDEN], 0.0, 0.3);
    add(&mut t, "pooler.dense.bias".into(), vec![HIDDEN], 0.0, 0.1);
    t
}

fn bert_config(model_type: &str, positions: usize, pad: usize, type_vocab: usize) -> serde_json::Value {
    serde_json::json!({
        "model_type": model_type, "architectures": ["BertForMaskedLM"], "vocab_size": VOCAB,
        "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "intermediate_size": FFN, "max_position_embeddings": positions, "type_vocab_size": type_vocab,
        "layer_norm_eps": 1e-12, "pad_token_id": pad, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1
    })
}

fn write_checkpoint(dir: &Path, config: &serde_json::Value, tensors: &Tensors) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(config).unwrap()).unwrap();
    write_safetensors(&dir.join("model.safetensors"), tensors);
}

/// `BertForMaskedLM`'s file: `bert.`-prefixed encoder (no pooler), the `position_ids` buffer,
/// and the MLM head `cls.predictions.*`.
fn write_bert(dir: &Path, weights: &Tensors) {
    let mut t: Tensors = weights.iter().filter(|(k, _)| !k.starts_with("pooler.")).map(|(k, v)| (format!("bert.{k}"), v.clone())).collect();
    t.insert("bert.embeddings.position_ids".into(), (vec![1, POSITIONS], Values::I64((0..POSITIONS as i64).collect())));
    let mut rng = Rng(99);
    t.insert("cls.predictions.bias".into(), (vec![VOCAB], rng.values(VOCAB, 0.0, 0.1)));
    t.insert("cls.predictions.transform.dense.weight".into(), (vec![HIDDEN, HIDDEN], rng.values(HIDDEN * HIDDEN, 0.0, 0.1)));
    t.insert("cls.predictions.transform.dense.bias".into(), (vec![HIDDEN], rng.values(HIDDEN, 0.0, 0.1)));
    t.insert("cls.predictions.transform.LayerNorm.weight".into(), (vec![HIDDEN], rng.values(HIDDEN, 1.0, 0.1)));
    t.insert("cls.predictions.transform.LayerNorm.bias".into(), (vec![HIDDEN], rng.values(HIDDEN, 0.0, 0.1)));
    write_checkpoint(dir, &bert_config("bert", POSITIONS, 0, 2), &t);
}

/// `DistilBertForMaskedLM`'s file holding the same weights under DistilBERT's names (it has no
/// token types and no pooler), with its MLM head.
fn write_distilbert(dir: &Path, weights: &Tensors) {
    let mut t = Tensors::new();
    for (k, v) in weights {
        if k.starts_with("pooler.") || k.contains("token_type") {
            continue;
        }
        let mut name = k.replace("encoder.layer.", "transformer.layer.");
        for (from, to) in [
            ("attention.self.query", "attention.q_lin"),
            ("attention.self.key", "attention.k_lin"),
            ("attention.self.value", "attention.v_lin"),
            ("attention.output.dense", "attention.out_lin"),
            ("attention.output.LayerNorm", "sa_layer_norm"),
            ("intermediate.dense", "ffn.lin1"),
            ("output.dense", "ffn.lin2"),
            ("output.LayerNorm", "output_layer_norm"),
        ] {
            if name.contains(from) {
                name = name.replace(from, to);
                break;
            }
        }
        t.insert(format!("distilbert.{name}"), v.clone());
    }
    let mut rng = Rng(7);
    for (name, shape) in [
        ("vocab_transform.weight", vec![HIDDEN, HIDDEN]),
        ("vocab_transform.bias", vec![HIDDEN]),
        ("vocab_layer_norm.weight", vec![HIDDEN]),
        ("vocab_layer_norm.bias", vec![HIDDEN]),
        ("vocab_projector.bias", vec![VOCAB]),
    ] {
        let n = shape.iter().product();
        t.insert(name.into(), (shape, rng.values(n, 0.0, 0.1)));
    }
    let config = serde_json::json!({
        "model_type": "distilbert", "architectures": ["DistilBertForMaskedLM"], "vocab_size": VOCAB, "dim": HIDDEN,
        "n_layers": LAYERS, "n_heads": HEADS, "hidden_dim": FFN, "max_position_embeddings": POSITIONS,
        "activation": "gelu", "dropout": 0.1, "attention_dropout": 0.1, "pad_token_id": 0,
        "sinusoidal_pos_embds": false, "tie_weights_": true
    });
    write_checkpoint(dir, &config, &t);
}

/// `RobertaModel`'s file with the same weights: one token type, and the position table shifted
/// down by `pad + 1` rows (RoBERTa's positions start after the padding id), so that it computes
/// what the BERT file computes.
fn write_roberta(dir: &Path, weights: &Tensors, pad: usize) {
    let mut t: Tensors = weights.iter().map(|(k, v)| (format!("roberta.{k}"), v.clone())).collect();
    let (_, Values::F32(pos)) = &weights["embeddings.position_embeddings.weight"] else { unreachable!() };
    let mut shifted = Rng(3).values((pad + 1) * HIDDEN, 0.0, 0.5);
    if let Values::F32(v) = &mut shifted {
        v.extend(pos);
    }
    t.insert("roberta.embeddings.position_embeddings.weight".into(), (vec![POSITIONS + pad + 1, HIDDEN], shifted));
    t.insert("roberta.embeddings.token_type_embeddings.weight".into(), (vec![1, HIDDEN], Values::F32(vec![0.0; HIDDEN])));
    write_checkpoint(dir, &bert_config("roberta", POSITIONS + pad + 1, pad, 1), &t);
}

/// Two texts of 7 tokens, the second padded with 3.
fn tiny_batch(device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let ids = ints(&[vec![5, 17, 42, 99, 3, 8, 61], vec![5, 23, 77, 9, 0, 0, 0]], device);
    let mask = ints(&[vec![1; 7], vec![1, 1, 1, 1, 0, 0, 0]], device);
    (ids, mask)
}

/// The hidden states of the real tokens only (padding rows dropped).
fn real_tokens(hidden: Tensor<3>, mask: &Tensor<2, Int>) -> Vec<f32> {
    let [_, _, h] = hidden.dims();
    let m = mask.clone().into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
    let v = to_vec(hidden);
    m.iter().enumerate().filter(|(_, x)| **x == 1).flat_map(|(i, _)| v[i * h..(i + 1) * h].iter().copied()).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn tiny_bert_roberta_and_distilbert_checkpoints_load_and_run() {
    let device = Device::flex();
    let root = tmp("families");
    let w = bert_weights(1);
    write_bert(&root.join("bert"), &w);
    write_roberta(&root.join("roberta"), &w, 1);
    write_distilbert(&root.join("distilbert"), &w);
    let (ids, mask) = tiny_batch(&device);
    for (name, family, pooler) in [("bert", ModelType::Bert, false), ("roberta", ModelType::Roberta, true), ("distilbert", ModelType::DistilBert, false)] {
        let (config, encoder) = load_hub(&root.join(name), &device).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((config.model_type, config.hidden_size, config.num_layers, config.num_heads), (family, HIDDEN, LAYERS, HEADS));
        assert_eq!(config.pooler, pooler, "{name}");
        assert_eq!(encoder.pooler.is_some(), pooler, "{name}");
        assert_eq!(encoder.layers.len(), LAYERS);
        let hidden = encoder.forward(ids.clone(), mask.clone());
        assert_eq!(hidden.dims(), [2, 7, HIDDEN], "{name}");
        assert_eq!(mean_pool(hidden.clone(), mask.clone()).dims(), [2, HIDDEN]);
        assert_eq!(encoder.pool_cls(hidden).dims(), [2, HIDDEN]);
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_same_weights_under_bert_distilbert_and_roberta_names_give_the_same_hidden_states() {
    let device = Device::flex();
    let root = tmp("same");
    let w = bert_weights(2);
    write_bert(&root.join("bert"), &w);
    write_distilbert(&root.join("distilbert"), &w);
    write_roberta(&root.join("roberta"), &w, 1);
    let (ids, mask) = tiny_batch(&device);
    let run = |name: &str| {
        let (_, encoder) = load_hub(&root.join(name), &device).unwrap();
        real_tokens(encoder.forward(ids.clone(), mask.clone()), &mask)
    };
    let (bert, distil, roberta) = (run("bert"), run("distilbert"), run("roberta"));
    // A check that the outputs are not trivially equal (e.g. all zeros).
    assert!(bert.iter().map(|x| x.abs()).sum::<f32>() > 1.0);
    assert!(max_diff(&bert, &distil) < 1e-5, "BERT vs DistilBERT: {}", max_diff(&bert, &distil));
    assert!(max_diff(&bert, &roberta) < 1e-5, "BERT vs RoBERTa: {}", max_diff(&bert, &roberta));

    // A file whose RoBERTa position table is not shifted gives other states: the offset is used.
    let mut unshifted = w.clone();
    let (_, Values::F32(pos)) = w["embeddings.position_embeddings.weight"].clone() else { unreachable!() };
    let mut rows = pos.clone();
    rows.extend(vec![0.0; 2 * HIDDEN]);
    unshifted.insert("embeddings.position_embeddings.weight".into(), (vec![POSITIONS + 2, HIDDEN], Values::F32(rows)));
    let mut t: Tensors = unshifted.iter().map(|(k, v)| (format!("roberta.{k}"), v.clone())).collect();
    t.insert("roberta.embeddings.token_type_embeddings.weight".into(), (vec![1, HIDDEN], Values::F32(vec![0.0; HIDDEN])));
    write_checkpoint(&root.join("unshifted"), &bert_config("roberta", POSITIONS + 2, 1, 1), &t);
    assert!(max_diff(&bert, &run("unshifted")) > 1e-3);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn dropout_is_active_only_on_the_autodiff_device() {
    let device = Device::flex();
    let config = HubConfig::from_json(&bert_config("bert", POSITIONS, 0, 2).to_string()).unwrap();
    let (ids, mask) = tiny_batch(&device);
    let plain = config.init(&device);
    let a = to_vec(plain.forward(ids.clone(), mask.clone()));
    assert_eq!(a, to_vec(plain.forward(ids.clone(), mask.clone())));
    let ad = device.clone().autodiff();
    let training = config.init(&ad);
    let ids_ad = ids.to_device(&ad);
    let mask_ad = mask.to_device(&ad);
    let x = to_vec(training.forward(ids_ad.clone(), mask_ad.clone()));
    let y = to_vec(training.forward(ids_ad, mask_ad));
    assert_ne!(x, y, "dropout should make two training passes differ");
}

// ---------------------------------------------------------------------------------------------
// Bad checkpoints

fn err_of(dir: &Path) -> String {
    match load_hub(dir, &Device::flex()) {
        Ok(_) => panic!("{} should be refused", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_config_of_another_model_type_is_refused_naming_model_type() {
    let dir = tmp("gpt2");
    let mut config = bert_config("bert", POSITIONS, 0, 2);
    config["model_type"] = "gpt2".into();
    write_checkpoint(&dir, &config, &bert_weights(3));
    let err = err_of(&dir);
    assert!(err.contains("config.json") && err.contains("model_type 'gpt2'") && err.contains("bert, roberta, distilbert"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tensor_of_the_wrong_shape_is_refused_naming_it_and_both_shapes() {
    let dir = tmp("shape");
    let mut w = bert_weights(4);
    let n = (HIDDEN + 1) * HIDDEN;
    w.insert("encoder.layer.1.attention.self.key.weight".into(), (vec![HIDDEN + 1, HIDDEN], Rng(5).values(n, 0.0, 0.1)));
    write_checkpoint(&dir, &bert_config("bert", POSITIONS, 0, 2), &w);
    let err = err_of(&dir);
    assert!(err.contains("model.safetensors") && err.contains("layers.1.attention.key.weight"), "{err}");
    assert!(err.contains("[33, 32]") && err.contains("[32, 32]"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_tensor_is_refused_by_name() {
    let dir = tmp("missing-tensor");
    let mut w = bert_weights(5);
    w.remove("encoder.layer.0.output.LayerNorm.bias");
    write_checkpoint(&dir, &bert_config("bert", POSITIONS, 0, 2), &w);
    let err = err_of(&dir);
    assert!(err.contains("no weights for") && err.contains("layers.0.output_norm.beta"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tensor_the_encoder_has_no_place_for_is_refused_by_name() {
    let dir = tmp("unexpected");
    let mut w = bert_weights(6);
    w.insert("encoder.layer.0.attention.self.rotary.weight".into(), (vec![HIDDEN], Values::F32(vec![0.0; HIDDEN])));
    write_checkpoint(&dir, &bert_config("bert", POSITIONS, 0, 2), &w);
    let err = err_of(&dir);
    assert!(err.contains("tensors this model does not") && err.contains("rotary"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_weights_file_or_config_is_refused_naming_the_file() {
    let dir = tmp("no-weights");
    std::fs::write(dir.join("config.json"), bert_config("bert", POSITIONS, 0, 2).to_string()).unwrap();
    let err = err_of(&dir);
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let err = err_of(&dir);
    assert!(err.contains("config.json"), "{err}");
    std::fs::write(dir.join("config.json"), bert_config("bert", POSITIONS, 0, 2).to_string()).unwrap();
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").unwrap();
    let err = err_of(&dir);
    assert!(err.contains("model.safetensors") && err.contains("cannot read the checkpoint"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
