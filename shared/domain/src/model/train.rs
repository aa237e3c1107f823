//! Training a [`LanguageModel`]: multinomial logistic regression by stochastic gradient
//! descent with exact L2 regularisation (the weight-scale trick), seeded shuffles and
//! single-threaded arithmetic, so the same data and settings give the same bytes.

use super::{for_each_feature, LanguageModel};
use crate::taxonomy::{CategoryId, Language};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Training settings. The defaults are what the bundled model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Seed of the shuffles (and, in `data`, of the split).
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: u32,
    /// L2 penalty per example.
    pub l2: f64,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Class weights are `(n / (k × n_class))^power`: 1 is fully balanced, 0 ignores the skew.
    pub class_weight_power: f64,
    /// Within a class, each source label (e.g. a CFPB issue) is weighted by
    /// `(mean group size / group size)^power`, so one big issue does not define the class.
    pub group_weight_power: f64,
    /// An n-gram must occur in at least this many training texts.
    pub min_df: u32,
    /// At most this many n-grams per language (the most frequent are kept).
    pub max_features: usize,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            seed: 20261202,
            epochs: 12,
            l2: 1e-3,
            learning_rate: 0.5,
            class_weight_power: 1.0,
            group_weight_power: 0.0,
            min_df: 3,
            max_features: 24_000,
        }
    }
}

/// One labelled training text.
#[derive(Debug, Clone)]
pub struct Example<'a> {
    pub text: &'a str,
    /// Index into the class list.
    pub class: usize,
    /// The label it came from (a CFPB issue, a Chinese label); groups for weighting.
    pub group: &'a str,
}

/// A deterministic 64-bit generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Per-example weights: class balance times group balance inside the class.
pub fn example_weights(examples: &[Example], classes: usize, s: &TrainSettings) -> Vec<f64> {
    let n = examples.len() as f64;
    let mut class_n = vec![0usize; classes];
    let mut group_n: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for e in examples {
        class_n[e.class] += 1;
        *group_n.entry((e.class, e.group)).or_default() += 1;
    }
    let present = class_n.iter().filter(|&&c| c > 0).count().max(1) as f64;
    let class_w: Vec<f64> = class_n
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (n / (present * c as f64)).powf(s.class_weight_power)
            }
        })
        .collect();
    // Mean group size per class, then each group's factor, normalised so that a class's
    // total weight is unchanged by the group weighting.
    let mut raw = vec![0.0; examples.len()];
    let mut class_raw_sum = vec![0.0; classes];
    for (i, e) in examples.iter().enumerate() {
        let groups = group_n.keys().filter(|(c, _)| *c == e.class).count() as f64;
        let mean = class_n[e.class] as f64 / groups;
        let g = group_n[&(e.class, e.group)] as f64;
        raw[i] = (mean / g).powf(s.group_weight_power);
        class_raw_sum[e.class] += raw[i];
    }
    examples
        .iter()
        .enumerate()
        .map(|(i, e)| class_w[e.class] * raw[i] * class_n[e.class] as f64 / class_raw_sum[e.class])
        .collect()
}

