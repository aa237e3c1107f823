//! `redress train` and `redress evaluate`: rebuild the text model from the training files,
//! and print its figures on the held-out evaluation split.
//!
//! The training files stay outside the repository (`../shared/data/training` by default);
//! only the model (weights, vocabulary, figures) is written into it.

use anyhow::{anyhow, Context, Result};
use redress_domain::classify::Classifier;
use redress_domain::model::data::{LabelMap, Record};
use redress_domain::model::eval::Confusion;
use redress_domain::model::pipeline::{self, Material};
use redress_domain::model::train::TrainSettings;
use redress_domain::model::{DataFile, TextModel};
use redress_domain::routing::{RouteInput, RoutingTable};
use redress_domain::taxonomy::{CategoryId, Channel, Language, Signal};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The training files a run reads, by name inside the data folder.
pub const ENGLISH_FILE: &str = "complaints_en.csv";
pub const CHINESE_FILE: &str = "complaints_zh.csv";

/// Where the training files are when no `--data` is given: `REDRESS_TRAINING_DATA`, else
/// `../shared/data/training` next to the repository.
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os("REDRESS_TRAINING_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/training"),
    }
}

/// The files read for a run, with their text and hash.
pub struct Inputs {
    pub english: String,
    pub chinese: String,
    pub labels_src: String,
    pub files: Vec<DataFile>,
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads the two CSV files from `data` and the label mapping from `labels` (the bundled
/// one when `None`).
pub fn read_inputs(data: &Path, labels: Option<&Path>) -> Result<Inputs> {
    let read = |name: &str| {
        let p = data.join(name);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    let english = read(ENGLISH_FILE)?;
    let chinese = read(CHINESE_FILE)?;
    let labels_src = match labels {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => redress_domain::model::data::LABELS_TOML.to_string(),
    };
    let rows = |s: &str| {
        redress_domain::model::data::parse_csv(s)
            .map(|r| r.len())
            .map_err(|e| anyhow!(e))
    };
    let files = vec![
        DataFile {
            file: ENGLISH_FILE.into(),
            sha256: sha256(english.as_bytes()),
            rows: rows(&english)?,
        },
        DataFile {
            file: CHINESE_FILE.into(),
            sha256: sha256(chinese.as_bytes()),
            rows: rows(&chinese)?,
        },
        DataFile {
            file: "labels.toml".into(),
            sha256: sha256(labels_src.as_bytes()),
            rows: 0,
        },
    ];
    Ok(Inputs {
        english,
        chinese,
        labels_src,
        files,
    })
}

/// Trains a model from `inputs`; returns the model and a human summary.
pub fn train(
    inputs: &Inputs,
    settings: &TrainSettings,
    version: &str,
    categories: &[CategoryId],
) -> Result<(TextModel, String)> {
    let labels = LabelMap::from_toml(&inputs.labels_src).map_err(|e| anyhow!(e))?;
    let material = Material {
        english_csv: &inputs.english,
        chinese_csv: &inputs.chinese,
        files: inputs.files.clone(),
        labels: &labels,
    };
    let (mut model, splits) =
        pipeline::train_model(&material, settings, version, categories).map_err(|e| anyhow!(e))?;
    record_routed_figures(&mut model, &splits)?;
    let mut summary = String::new();
    for (name, records) in &splits.train {
        let _ = writeln!(
            summary,
            "{name}: trained on {} texts, {} held out for evaluation",
            records.len(),
            splits.eval[name].len()
        );
    }
    if !splits.unmapped.is_empty() {
        let _ = writeln!(summary, "labels not mapped (rows left out):");
        for (label, n) in &splits.unmapped {
            let _ = writeln!(summary, "  {n:>5}  {label}");
        }
    }
    let _ = writeln!(
        summary,
        "evaluation: {}",
        serde_json::to_string(&model.meta.evaluation).unwrap_or_default()
    );
    Ok((model, summary))
}

/// How the whole classifier (model plus the bundled rules and `[model]` settings) does on
/// one language's evaluation records, what the triage threshold does with it, and which
/// team the routing table then picks.
struct Routed {
    confusion: Confusion,
    /// True team (the routing table's team for the true category) against the team the
    /// complaint is routed to (triage included, and signal rules such as vulnerability).
    teams: Confusion,
    triaged: usize,
    direct: usize,
    direct_right: usize,
}

fn routed(
    classifier: &Classifier,
    routing: &RoutingTable,
    records: &[Record],
    categories: &[CategoryId],
) -> Routed {
    let triage_below = routing.triage().map(|t| t.min_confidence);
    let team_ids: Vec<&str> = routing.teams().iter().map(|t| t.id.as_str()).collect();
    let mut r = Routed {
        confusion: Confusion::new(categories),
        teams: Confusion::with_heading("team", &team_ids),
        triaged: 0,
        direct: 0,
        direct_right: 0,
    };
    let no_signals = BTreeSet::new();
    let team_for = |category: &str, signals: &BTreeSet<Signal>, confidence: Option<f32>| {
        routing
            .route(&RouteInput {
                category,
                signals,
                channel: Channel::Web,
                product: "other",
                confidence,
            })
            .team
    };
    for rec in records {
        let got = classifier.classify(&rec.text, None);
        r.confusion
            .add(rec.category.as_str(), got.category.as_str());
        r.teams.add(
            team_for(rec.category.as_str(), &no_signals, None).as_str(),
            team_for(got.category.as_str(), &got.signals, got.confidence).as_str(),
        );
        if triage_below.is_some_and(|t| got.confidence.is_some_and(|c| c < t)) {
            r.triaged += 1;
        } else {
            r.direct += 1;
            r.direct_right += usize::from(got.category == rec.category);
        }
    }
    r
}

/// Adds to the model's recorded figures those of the classifier as routing uses it (the
/// bundled rules, `rule_min_score` and triage threshold), so that the model file says
/// what a ticket meets, not only what the model alone does.
fn record_routed_figures(model: &mut TextModel, splits: &pipeline::Splits) -> Result<()> {
    let classifier = Classifier::from_toml_with_model(
        redress_domain::config::CLASSIFICATION_TOML,
        std::sync::Arc::new(model.clone()),
    )?;
    let routing = RoutingTable::from_toml(redress_domain::config::ROUTING_TOML)?;
    let triage_below = routing.triage().map(|t| t.min_confidence);
    let rule_min_score = classifier.model().map(|(_, u)| u.rule_min_score);
    let categories: Vec<CategoryId> = classifier
        .categories()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    for name in ["en", "zh"] {
        let Some(records) = splits.eval.get(name) else {
            continue;
        };
        let r = routed(&classifier, &routing, records, &categories);
        let mut f = pipeline::figures(&r.confusion);
        f["rule_min_score"] = serde_json::json!(rule_min_score);
        f["triage_below"] = serde_json::json!(triage_below.map(|t| round3(f64::from(t))));
        f["triage_share"] =
            serde_json::json!(round3(r.triaged as f64 / records.len().max(1) as f64));
        f["direct_accuracy"] =
            serde_json::json!(round3(r.direct_right as f64 / r.direct.max(1) as f64));
        f["teams"] = pipeline::figures(&r.teams);
        if let Some(e) = model.meta.evaluation.get_mut(name) {
            e["routed"] = f;
        }
    }
    Ok(())
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The evaluation report: per language, the model alone, then the whole classifier
/// (model plus rules) as routing uses it.
///
/// Then what `routing` does with it: the share of texts its triage threshold sends to the
/// triage team, the accuracy on the rest, and the team each text reaches against the
/// team of its true category (what a misroute costs is a transfer between teams, so two
/// categories one team handles are not told apart there).
pub fn evaluate(
    inputs: &Inputs,
    model: &TextModel,
    classifier: &Classifier,
    routing: &RoutingTable,
) -> Result<String> {
    let triage_below = routing.triage().map(|t| t.min_confidence);
    let labels = LabelMap::from_toml(&inputs.labels_src).map_err(|e| anyhow!(e))?;
    let material = Material {
        english_csv: &inputs.english,
        chinese_csv: &inputs.chinese,
        files: inputs.files.clone(),
        labels: &labels,
    };
    let splits = pipeline::splits(&material, model.meta.seed).map_err(|e| anyhow!(e))?;
    let categories: Vec<CategoryId> = classifier
        .categories()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model {} (seed {}), evaluation split: {}% of near-duplicate groups, never trained on",
        model.meta.version,
        model.meta.seed,
        pipeline::EVAL_PERCENT
    );
    for data in &model.meta.data {
        if let Some(now) = inputs.files.iter().find(|f| f.file == data.file) {
            if now.sha256 != data.sha256 {
                let _ = writeln!(
                    out,
                    "warning: {} differs from the file the model was trained on",
                    data.file
                );
            }
        }
    }
    for (name, language) in [("en", Language::English), ("zh", Language::Chinese)] {
        let records: &[Record] = &splits.eval[name];
        let Some(lm) = model.language(language) else {
            let _ = writeln!(
                out,
                "\n== {name}: the model has no weights for this language"
            );
            continue;
        };
        let c = pipeline::evaluate_model(lm, records, &categories);
        let _ = writeln!(
            out,
            "\n== {name}: model alone ({} texts; classes {})\n{}",
            records.len(),
            lm.classes.join(", "),
            c.report()
        );
        let Routed {
            confusion: routed,
            teams,
            triaged,
            direct,
            direct_right,
        } = routed(classifier, routing, records, &categories);
        let _ = writeln!(
            out,
            "== {name}: classifier as routing uses it (model + rules for categories the model lacks)\n{}",
            routed.report()
        );
        if let Some(t) = triage_below {
            let _ = writeln!(
                out,
                "triage (model confidence below {t}): {triaged} of {} texts ({:.1}%); category right for {:.1}% of the {direct} routed directly\n",
                records.len(),
                100.0 * triaged as f64 / records.len().max(1) as f64,
                100.0 * direct_right as f64 / direct.max(1) as f64
            );
        }
        let _ = writeln!(
            out,
            "== {name}: team reached (rows: the true category's team; triage counts as wrong)\n{}",
            teams.report()
        );
    }
    Ok(out)
}
