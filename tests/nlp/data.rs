//! Texts to batches: the tokenizer against Python's on all-MiniLM-L6-v2, the real Amazon
//! reviews read, split, tokenized and batched by length, multi-label, regression, Parquet and
//! folder-per-class data written here, and every bad input refused with a message naming the
//! file, row or column.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use kindling_core::data::{DataLoader, LoaderConfig, SplitKind};
use kindling_core::learner::Target;
use kindling_nlp::data::{LabelKind, Labels, TextData, TextDataOptions, TextSource, read_text_column, text_loaders};
use kindling_nlp::tokenizer::TextTokenizer;
use kindling_tests::shared;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-nlp-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn minilm() -> TextTokenizer {
    TextTokenizer::from_file(&shared().join("models/all-MiniLM-L6-v2/tokenizer.json")).unwrap()
}

fn amazon(file: &str) -> PathBuf {
    shared().join("data/amazon-reviews").join(file)
}

fn table(path: &Path, text: &str, label: &str, valid_col: Option<&str>, opts: &TextDataOptions) -> kindling_core::Result<TextData> {
    TextData::load(&TextSource::Table { path: path.into(), text: text.into(), label: label.into(), valid_col: valid_col.map(Into::into) }, opts)
}

fn err(r: kindling_core::Result<TextData>) -> String {
    r.map(|_| ()).unwrap_err().to_string()
}

#[track_caller]
fn assert_names(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "the error does not name `{p}`: {msg}");
    }
}

/// Mean width (longest text) of batches.
fn mean_width(batches: &[Vec<usize>], lengths: &[usize]) -> f64 {
    batches.iter().map(|b| b.iter().map(|&i| lengths[i]).max().unwrap() as f64).sum::<f64>() / batches.len() as f64
}

// ---------------------------------------------------------------------------------------------
// The tokenizer