/// Trains one language's model on `examples` (labels index into `classes`).
pub fn train(
    language: Language,
    classes: &[CategoryId],
    examples: &[Example],
    s: &TrainSettings,
) -> LanguageModel {
    let k = classes.len();
    // 1. Vocabulary: document frequency of every n-gram, keeping its text.
    let mut df: HashMap<u64, (u32, String)> = HashMap::new();
    let mut doc_keys: Vec<Vec<u64>> = Vec::with_capacity(examples.len());
    for e in examples {
        let mut keys = Vec::new();
        for_each_feature(language, e.text, |key, _| keys.push(key));
        keys.sort_unstable();
        let mut uniq = keys.clone();
        uniq.dedup();
        for &key in &uniq {
            df.entry(key).or_insert_with(|| (0, String::new())).0 += 1;
        }
        doc_keys.push(keys);
    }
    // Texts for the kept keys (second pass, to build strings only for those).
    let mut candidates: Vec<(u64, u32)> = df
        .iter()
        .filter(|(_, (d, _))| *d >= s.min_df)
        .map(|(&key, (d, _))| (key, *d))
        .collect();
    // Most frequent first; ties by key so the order never depends on the hash map.
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    candidates.truncate(s.max_features);
    let kept: HashMap<u64, u32> = candidates.iter().copied().collect();
    let mut texts: HashMap<u64, String> = HashMap::with_capacity(kept.len());
    for e in examples {
        for_each_feature(language, e.text, |key, term| {
            if kept.contains_key(&key) && !texts.contains_key(&key) {
                texts.insert(key, term());
            }
        });
    }
    let mut vocab: Vec<(String, u32)> = candidates
        .iter()
        .map(|(key, d)| (texts.remove(key).unwrap_or_default(), *d))
        .collect();
    vocab.sort();
    let index: HashMap<u64, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (super::term_key(t), i as u32))
        .collect();
    let n_docs = examples.len() as f64;
    let idf: Vec<f64> = vocab
        .iter()
        .map(|(_, d)| ((1.0 + n_docs) / (1.0 + f64::from(*d))).ln() + 1.0)
        .collect();
    // Quantise idf as the file will, so training sees what prediction sees.
    let idf: Vec<f64> = idf.iter().map(|v| (v * 1000.0).round() / 1000.0).collect();

    // 2. Sparse, L2-normalised sublinear TF-IDF vectors.
    let docs: Vec<Vec<(u32, f64)>> = doc_keys
        .iter()
        .map(|keys| {
            let mut ids: Vec<u32> = keys.iter().filter_map(|k| index.get(k).copied()).collect();
            ids.sort_unstable();
            let mut x: Vec<(u32, f64)> = Vec::new();
            for id in ids {
                match x.last_mut() {
                    Some((last, c)) if *last == id => *c += 1.0,
                    _ => x.push((id, 1.0)),
                }
            }
            let mut norm = 0.0;
            for (id, c) in x.iter_mut() {
                *c = (1.0 + c.ln()) * idf[*id as usize];
                norm += *c * *c;
            }
            if norm > 0.0 {
                let inv = 1.0 / norm.sqrt();
                for (_, v) in x.iter_mut() {
                    *v *= inv;
                }
            }
            x
        })
        .collect();

    // 3. SGD on the weighted softmax loss with L2. w = scale × v.
    let weights_per_example = example_weights(examples, k, s);
    let d = vocab.len();
    let mut v = vec![0.0f64; d * k];
    let mut bias = vec![0.0f64; k];
    let mut scale = 1.0f64;
    let mut rng = SplitMix::new(s.seed);
    let mut order: Vec<usize> = (0..docs.len()).collect();
    let mut t = 0u64;
    let mut scores = vec![0.0f64; k];
    for _ in 0..s.epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let eta = s.learning_rate / (1.0 + s.learning_rate * s.l2 * t as f64);
            t += 1;
            let x = &docs[i];
            scores.copy_from_slice(&bias);
            for &(j, xv) in x {
                let row = &v[j as usize * k..(j as usize + 1) * k];
                for c in 0..k {
                    scores[c] += scale * xv * row[c];
                }
            }
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for sc in scores.iter_mut() {
                *sc = (*sc - max).exp();
                sum += *sc;
            }
            let sw = weights_per_example[i];
            // Decay every weight at once through the scale.
            scale *= 1.0 - eta * s.l2;
            if scale < 1e-6 {
                for w in v.iter_mut() {
                    *w *= scale;
                }
                scale = 1.0;
            }
            for c in 0..k {
                let y = if c == examples[i].class { 1.0 } else { 0.0 };
                let g = (scores[c] / sum - y) * sw;
                if g == 0.0 {
                    continue;
                }
                bias[c] -= eta * g * 0.1;
                let step = eta * g / scale;
                for &(j, xv) in x {
                    v[j as usize * k + c] -= step * xv;
                }
            }
        }
    }
    let weights: Vec<f32> = v
        .iter()
        .map(|w| ((w * scale * 1000.0).round() / 1000.0) as f32)
        .collect();
    let bias: Vec<f32> = bias
        .iter()
        .map(|b| ((b * 1000.0).round() / 1000.0) as f32)
        .collect();
    // Drop features whose weights all round to zero: they cannot change a score.
    let mut terms = Vec::with_capacity(d);
    let mut idf_kept = Vec::with_capacity(d);
    let mut w_kept = Vec::with_capacity(d * k);
    for (j, (term, _)) in vocab.into_iter().enumerate() {
        let row = &weights[j * k..(j + 1) * k];
        if row.iter().all(|w| *w == 0.0) {
            continue;
        }
        terms.push(term);
        idf_kept.push(idf[j] as f32);
        w_kept.extend_from_slice(row);
    }
    LanguageModel::new(language, classes.to_vec(), bias, terms, idf_kept, w_kept)
}
