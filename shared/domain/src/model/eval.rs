//! Evaluation figures: per-label recall and precision, macro recall and the confusion
//! table. The labels are categories, or teams when routing is judged.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Recall and precision of one label (a category or a team).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelFigures {
    pub label: String,
    /// Texts whose true label this is.
    pub support: usize,
    /// Texts predicted as this category.
    pub predicted: usize,
    pub recall: f64,
    pub precision: f64,
}

/// A confusion table: `counts[true][predicted]` over `labels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// What the labels are ("category", "team"): the report's first column heading.
    pub heading: String,
    pub labels: Vec<String>,
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// An empty table of categories (true labels and predictions must be among them).
    pub fn new<L: ToString>(labels: &[L]) -> Self {
        Self::with_heading("category", labels)
    }

    /// An empty table over `labels`, whose report heads the label column `heading`.
    pub fn with_heading<L: ToString>(heading: &str, labels: &[L]) -> Self {
        let n = labels.len();
        Self {
            heading: heading.to_string(),
            labels: labels.iter().map(ToString::to_string).collect(),
            counts: vec![vec![0; n]; n],
        }
    }

    /// Counts one text; a label not in the table is ignored and reported as `false`.
    pub fn add(&mut self, truth: &str, predicted: &str) -> bool {
        let t = self.labels.iter().position(|l| l == truth);
        let p = self.labels.iter().position(|l| l == predicted);
        match (t, p) {
            (Some(t), Some(p)) => {
                self.counts[t][p] += 1;
                true
            }
            _ => false,
        }
    }

    /// Texts counted.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Share of texts predicted right.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.labels.len()).map(|i| self.counts[i][i]).sum();
        ratio(right, self.total())
    }

    /// Figures per label (labels with neither support nor predictions left out).
    pub fn per_label(&self) -> Vec<LabelFigures> {
        let n = self.labels.len();
        (0..n)
            .map(|i| {
                let support: usize = self.counts[i].iter().sum();
                let predicted: usize = (0..n).map(|t| self.counts[t][i]).sum();
                LabelFigures {
                    label: self.labels[i].clone(),
                    support,
                    predicted,
                    recall: ratio(self.counts[i][i], support),
                    precision: ratio(self.counts[i][i], predicted),
                }
            })
            .filter(|f| f.support > 0 || f.predicted > 0)
            .collect()
    }

    /// Mean recall over the labels that have texts.
    pub fn macro_recall(&self) -> f64 {
        let with_support: Vec<f64> = self
            .per_label()
            .into_iter()
            .filter(|f| f.support > 0)
            .map(|f| f.recall)
            .collect();
        if with_support.is_empty() {
            0.0
        } else {
            with_support.iter().sum::<f64>() / with_support.len() as f64
        }
    }

    /// The figures and the table as text, for `redress evaluate`.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>9} {:>7} {:>9}",
            self.heading, "support", "predicted", "recall", "precision"
        );
        for f in self.per_label() {
            let _ = writeln!(
                out,
                "{:<22} {:>7} {:>9} {:>7.3} {:>9.3}",
                f.label, f.support, f.predicted, f.recall, f.precision
            );
        }
        let _ = writeln!(
            out,
            "macro recall {:.3}   accuracy {:.3}   texts {}",
            self.macro_recall(),
            self.accuracy(),
            self.total()
        );
        // Confusion table over the categories that appear, short column heads.
        let used: Vec<usize> = (0..self.labels.len())
            .filter(|&i| {
                self.counts[i].iter().sum::<usize>() > 0 || self.counts.iter().any(|row| row[i] > 0)
            })
            .collect();
        let _ = writeln!(out, "confusion (rows: true, columns: predicted)");
        let _ = write!(out, "{:<22}", "");
        for &j in &used {
            let _ = write!(out, " {:>6}", short(&self.labels[j]));
        }
        let _ = writeln!(out);
        for &i in &used {
            let _ = write!(out, "{:<22}", self.labels[i]);
            for &j in &used {
                let _ = write!(out, " {:>6}", self.counts[i][j]);
            }
            let _ = writeln!(out);
        }
        out
    }
}

fn short(label: &str) -> String {
    label.chars().take(6).collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_precision_and_macro_recall() {
        let mut c = Confusion::new(&["a", "b", "c"]);
        for (t, p) in [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")] {
            assert!(c.add(t, p));
        }
        assert!(!c.add("z", "a"));
        let f = c.per_label();
        assert_eq!(f.len(), 2, "c has neither support nor predictions");
        assert_eq!(f[0].recall, 0.5);
        assert_eq!(f[1].precision, 2.0 / 3.0);
        assert_eq!(c.macro_recall(), 0.75);
        assert!(c.report().contains("macro recall 0.750"));
        let mut teams = Confusion::with_heading("team", &["billing", "triage"]);
        assert!(teams.add("billing", "triage"));
        assert!(teams.report().starts_with("team "), "{}", teams.report());
        assert_eq!(teams.macro_recall(), 0.0);
    }
}
