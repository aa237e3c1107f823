//! The whole training run, from the CSV texts to a model with its evaluation figures:
//! label, split (near-duplicates kept together), train per language, evaluate the
//! model exactly as it will be written on the held-out split.

use super::data::{self, LabelMap, Record};
use super::eval::Confusion;
use super::train::{self, Example, TrainSettings};
use super::{DataFile, LanguageModel, ModelMeta, TextModel};
use crate::taxonomy::{CategoryId, Language};
use serde_json::json;
use std::collections::BTreeMap;

/// Share of near-duplicate groups kept for evaluation, in percent.
pub const EVAL_PERCENT: u64 = 20;

/// A class needs at least this many training texts in a language to be learned there;
/// rarer categories are left to the rules (they stay in evaluation).
pub const MIN_CLASS_EXAMPLES: usize = 20;

/// The training material, already read.
pub struct Material<'a> {
    /// `complaints_en.csv`.
    pub english_csv: &'a str,
    /// `complaints_zh.csv`.
    pub chinese_csv: &'a str,
    /// The files with their sha256 (recorded in the model).
    pub files: Vec<DataFile>,
    pub labels: &'a LabelMap,
}

/// Labelled records split into training and evaluation sets, per language.
pub struct Splits {
    pub train: BTreeMap<&'static str, Vec<Record>>,
    pub eval: BTreeMap<&'static str, Vec<Record>>,
    /// Rows whose label is not mapped, by label.
    pub unmapped: BTreeMap<String, usize>,
}

/// Labels and splits the material. The split depends only on the ids, the texts (for
/// near-duplicates) and the seed.
pub fn splits(m: &Material, seed: u64) -> Result<Splits, String> {
    let (en, mut unmapped) = data::english_records(m.english_csv, m.labels)?;
    let (zh, un_zh) = data::chinese_records(m.chinese_csv, m.labels)?;
    unmapped.extend(un_zh);
    let mut train = BTreeMap::new();
    let mut eval = BTreeMap::new();
    for (name, records) in [("en", en), ("zh", zh)] {
        let (t, e) = data::split(records, seed, EVAL_PERCENT);
        train.insert(name, t);
        eval.insert(name, e);
    }
    Ok(Splits {
        train,
        eval,
        unmapped,
    })
}

/// Mixed into the seed to carve the development fold out of the training split.
const DEV_SALT: u64 = 0xDE5E_1EC7;

/// The training split cut in two, (fit, dev), for choosing settings: 20% of its
/// near-duplicate groups (another seed than the evaluation split's) form the development
/// fold. Settings are chosen on it, never on the evaluation split.
pub fn dev_fold(train: &[Record], seed: u64) -> (Vec<Record>, Vec<Record>) {
    data::split(train.to_vec(), seed ^ DEV_SALT, 20)
}

/// Trains one language on `records`, then calibrates its probabilities: a first model
/// trained on 80% of `records` gives its scores on the other 20%, and the temperature
/// that minimises their log loss is kept for the model trained on all of `records`.
pub fn train_language(
    language: Language,
    records: &[Record],
    settings: &TrainSettings,
) -> LanguageModel {
    let (fit, held): (Vec<Record>, Vec<Record>) = records
        .iter()
        .cloned()
        .partition(|r| !data::in_eval_split(&r.id, settings.seed ^ CALIBRATION_SALT, 20));
    let first = train_uncalibrated(language, &fit, settings);
    let temperature = fit_temperature(&first, &held);
    train_uncalibrated(language, records, settings).with_temperature(temperature)
}

/// Mixed into the seed to pick the calibration records (apart from the evaluation split).
const CALIBRATION_SALT: u64 = 0xCA11_B4A7;

/// The temperature (0.05–5, in steps of 0.05) with the least mean log loss on `held`.
fn fit_temperature(model: &LanguageModel, held: &[Record]) -> f32 {
    let known: Vec<(Vec<f32>, usize)> = held
        .iter()
        .filter_map(|r| {
            model
                .classes
                .iter()
                .position(|c| *c == r.category)
                .map(|i| (model.raw_scores(&r.text), i))
        })
        .collect();
    if known.is_empty() {
        return 1.0;
    }
    let mut best = (f64::INFINITY, 1.0f32);
    for step in 1..=100 {
        let t = step as f32 * 0.05;
        let loss: f64 = known
            .iter()
            .map(|(scores, i)| {
                let scaled: Vec<f32> = scores.iter().map(|s| s / t).collect();
                -f64::from(super::softmax(&scaled)[*i].max(1e-9)).ln()
            })
            .sum::<f64>()
            / known.len() as f64;
        if loss < best.0 {
            best = (loss, t);
        }
    }
    best.1
}

