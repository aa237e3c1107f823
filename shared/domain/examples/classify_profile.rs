//! A plain loop over the evaluation split, for profilers (criterion's harness gets in
//! the way of `valgrind --tool=callgrind`) and for CPU time on a busy machine.
//!
//! `cargo run --release -p redress-domain --example classify_profile -- en|zh [classifier|model]`
//!
//! `TAKE` texts (default 400) of the language's evaluation split, `ITERS` passes (default
//! 3). Only `hot` does the work, so callgrind can count it alone:
//! `valgrind --tool=callgrind --toggle-collect='classify_profile::hot' <binary> en`.
//! `dump` instead prints every labelled text's classification (with no choice and with a
//! borrower's choice of `payments`), to compare two versions of the code byte for byte.

use redress_domain::classify::Classifier;
use redress_domain::config::DomainConfig;
use redress_domain::model::data::{LabelMap, LABELS_TOML};
use redress_domain::model::pipeline::{splits, Material};
use redress_domain::model::LanguageModel;
use redress_domain::taxonomy::Language;
use std::hint::black_box;
use std::path::PathBuf;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let dir = match std::env::var_os("REDRESS_TRAINING_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/training"),
    };
    let en = std::fs::read_to_string(dir.join("complaints_en.csv")).expect("complaints_en.csv");
    let zh = std::fs::read_to_string(dir.join("complaints_zh.csv")).expect("complaints_zh.csv");
    let labels = LabelMap::from_toml(LABELS_TOML).expect("labels.toml");
    let config = DomainConfig::bundled().expect("bundled config");
    let model = config.classifier.model().expect("a model").0;
    let material = Material {
        english_csv: &en,
        chinese_csv: &zh,
        files: vec![],
        labels: &labels,
    };
    let s = splits(&material, model.meta.seed).expect("split");
    let which = std::env::args().nth(1).unwrap_or_else(|| "en".into());
    if which == "dump" {
        for name in ["en", "zh"] {
            for r in s.train[name].iter().chain(s.eval[name].iter()) {
                let c = config.classifier.classify(&r.text, None);
                println!(
                    "{} {} {:?} {} {:?} {:?}",
                    r.id, c.category, c.signals, c.reason, c.confidence, c.model
                );
                let c = config.classifier.classify(&r.text, Some("payments"));
                println!("{} {} {:?} {}", r.id, c.category, c.signals, c.reason);
            }
        }
        return;
    }
    let mode = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "classifier".into());
    let Some(records) = s.eval.get(which.as_str()) else {
        eprintln!("language en or zh, or dump");
        return;
    };
    let texts: Vec<&str> = records
        .iter()
        .map(|r| r.text.as_str())
        .take(env_or("TAKE", 400))
        .collect();
    let language = if which == "en" {
        Language::English
    } else {
        Language::Chinese
    };
    let lm = model.language(language).expect("weights for the language");
    let iters = env_or("ITERS", 3);
    let t = std::time::Instant::now();
    hot(&texts, iters, mode == "model", lm, &config.classifier);
    eprintln!(
        "{:.1} µs wall per text",
        t.elapsed().as_secs_f64() * 1e6 / (iters * texts.len()).max(1) as f64
    );
}

#[inline(never)]
fn hot(texts: &[&str], iters: usize, model_only: bool, lm: &LanguageModel, c: &Classifier) {
    for _ in 0..iters {
        for x in texts {
            if model_only {
                black_box(lm.predict(black_box(x), 5));
            } else {
                black_box(c.classify(black_box(x), None));
            }
        }
    }
}
