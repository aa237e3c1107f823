//! How often each rule-driven signal fires on real complaints, and what it does to their
//! routing: the signals are keyword rules written by hand, so this is how they are
//! checked against text nobody here wrote.
//!
//! `cargo run --release -p redress-domain --example signal_audit [train|eval]`
//!
//! For every labelled text of the training split (or the evaluation split), it classifies
//! the text as the intake does (no borrower choice) and prints, per signal, how many
//! texts fire it, their labelled categories, and how many of them the signal sends to
//! another team than their labelled category's team. Tune the rules on `train`; report
//! `eval`.

use redress_domain::classify::Classifier;
use redress_domain::config::{CLASSIFICATION_TOML, ROUTING_TOML};
use redress_domain::model::data::{LabelMap, LABELS_TOML};
use redress_domain::model::pipeline::{self, Material};
use redress_domain::model::train::TrainSettings;
use redress_domain::model::TextModel;
use redress_domain::routing::{RouteInput, RoutingTable};
use redress_domain::taxonomy::{Channel, Signal};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

fn main() {
    let dir = match std::env::var_os("REDRESS_TRAINING_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/training"),
    };
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("a training file");
    let (en, zh) = (read("complaints_en.csv"), read("complaints_zh.csv"));
    let labels = LabelMap::from_toml(LABELS_TOML).expect("labels");
    let material = Material {
        english_csv: &en,
        chinese_csv: &zh,
        files: vec![],
        labels: &labels,
    };
    let splits = pipeline::splits(&material, TrainSettings::default().seed).expect("split");
    let which = std::env::args().nth(1).unwrap_or_else(|| "train".into());
    let side = if which == "eval" {
        &splits.eval
    } else {
        &splits.train
    };
    let model = Arc::new(TextModel::bundled().expect("the bundled model"));
    let classifier = Classifier::from_toml_with_model(CLASSIFICATION_TOML, model).expect("rules");
    let routing = RoutingTable::from_toml(ROUTING_TOML).expect("routing");
    let none = BTreeSet::new();
    for (name, records) in side {
        println!("== {name} ({which} split, {} texts)", records.len());
        // signal -> (fired, rerouted, labelled category -> count)
        let mut audit: BTreeMap<Signal, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
        for r in records {
            let c = classifier.classify(&r.text, None);
            let route = |signals: &BTreeSet<Signal>| {
                routing
                    .route(&RouteInput {
                        category: r.category.as_str(),
                        signals,
                        channel: Channel::Web,
                        product: "other",
                        confidence: None,
                    })
                    .team
            };
            let own_team = route(&none);
            for s in &c.signals {
                let e = audit.entry(*s).or_default();
                e.0 += 1;
                e.1 += usize::from(route(&BTreeSet::from([*s])) != own_team);
                *e.2.entry(r.category.to_string()).or_default() += 1;
            }
        }
        for (s, (fired, rerouted, by)) in audit {
            let mut by: Vec<_> = by.into_iter().collect();
            by.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
            let by: Vec<String> = by.iter().map(|(c, n)| format!("{c} {n}")).collect();
            println!(
                "{:<22} fires on {fired:>4} ({:.1}%), moves {rerouted:>4} to another team; labelled: {}",
                s.to_string(),
                100.0 * fired as f64 / records.len().max(1) as f64,
                by.join(", ")
            );
        }
    }
}
