//! Evaluation figures: per-category recall and precision, macro recall and the confusion
//! table.

use crate::taxonomy::CategoryId;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Recall and precision of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryFigures {
    pub category: CategoryId,
    /// Texts whose true category this is.
    pub support: usize,
    /// Texts predicted as this category.
    pub predicted: usize,
    pub recall: f64,
    pub precision: f64,
}

/// A confusion table: `counts[true][predicted]` over `labels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub labels: Vec<CategoryId>,
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// An empty table over `labels` (true labels and predictions must be among them).
    pub fn new(labels: Vec<CategoryId>) -> Self {
        let n = labels.len();
        Self {
            labels,
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

    /// Figures per category (categories with neither support nor predictions left out).
    pub fn per_category(&self) -> Vec<CategoryFigures> {
        let n = self.labels.len();
        (0..n)
            .map(|i| {
                let support: usize = self.counts[i].iter().sum();
                let predicted: usize = (0..n).map(|t| self.counts[t][i]).sum();
                CategoryFigures {
                    category: self.labels[i].clone(),
                    support,
                    predicted,
                    recall: ratio(self.counts[i][i], support),
                    precision: ratio(self.counts[i][i], predicted),
                }
            })
            .filter(|f| f.support > 0 || f.predicted > 0)
            .collect()
    }

    /// Mean recall over the categories that have texts.
    pub fn macro_recall(&self) -> f64 {
        let with_support: Vec<f64> = self
            .per_category()
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
            "category", "support", "predicted", "recall", "precision"
        );
        for f in self.per_category() {
            let _ = writeln!(
                out,
                "{:<22} {:>7} {:>9} {:>7.3} {:>9.3}",
                f.category, f.support, f.predicted, f.recall, f.precision
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
            let _ = write!(out, " {:>6}", short(self.labels[j].as_str()));
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
        let mut c = Confusion::new(vec!["a".into(), "b".into(), "c".into()]);
        for (t, p) in [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")] {
            assert!(c.add(t, p));
        }
        assert!(!c.add("z", "a"));
        let f = c.per_category();
        assert_eq!(f.len(), 2, "c has neither support nor predictions");
        assert_eq!(f[0].recall, 0.5);
        assert_eq!(f[1].precision, 2.0 / 3.0);
        assert_eq!(c.macro_recall(), 0.75);
        assert!(c.report().contains("macro recall 0.750"));
    }
}
