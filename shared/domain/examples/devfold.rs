//! Choosing training settings on a development fold, never on the evaluation split.
//!
//! `cargo run --release -p redress-domain --example devfold -- '<settings json>' [en|zh]`
//!
//! Splits the material exactly as `redress train` does, then carves a development fold
//! (20% of the *training* split's near-duplicate groups, another seed) out of the
//! training split, trains on the rest and prints the figures on the fold. The settings
//! JSON overrides fields of `TrainSettings` (`{}` for the defaults). The training files
//! come from `REDRESS_TRAINING_DATA` or `../shared/data/training`; a label mapping other
//! than the bundled one from `REDRESS_LABELS`.
//!
//! More environment: `DEV_SEED` carves another development fold (average a choice over
//! a few: one fold's rare classes have a dozen texts, so one fold is noisy);
//! `REDRESS_EVAL_LABELS` judges the fold by another label mapping (train on one mapping,
//! score against another); `DIAG=1` lists the source labels the model gets wrong, and as
//! what.

use redress_domain::classify::Classifier;
use redress_domain::model::data::{LabelMap, LABELS_TOML};
use redress_domain::model::pipeline::{self, Material};
use redress_domain::model::train::TrainSettings;
use redress_domain::taxonomy::{CategoryId, Language};
use std::path::PathBuf;

fn main() {
    let dir = match std::env::var_os("REDRESS_TRAINING_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/training"),
    };
    let en = std::fs::read_to_string(dir.join("complaints_en.csv")).expect("complaints_en.csv");
    let zh = std::fs::read_to_string(dir.join("complaints_zh.csv")).expect("complaints_zh.csv");
    let labels_src = match std::env::var("REDRESS_LABELS") {
        Ok(p) => std::fs::read_to_string(p).expect("labels file"),
        Err(_) => LABELS_TOML.to_string(),
    };
    let labels = LabelMap::from_toml(&labels_src).expect("labels");
    let mut args = std::env::args().skip(1);
    let overrides: serde_json::Value =
        serde_json::from_str(&args.next().unwrap_or_else(|| "{}".into())).expect("settings json");
    let only = args.next();
    let mut s = serde_json::to_value(TrainSettings::default()).expect("settings");
    for (k, v) in overrides.as_object().expect("an object") {
        s[k] = v.clone();
    }
    let settings: TrainSettings = serde_json::from_value(s).expect("settings fields");
    let material = Material {
        english_csv: &en,
        chinese_csv: &zh,
        files: vec![],
        labels: &labels,
    };
    let splits = pipeline::splits(&material, settings.seed).expect("split");
    // The catalogue's categories, for the confusion tables.
    let categories: Vec<CategoryId> =
        Classifier::rules_from_toml(redress_domain::config::CLASSIFICATION_TOML)
            .expect("classification.toml")
            .categories()
            .iter()
            .map(|c| c.id.clone())
            .collect();
    for (name, language) in [("en", Language::English), ("zh", Language::Chinese)] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (fit, mut dev) = pipeline::dev_fold(
            &splits.train[name],
            std::env::var("DEV_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(settings.seed),
        );
        if let Ok(p) = std::env::var("REDRESS_EVAL_LABELS") {
            // Judge the dev fold by another label mapping (same rows, same split).
            let other = LabelMap::from_toml(&std::fs::read_to_string(p).expect("eval labels"))
                .expect("eval labels");
            let m2 = Material {
                english_csv: &en,
                chinese_csv: &zh,
                files: vec![],
                labels: &other,
            };
            let s2 = pipeline::splits(&m2, settings.seed).expect("split");
            let truth: std::collections::HashMap<String, CategoryId> = s2.train[name]
                .iter()
                .map(|r| (r.id.clone(), r.category.clone()))
                .collect();
            for r in dev.iter_mut() {
                r.category = truth[&r.id].clone();
            }
        }
        let t = std::time::Instant::now();
        let lm = pipeline::train_language(language, &fit, &settings);
        let c = pipeline::evaluate_model(&lm, &dev, &categories);
        println!(
            "== {name} dev fold: trained on {} texts in {:.1}s, {} features, temperature {}",
            fit.len(),
            t.elapsed().as_secs_f32(),
            lm.feature_count(),
            lm.temperature()
        );
        print!("{}", c.report());
        if std::env::var_os("DIAG").is_some() {
            // Which source labels the model gets wrong, and as what.
            let mut wrong: std::collections::BTreeMap<(String, String), usize> = Default::default();
            for r in &dev {
                let p = lm.predict(&r.text, 0);
                if p.top().category != r.category {
                    *wrong
                        .entry((r.group.clone(), p.top().category.to_string()))
                        .or_default() += 1;
                }
            }
            let mut v: Vec<_> = wrong.into_iter().collect();
            v.sort_by_key(|e| std::cmp::Reverse(e.1));
            for ((g, p), n) in v.into_iter().take(25) {
                println!("{n:>4}  {g} -> {p}");
            }
        }
    }
}
