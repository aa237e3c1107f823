//! Classification speed over the evaluation split of the training material.
//!
//! The CSV files are read at run time from `REDRESS_TRAINING_DATA` or
//! `../shared/data/training` next to the repository (the texts never enter the
//! repository); without them the bench says so and measures nothing.
//!
//! `cargo bench -p redress-domain --bench classify`: criterion reports the time per
//! complaint (throughput in elements), for the model alone and for the whole classifier
//! (keywords, signals, model, evidence), per language. The target is < 50 µs.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use redress_domain::config::DomainConfig;
use redress_domain::model::data::{LabelMap, LABELS_TOML};
use redress_domain::model::pipeline::{splits, Material};
use redress_domain::model::TextModel;
use redress_domain::taxonomy::Language;
use std::hint::black_box;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    match std::env::var_os("REDRESS_TRAINING_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/training"),
    }
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let (Ok(en), Ok(zh)) = (
        std::fs::read_to_string(dir.join("complaints_en.csv")),
        std::fs::read_to_string(dir.join("complaints_zh.csv")),
    ) else {
        eprintln!("no training data in {}: nothing to measure", dir.display());
        return;
    };
    let labels = LabelMap::from_toml(LABELS_TOML).expect("labels.toml");
    let model = TextModel::bundled().expect("bundled model");
    let material = Material {
        english_csv: &en,
        chinese_csv: &zh,
        files: vec![],
        labels: &labels,
    };
    let s = splits(&material, model.meta.seed).expect("split");
    let config = DomainConfig::bundled().expect("bundled config");
    for (name, language) in [("en", Language::English), ("zh", Language::Chinese)] {
        let texts: Vec<&str> = s.eval[name].iter().map(|r| r.text.as_str()).collect();
        let Some(lm) = model.language(language) else {
            continue;
        };
        let mut g = c.benchmark_group(format!("classify_{name}"));
        g.throughput(Throughput::Elements(texts.len() as u64));
        g.sample_size(10);
        g.bench_function("model_only", |b| {
            b.iter(|| {
                for t in &texts {
                    black_box(lm.predict(black_box(t), 5));
                }
            })
        });
        g.bench_function("classifier", |b| {
            b.iter(|| {
                for t in &texts {
                    black_box(config.classifier.classify(black_box(t), None));
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