#[test]
fn tokenizer_gives_pythons_ids_on_minilm() {
    let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(shared().join("reference/minilm-golden.json")).unwrap()).unwrap();
    let tok = minilm();
    assert_eq!((tok.pad_id(), tok.n_special(), tok.vocab_size()), (0, 2, 30522));
    let sentences: Vec<&str> = golden["sentences"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let ids = tok.encode_batch(&sentences, 128).unwrap();
    for (k, s) in sentences.iter().enumerate() {
        let mask = golden["attention_mask"][k].as_array().unwrap();
        let want: Vec<u32> = golden["input_ids"][k]
            .as_array()
            .unwrap()
            .iter()
            .zip(mask)
            .filter(|(_, m)| m.as_i64() == Some(1))
            .map(|(v, _)| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(ids[k], want, "sentence {k}: {s}");
        assert_eq!(tok.encode(s, 128).unwrap(), want);
    }
    // Truncation as transformers' `truncation=True`: the first max_len - 1 tokens, then [SEP].
    let full = &ids[3];
    assert_eq!(full.len(), 20);
    assert_eq!(tok.encode(sentences[3], 8).unwrap(), [&full[..7], &[102]].concat());
    // The JSON the model file keeps reads back to the same tokenizer.
    let back = TextTokenizer::from_json(&tok.to_json()).unwrap();
    assert_eq!(back.encode_batch(&sentences, 128).unwrap(), ids);
    assert_eq!(tok.decode(&ids[0]).unwrap(), "this movie was absolutely wonderful, i loved every minute.");
}

#[test]
fn a_bad_tokenizer_file_is_named() {
    let dir = tmp("badtok");
    let missing = dir.join("tokenizer.json");
    assert_names(&TextTokenizer::from_file(&missing).unwrap_err().to_string(), &[&missing.display().to_string(), "no such file"]);
    std::fs::write(&missing, "{\"version\": \"1.0\"}").unwrap();
    assert_names(&TextTokenizer::from_file(&missing).unwrap_err().to_string(), &[&missing.display().to_string(), "not a valid"]);
    std::fs::write(&missing, b"\xff\xfe").unwrap();
    assert_names(&TextTokenizer::from_file(&missing).unwrap_err().to_string(), &[&missing.display().to_string(), "UTF-8"]);
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The Amazon reviews

#[test]
fn amazon_reviews_read_split_tokenize_and_batch_by_length() {
    let opts = TextDataOptions::default();
    let data = table(&amazon("training_data.csv"), "review", "score", None, &opts).unwrap();
    assert_eq!(data.len(), 4000);
    assert_eq!(data.classes(), ["great", "other"]);
    assert!(data.notes.is_empty(), "{:?}", data.notes);
    let raw = std::fs::read_to_string(amazon("training_data.csv")).unwrap();
    assert!(raw.contains("<br />"), "the file has HTML breaks to clean");
    assert!(data.texts.iter().all(|t| !t.to_lowercase().contains("<br")), "a <br> survived cleaning");
    assert_eq!(data.splits.sizes(), (3200, 800, 0));
    assert_eq!(data.keys[0], "row 1");
    let great = match &data.labels {
        Labels::Single { ids, .. } => ids.iter().filter(|&&c| c == 0).count(),
        other => panic!("{other:?}"),
    };
    assert!((2400..2800).contains(&great), "{great} great reviews of 4000");
    assert!(data.describe_labels().starts_with("2 classes (training texts: great "), "{}", data.describe_labels());
    // The split record is the same when read again, and names a different seed.
    let again = table(&amazon("training_data.csv"), "review", "score", None, &opts).unwrap();
    assert!(data.split_record(42).check_same(&again.split_record(42)).is_ok());
    let other = table(&amazon("training_data.csv"), "review", "score", None, &TextDataOptions { seed: 7, ..opts.clone() }).unwrap();
    assert!(data.split_record(42).check_same(&other.split_record(7)).unwrap_err().contains("seed"));

    // Tokenize every review once (release, all cores).
    let tok = minilm();
    let t = Instant::now();
    let ids = data.tokenize(&tok, 128).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
    assert!(lengths.iter().all(|&n| (3..=128).contains(&n)));
    assert!(ids.iter().all(|v| v[0] == 101 && *v.last().unwrap() == 102));
    let cut = lengths.iter().filter(|&&n| n == 128).count();
    eprintln!(
        "tokenized 4000 reviews (max_len 128) in {secs:.2} s on {} threads; mean {:.1} tokens, {cut} at 128",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        lengths.iter().sum::<usize>() as f64 / 4000.0
    );

    // Batches of 32: by length, and at random.
    let dls = text_loaders(&data, ids.clone(), tok.pad_id(), 32, 42, Device::flex()).unwrap();
    let bucketed = dls.train.epoch_batches(0);
    assert_eq!(bucketed.len(), 100);
    let longest = data.splits.train.iter().map(|&i| lengths[i]).max().unwrap();
    assert_eq!(bucketed[0].iter().map(|&i| lengths[i]).max().unwrap(), longest, "the longest text comes first");
    let plain = DataLoader::new(dls.train.dataset().clone(), data.splits.train.clone(), SplitKind::Train, Arc::new(kindling_nlp::data::TextBatcher { pad_id: 0 }), LoaderConfig::train(32, 42), Device::flex()).unwrap();
    let random = plain.epoch_batches(0);
    let (wb, wr) = (mean_width(&bucketed, &lengths), mean_width(&random, &lengths));
    let real = data.splits.train.iter().map(|&i| lengths[i]).sum::<usize>() as f64 / 3200.0;
    eprintln!("train batches of 32: mean padded length {wb:.1} by length, {wr:.1} at random (mean text {real:.1} tokens)");
    assert!(wb < 0.8 * wr && wb < real * 1.15, "bucketed {wb:.1}, random {wr:.1}, real {real:.1}");

    // Validation: in order of length, longest first; padding minimal.
    let v = dls.valid.indices().to_vec();
    assert_eq!(v.len(), 800);
    assert!(v.windows(2).all(|w| lengths[w[0]] >= lengths[w[1]]));
    let mut sorted = v.clone();
    sorted.sort();
    let mut split_valid = data.splits.valid.clone();
    split_valid.sort();
    assert_eq!(sorted, split_valid, "the validation loader has exactly the split's texts");
    assert_eq!(dls.valid.epoch_batches(0).concat(), v);
    let valid_random: Vec<Vec<usize>> = data.splits.valid.chunks(32).map(<[usize]>::to_vec).collect();
    eprintln!(
        "valid batches of 32: mean padded length {:.1} sorted, {:.1} in split order",
        mean_width(&dls.valid.epoch_batches(0), &lengths),
        mean_width(&valid_random, &lengths)
    );

    // The batches themselves: padded to their own longest text, mask on the tokens.
    let batch = dls.valid.iter(0).next().unwrap().unwrap();
    let first: Vec<usize> = v[..32].to_vec();
    let width = first.iter().map(|&i| lengths[i]).max().unwrap();
    assert_eq!(batch.ids.dims(), [32, width]);
    let mask: Vec<i64> = batch.mask.to_data().convert::<i64>().try_to_vec().unwrap();
    for (r, &i) in first.iter().enumerate() {
        assert_eq!(mask[r * width..(r + 1) * width].iter().sum::<i64>() as usize, lengths[i]);
    }
    assert!(matches!(batch.target, Target::Classes(ref t) if t.dims() == [32]));

    // TextData::dataloaders keeps the counts for the command's report.
    let dls2 = data.dataloaders(&tok, 128, 32, 42, &Device::flex()).unwrap();
    assert_eq!(dls2.train.epoch_batches(0), bucketed);
    assert_eq!(data.train_tokens() + data.valid_tokens(), lengths.iter().sum::<usize>());
    assert!(data.describe_lengths().contains("reach --max-len 128"), "{}", data.describe_lengths());

    // The test file, and texts alone for prediction.
    let test = table(&amazon("testing_data.csv"), "review", "score", None, &TextDataOptions { valid_pct: 0.0, ..opts }).unwrap();
    assert_eq!((test.len(), test.splits.sizes()), (1000, (1000, 0, 0)));
    let texts = read_text_column(&amazon("testing_data.csv"), "review").unwrap();
    assert_eq!(texts, test.texts);
}

// ---------------------------------------------------------------------------------------------
// Multi-label, regression, a validation column, Parquet

#[test]
fn multi_label_regression_valid_column_and_parquet() {
    let dir = tmp("kinds");
    let csv = dir.join("news.csv");
    std::fs::write(
        &csv,
        "text,tags,score,is_valid\n\
         \"Stocks rose, as did\nbond yields\",finance;economy,0.5,0\n\
         A new telescope<br />sees further,science,1.25,false\n\
         Rates and rockets,economy; science ,-2,1\n\
         Nothing to tag here,,3,True\n\
         Markets and moons,finance;science;finance,4e-1,0\n",
    )
    .unwrap();
    let multi = TextDataOptions { kind: LabelKind::multi_default(), valid_pct: 0.0, ..TextDataOptions::default() };
    let data = table(&csv, "text", "tags", Some("is_valid"), &multi).unwrap();
    assert_eq!(data.classes(), ["economy", "finance", "science"]);
    assert_eq!(data.labels, Labels::Multi { sets: vec![vec![0, 1], vec![2], vec![0, 2], vec![], vec![1, 2]], classes: data.classes().to_vec() });
    assert_eq!((data.splits.train.clone(), data.splits.valid.clone()), (vec![0, 1, 4], vec![2, 3]));
    assert_eq!(data.split_method, "column 'is_valid'");
    assert_eq!(data.texts[0], "Stocks rose, as did\nbond yields");
    assert_eq!(data.texts[1], "A new telescope sees further");
    let tok = minilm();
    let dls = data.dataloaders(&tok, 16, 2, 1, &Device::flex()).unwrap();
    let b = dls.train.iter(0).next().unwrap().unwrap();
    assert!(matches!(b.target, Target::Values(ref t) if t.dims() == [2, 3]), "{:?}", b.target);
    let hot: Vec<f32> = dls.valid.iter(0).flat_map(|b| match b.unwrap().target {
        Target::Values(t) => t.to_data().convert::<f32>().try_to_vec::<f32>().unwrap(),
        Target::Classes(_) => panic!("multi-label targets are values"),
    }).collect();
    // Valid texts longest first: row 3 ("Rates and rockets", 2 labels) is shorter than row 4.
    assert_eq!(hot.len(), 6);
    assert_eq!(hot.iter().sum::<f32>(), 2.0);

    // The same file as a regression on `score`.
    let reg = TextDataOptions { kind: LabelKind::Regression, ..TextDataOptions::default() };
    let data = table(&csv, "text", "score", Some("is_valid"), &reg).unwrap();
    assert_eq!(data.labels, Labels::Values(vec![0.5, 1.25, -2.0, 3.0, 0.4]));
    assert_eq!(data.n_out(), 1);
    let dls = data.dataloaders(&tok, 16, 8, 1, &Device::flex()).unwrap();
    let b = dls.valid.iter(0).next().unwrap().unwrap();
    assert!(matches!(b.target, Target::Values(ref t) if t.dims() == [2, 1]));
    // Numbers as classes unless regression is asked for, with a note saying so.
    let data = table(&csv, "text", "score", None, &TextDataOptions { valid_pct: 0.4, ..TextDataOptions::default() }).unwrap();
    assert_eq!(data.classes(), ["-2", "4e-1", "0.5", "1.25", "3"]);
    assert!(data.notes[0].contains("--regression"), "{:?}", data.notes);

    // Parquet: typed columns (a boolean validation column, numbers) read the same.
    use polars::prelude::*;
    let mut df = df!(
        "review" => ["good stuff", "bad stuff", "fine<br>stuff", "awful"],
        "stars" => [5i64, 1, 3, 1],
        "valid" => [false, false, true, true],
    )
    .unwrap();
    let pq = dir.join("reviews.parquet");
    ParquetWriter::new(std::fs::File::create(&pq).unwrap()).finish(&mut df).unwrap();
    let data = table(&pq, "review", "stars", Some("valid"), &TextDataOptions::default()).unwrap();
    assert_eq!(data.classes(), ["1", "3", "5"]);
    assert_eq!(data.texts[2], "fine stuff");
    assert_eq!(data.splits.valid, vec![2, 3]);
    let data = table(&pq, "review", "stars", Some("valid"), &reg).unwrap();
    assert_eq!(data.labels, Labels::Values(vec![5.0, 1.0, 3.0, 1.0]));
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// A folder per class

fn write(path: &Path, text: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn folders(dir: &Path) -> kindling_core::Result<TextData> {
    TextData::load(&TextSource::Folders { dir: dir.into() }, &TextDataOptions { valid_pct: 0.25, ..TextDataOptions::default() })
}

#[test]
fn a_folder_per_class_with_and_without_train_valid_folders() {
    // IMDb: train/ and test/ (the test folder validates, as fastai's valid='test'), unsup/ skipped.
    let imdb = tmp("imdb");
    for (split, n) in [("train", 6), ("test", 2)] {
        for class in ["pos", "neg"] {
            for k in 0..n {
                write(&imdb.join(format!("{split}/{class}/{k}_7.txt")), format!("A {class} review<br /><br />number {k}.").as_bytes());
            }
        }
    }
    write(&imdb.join("train/unsup/0_0.txt"), b"unlabelled");
    write(&imdb.join("README"), b"not a text");
    write(&imdb.join("train/pos/notes.md"), b"not a .txt");
    let data = folders(&imdb).unwrap();
    assert_eq!(data.len(), 16);
    assert_eq!(data.classes(), ["neg", "pos"]);
    assert_eq!(data.splits.sizes(), (12, 4, 0));
    assert_eq!(data.split_method, "folders train/test");
    assert!(data.splits.valid.iter().all(|&i| data.keys[i].starts_with("test/")));
    assert_eq!(data.keys[0], "train/neg/0_7.txt");
    assert_eq!(data.texts[0], "A neg review  number 0.");
    assert!(data.notes.iter().any(|n| n.contains("unsup") && n.contains("skipped")), "{:?}", data.notes);

    // valid/ validates and test/ is held out.
    for class in ["pos", "neg"] {
        write(&imdb.join(format!("valid/{class}/v.txt")), b"a validation text");
    }
    let data = folders(&imdb).unwrap();
    assert_eq!(data.splits.sizes(), (12, 2, 4));
    assert_eq!(data.split_method, "folders train/valid (test held out)");

    // DIR/CLASS/*.txt: a random split, the same for the same seed.
    let flat = tmp("flat");
    for class in ["spam", "ham", "eggs"] {
        for k in 0..8 {
            write(&flat.join(format!("{class}/{k}.txt")), format!("{class} text {k}").as_bytes());
        }
    }
    let data = folders(&flat).unwrap();
    assert_eq!(data.classes(), ["eggs", "ham", "spam"]);
    assert_eq!(data.splits.sizes(), (18, 6, 0));
    assert_eq!(data.split_method, "random, valid_pct 0.25");
    assert_eq!(data.split_record(42), folders(&flat).unwrap().split_record(42));
    let dls = data.dataloaders(&minilm(), 32, 4, 42, &Device::flex()).unwrap();
    assert_eq!(dls.train.len(), 4);
    std::fs::remove_dir_all(imdb).unwrap();
    std::fs::remove_dir_all(flat).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_tables_are_refused_naming_the_file_row_or_column() {
    let dir = tmp("bad");
    let csv = |name: &str, body: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let single = TextDataOptions::default();
    let good = csv("good.csv", b"text,label\na,x\nb,y\nc,x\nd,y\ne,x\n");
    let f = good.display().to_string();

    let m = err(table(&good, "review", "label", None, &single));
    assert_names(&m, &[&f, "column 'review' does not exist", "the columns are: text, label"]);
    let m = err(table(&good, "text", "label", Some("is_valid"), &single));
    assert_names(&m, &[&f, "'is_valid'", "text, label"]);

    let p = csv("empty_text.csv", b"text,label\na,x\n<br />,y\nc,x\n");
    assert_names(&err(table(&p, "text", "label", None, &single)), &[&p.display().to_string(), "row 2", "column 'text'", "empty", "counted from 1 after the header"]);
    let p = csv("null_text.csv", b"text,label\na,x\nb,y\n,x\n");
    assert_names(&err(table(&p, "text", "label", None, &single)), &["row 3", "empty"]);

    let p = csv("null_label.csv", b"text,label\na,x\nb,y\nc,\nd,x\n");
    assert_names(&err(table(&p, "text", "label", None, &single)), &[&p.display().to_string(), "row 3", "column 'label'", "missing"]);

    let p = csv("one_class.csv", b"text,label\na,x\nb,x\nc,x\n");
    assert_names(&err(table(&p, "text", "label", None, &single)), &[&p.display().to_string(), "column 'label'", "only one class ('x')"]);

    let mut bytes = b"text,label\na,x\n\"two\nlines\",y\n".to_vec();
    bytes.extend_from_slice(b"caf\xe9 latin-1,x\nd,y\n");
    let p = csv("latin1.csv", &bytes);
    assert_names(&err(table(&p, "text", "label", None, &single)), &[&p.display().to_string(), "row 3", "line 5", "not UTF-8"]);

    let reg = TextDataOptions { kind: LabelKind::Regression, ..TextDataOptions::default() };
    let p = csv("nan.csv", b"text,y\na,1\nb,NaN\nc,2\n");
    assert_names(&err(table(&p, "text", "y", None, &reg)), &[&p.display().to_string(), "row 2", "'NaN'", "not a finite number"]);
    let p = csv("inf.csv", b"text,y\na,1\nb,2\nc,-inf\n");
    assert_names(&err(table(&p, "text", "y", None, &reg)), &["row 3", "'-inf'", "not a finite number"]);
    let p = csv("word.csv", b"text,y\na,1\nb,lots\n");
    assert_names(&err(table(&p, "text", "y", None, &reg)), &["row 2", "'lots'", "not a number"]);

    let p = csv("valid_col.csv", b"text,label,v\na,x,0\nb,y,maybe\nc,x,1\n");
    assert_names(&err(table(&p, "text", "label", Some("v"), &single)), &[&p.display().to_string(), "row 2", "'maybe'", "column 'v'"]);
    let p = csv("valid_empty.csv", b"text,label,v\na,x,0\nb,y,0\nc,x,0\n");
    assert_names(&err(table(&p, "text", "label", Some("v"), &single)), &["validation set empty"]);

    let p = csv("empty.csv", b"");
    assert_names(&err(table(&p, "text", "label", None, &single)), &[&p.display().to_string(), "empty"]);
    let missing = dir.join("nope.csv");
    assert_names(&err(table(&missing, "text", "label", None, &single)), &[&missing.display().to_string(), "no such file"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_folders_are_refused_naming_the_file() {
    let dir = tmp("badfolders");
    write(&dir.join("pos/a.txt"), b"good");
    write(&dir.join("neg/b.txt"), b"bad");
    write(&dir.join("neg/c.txt"), b"caf\xe9");
    let bad = dir.join("neg/c.txt").display().to_string();
    assert_names(&err(folders(&dir)), &[&bad, "not UTF-8"]);
    write(&dir.join("neg/c.txt"), b"  <br />\n");
    assert_names(&err(folders(&dir)), &[&bad, "is empty"]);
    std::fs::remove_file(dir.join("neg/c.txt")).unwrap();
    std::fs::remove_dir_all(dir.join("neg")).unwrap();
    assert_names(&err(folders(&dir)), &["only one class ('pos')", &dir.display().to_string()]);
    let multi = TextDataOptions { kind: LabelKind::multi_default(), ..TextDataOptions::default() };
    assert_names(&err(TextData::load(&TextSource::Folders { dir: dir.clone() }, &multi)), &["--text-dir", "multi-label"]);
    let empty = tmp("emptyfolder");
    assert_names(&err(folders(&empty)), &[&empty.display().to_string(), "no .txt files"]);
    assert_names(&err(folders(&empty.join("nope"))), &["nope", "no such folder"]);
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(empty).unwrap();
}