/// Trains one language on `records`; classes rarer than [`MIN_CLASS_EXAMPLES`] are left out.
fn train_uncalibrated(
    language: Language,
    records: &[Record],
    settings: &TrainSettings,
) -> LanguageModel {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        *counts.entry(r.category.as_str()).or_default() += 1;
    }
    let classes: Vec<CategoryId> = counts
        .iter()
        .filter(|(_, &n)| n >= MIN_CLASS_EXAMPLES)
        .map(|(c, _)| CategoryId::new(*c))
        .collect();
    let examples: Vec<Example> = records
        .iter()
        .filter_map(|r| {
            classes
                .iter()
                .position(|c| *c == r.category)
                .map(|class| Example {
                    text: &r.text,
                    class,
                    group: &r.group,
                })
        })
        .collect();
    train::train(language, &classes, &examples, settings)
}

/// The model's own confusion on `records` (model only, no rules).
pub fn evaluate_model(
    model: &LanguageModel,
    records: &[Record],
    labels: &[CategoryId],
) -> Confusion {
    let mut c = Confusion::new(labels);
    for r in records {
        let p = model.predict(&r.text, 0);
        c.add(r.category.as_str(), p.top().category.as_str());
    }
    c
}

/// The figures of one confusion table, for the model's metadata.
pub fn figures(c: &Confusion) -> serde_json::Value {
    json!({
        "texts": c.total(),
        "macro_recall": round3(c.macro_recall()),
        "accuracy": round3(c.accuracy()),
        "recall": c.per_label().iter().filter(|f| f.support > 0)
            .map(|f| (f.label.clone(), json!(round3(f.recall)))).collect::<serde_json::Map<_, _>>(),
        "precision": c.per_label().iter().filter(|f| f.predicted > 0)
            .map(|f| (f.label.clone(), json!(round3(f.precision)))).collect::<serde_json::Map<_, _>>(),
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Trains the model on the training split and records its figures on the evaluation split.
/// `categories` is the catalogue (for the confusion tables).
pub fn train_model(
    m: &Material,
    settings: &TrainSettings,
    version: &str,
    categories: &[CategoryId],
) -> Result<(TextModel, Splits), String> {
    let s = splits(m, settings.seed)?;
    let mut languages = Vec::new();
    let mut evaluation = serde_json::Map::new();
    for (name, language) in [("en", Language::English), ("zh", Language::Chinese)] {
        let trained = train_language(language, &s.train[name], settings);
        // Evaluate what will be read back from the file, not the in-memory weights.
        let text = TextModel::new(placeholder_meta(), vec![trained]).to_text();
        let shipped = TextModel::parse(&text).map_err(|e| e.to_string())?;
        let lm = shipped
            .language(language)
            .cloned()
            .ok_or("the trained model lost its language")?;
        let c = evaluate_model(&lm, &s.eval[name], categories);
        let mut f = figures(&c);
        f["train_texts"] = json!(s.train[name].len());
        f["features"] = json!(lm.feature_count());
        evaluation.insert(name.to_string(), f);
        languages.push(lm);
    }
    let meta = ModelMeta {
        version: version.to_string(),
        seed: settings.seed,
        data: m.files.clone(),
        settings: json!({
            "train": settings,
            "eval_percent": EVAL_PERCENT,
            "min_class_examples": MIN_CLASS_EXAMPLES,
            "near_duplicate_threshold": 0.8,
            "labels_sha256": m.files.iter().find(|f| f.file == "labels.toml").map(|f| f.sha256.clone()),
        }),
        evaluation: serde_json::Value::Object(evaluation),
    };
    Ok((TextModel::new(meta, languages), s))
}

fn placeholder_meta() -> ModelMeta {
    ModelMeta {
        version: String::new(),
        seed: 0,
        data: Vec::new(),
        settings: json!({}),
        evaluation: json!({}),
    }
}
