//! The learned text classifier: a linear (multinomial logistic regression) model per
//! language over word uni/bi-grams (English) and character 1–3-grams (Chinese), with
//! sublinear TF-IDF features. See `docs/classifier.md` for why this shape.
//!
//! The model file (`config/model/classifier.model`) is plain text so a reviewer can read
//! it: a header, one line of JSON metadata (data files and their sha256, seed, version,
//! evaluation figures), then per language its classes, biases and one line per feature:
//! `term<TAB>idf×1000<TAB>weight×1000 per class`. It is compiled into the binaries, so
//! classifying needs no file system and no network.
//!
//! Prediction hashes each n-gram (FNV-1a, 64 bit) straight from the text without building
//! strings, looks it up in a hash table, and sums the weights: a few microseconds per
//! complaint.

pub mod data;
pub mod eval;
pub mod pipeline;
pub mod train;

use crate::taxonomy::{CategoryId, Language};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

/// First line of every model file.
pub const MODEL_HEADER: &str = "redress-text-model 1";

/// The bundled model, trained by `redress train`.
pub const BUNDLED_MODEL: &str = include_str!("../../../config/model/classifier.model");

/// Fixed-point scale of weights and idf in the model file (three decimals).
const SCALE: f32 = 1000.0;

/// A model file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model file line {line}: {message}")]
pub struct ModelError {
    /// 1-based line of the model file.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

fn model_err(line: usize, message: impl Into<String>) -> ModelError {
    ModelError {
        line,
        message: message.into(),
    }
}

// ---- features ------------------------------------------------------------------------

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv_push(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The stable 64-bit key of a feature term (FNV-1a of its UTF-8 bytes).
pub fn term_key(term: &str) -> u64 {
    fnv_push(FNV_OFFSET, term.as_bytes())
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// An ASCII word of the text, lower-cased on the fly: CFPB redactions (`XXXX`) and
/// one-letter words are dropped; apostrophes inside a word are skipped (`don't` = `dont`).
fn keep_word(word: &[u8]) -> bool {
    word.len() >= 2 && !word.iter().all(|&b| b == b'x')
}

/// English function words: they carry no topic, so they are skipped (phrases form over
/// them: "lost my job" gives "lost job"). Negations are kept on purpose ("not mine").
const STOPWORDS: [&str; 95] = [
    "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does",
    "doing", "for", "from", "had", "has", "have", "having", "he", "her", "here", "him", "his",
    "how", "if", "im", "in", "into", "is", "it", "its", "just", "me", "more", "my", "myself",
    "now", "of", "on", "once", "only", "or", "other", "our", "out", "over", "she", "so", "some",
    "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "why", "will", "with", "would", "you", "your",
];

/// FNV-1a at compile time (the same as [`term_key`]).
const fn const_key(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

/// The stopwords' keys, sorted: a word is checked by the key the feature pass computes
/// anyway (a binary search over integers, no string comparison).
const STOP_KEYS: [u64; STOPWORDS.len()] = {
    let mut keys = [0u64; STOPWORDS.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = const_key(STOPWORDS[i].as_bytes());
        i += 1;
    }
    // Insertion sort (a const context has no `sort`).
    let mut i = 1;
    while i < keys.len() {
        let mut j = i;
        while j > 0 && keys[j - 1] > keys[j] {
            let t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    keys
};

fn is_stop_key(key: u64) -> bool {
    STOP_KEYS.binary_search(&key).is_ok()
}

#[cfg(test)]
fn is_stopword(word: &[u8]) -> bool {
    is_stop_key(fnv_push(FNV_OFFSET, word))
}

/// Calls `emit(key, term)` for every n-gram of `text`; `term` builds the n-gram's text
/// and is only called when the caller needs it (training, explanations).
///
/// English (and ASCII words inside Chinese text): words of ASCII letters, lower-cased,
/// as unigrams and bigrams of consecutive kept words. Chinese: character 1-, 2- and
/// 3-grams inside each run of CJK ideographs (no segmenter needed).
pub fn for_each_feature(
    language: Language,
    text: &str,
    mut emit: impl FnMut(u64, &dyn Fn() -> String),
) {
    let bytes = text.as_bytes();
    let bigrams = language == Language::English;
    // Previous kept word: (its hash, byte range) for the bigram.
    let mut prev: Option<(u64, usize, usize)> = None;
    let mut word: Vec<u8> = Vec::with_capacity(32);
    let mut cjk: Vec<(usize, usize)> = Vec::with_capacity(64);
    let mut i = 0;
    let flush_cjk = |cjk: &mut Vec<(usize, usize)>,
                     emit: &mut dyn FnMut(u64, &dyn Fn() -> String)| {
        for a in 0..cjk.len() {
            let mut h = FNV_OFFSET;
            for n in 0..3 {
                let Some(&(s, e)) = cjk.get(a + n) else { break };
                h = fnv_push(h, &bytes[s..e]);
                let start = cjk[a].0;
                emit(h, &|| text[start..e].to_string());
            }
        }
        cjk.clear();
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() {
            word.clear();
            let start = i;
            while i < bytes.len() {
                let c = bytes[i];
                if c.is_ascii_alphabetic() {
                    word.push(c.to_ascii_lowercase());
                    i += 1;
                } else if c == b'\'' && bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
                    i += 1;
                } else {
                    break;
                }
            }
            if !cjk.is_empty() {
                flush_cjk(&mut cjk, &mut emit);
            }
            let keep = keep_word(&word);
            let h = if keep { fnv_push(FNV_OFFSET, &word) } else { 0 };
            if keep && is_stop_key(h) {
                // Skipped, but the phrase goes on over it.
            } else if keep {
                let end = i;
                emit(h, &|| lower_word(&text[start..end]));
                if bigrams {
                    if let Some((ph, ps, pe)) = prev {
                        let bh = fnv_push(fnv_push(ph, b" "), &word);
                        emit(bh, &|| {
                            let mut t = lower_word(&text[ps..pe]);
                            t.push(' ');
                            t.push_str(&lower_word(&text[start..end]));
                            t
                        });
                    }
                    prev = Some((h, start, i));
                }
            } else if word.len() >= 2 {
                // A redaction breaks the phrase; a one-letter word ("I", "a") does not.
                prev = None;
            }
            continue;
        }
        // A multi-byte or other character.
        let c = text[i..].chars().next().unwrap_or(' ');
        let len = c.len_utf8();
        if is_cjk(c) {
            cjk.push((i, i + len));
        } else {
            if !cjk.is_empty() {
                flush_cjk(&mut cjk, &mut emit);
            }
            // Sentence punctuation ends an English phrase; spaces and digits do not.
            if matches!(
                c,
                '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '"' | '\n'
            ) {
                prev = None;
            }
        }
        i += len;
    }
    if !cjk.is_empty() {
        flush_cjk(&mut cjk, &mut emit);
    }
}

fn lower_word(s: &str) -> String {
    s.bytes()
        .filter(|b| b.is_ascii_alphabetic())
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// A hasher for keys that are already well-mixed 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv_push(self.0 ^ FNV_OFFSET, bytes);
    }
    fn write_u64(&mut self, n: u64) {
        // FNV's low bits are weak; fold the high half in.
        self.0 = n ^ (n >> 29);
    }
}

type KeyMap = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;

// ---- model ---------------------------------------------------------------------------

/// The weights for one language.
#[derive(Debug, Clone)]
pub struct LanguageModel {
    /// Which texts it reads.
    pub language: Language,
    /// The categories it can predict, in weight-column order.
    pub classes: Vec<CategoryId>,
    bias: Vec<f32>,
    /// Scores are divided by this before the softmax, so that probabilities are
    /// calibrated (fitted on a part of the training split held back for it).
    temperature: f32,
    terms: Vec<String>,
    idf: Vec<f32>,
    /// `terms.len() × classes.len()`, row-major.
    weights: Vec<f32>,
    index: KeyMap,
}

/// One candidate category with the model's probability for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub category: CategoryId,
    pub probability: f32,
}

/// A term of the text that weighed for the predicted category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The word, phrase or character n-gram as the model knows it.
    pub term: String,
    /// How much it pushed the score of the predicted category above the average class.
    pub weight: f32,
}

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Every class, most likely first (probabilities sum to 1).
    pub ranked: Vec<Candidate>,
    /// The strongest evidence for the top class, strongest first.
    pub evidence: Vec<Evidence>,
    /// How many of the text's n-grams the model knows.
    pub known_features: usize,
}

impl Prediction {
    /// The most likely category and its probability.
    pub fn top(&self) -> &Candidate {
        &self.ranked[0]
    }
}

impl LanguageModel {
    /// Builds a model from trained parts (used by the trainer and the file reader).
    pub(crate) fn new(
        language: Language,
        classes: Vec<CategoryId>,
        bias: Vec<f32>,
        terms: Vec<String>,
        idf: Vec<f32>,
        weights: Vec<f32>,
    ) -> Self {
        let mut index = KeyMap::with_capacity_and_hasher(terms.len(), Default::default());
        for (i, t) in terms.iter().enumerate() {
            index.insert(term_key(t), i as u32);
        }
        Self {
            language,
            classes,
            bias,
            temperature: 1.0,
            terms,
            idf,
            weights,
            index,
        }
    }

    /// The same model with another softmax temperature.
    pub(crate) fn with_temperature(mut self, t: f32) -> Self {
        self.temperature = t;
        self
    }

    /// The softmax temperature.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// Number of features (n-grams) the model knows.
    pub fn feature_count(&self) -> usize {
        self.terms.len()
    }

    /// The sparse, L2-normalised feature vector of a text: (feature, value), by feature.
    fn vectorize(&self, text: &str, out: &mut Vec<(u32, f32)>) {
        let mut ids: Vec<u32> = Vec::with_capacity(text.len() / 2);
        for_each_feature(self.language, text, |key, _| {
            if let Some(&i) = self.index.get(&key) {
                ids.push(i);
            }
        });
        ids.sort_unstable();
        out.clear();
        let mut norm = 0.0f32;
        let mut k = 0;
        while k < ids.len() {
            let id = ids[k];
            let mut n = 1;
            while k + n < ids.len() && ids[k + n] == id {
                n += 1;
            }
            k += n;
            let v = (1.0 + (n as f32).ln()) * self.idf[id as usize];
            norm += v * v;
            out.push((id, v));
        }
        if norm > 0.0 {
            let inv = 1.0 / norm.sqrt();
            for (_, v) in out.iter_mut() {
                *v *= inv;
            }
        }
    }

    /// Raw class scores (before temperature and softmax) and the feature vector.
    fn scores(&self, text: &str, x: &mut Vec<(u32, f32)>) -> Vec<f32> {
        let k = self.classes.len();
        self.vectorize(text, x);
        let mut scores = self.bias.clone();
        for &(j, v) in x.iter() {
            let row = &self.weights[j as usize * k..(j as usize + 1) * k];
            for (s, w) in scores.iter_mut().zip(row) {
                *s += v * w;
            }
        }
        scores
    }

    /// Raw class scores of a text, before temperature (for calibration).
    pub(crate) fn raw_scores(&self, text: &str) -> Vec<f32> {
        self.scores(text, &mut Vec::new())
    }

    /// Classifies a text; `evidence` is how many evidence terms to return.
    pub fn predict(&self, text: &str, evidence: usize) -> Prediction {
        let k = self.classes.len();
        let mut x = Vec::new();
        let scores: Vec<f32> = self
            .scores(text, &mut x)
            .iter()
            .map(|s| s / self.temperature)
            .collect();
        let probs = softmax(&scores);
        let mut order: Vec<usize> = (0..k).collect();
        // Stable: equal probabilities keep class order.
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let top = order[0];
        // The `evidence` strongest terms, kept sorted in a short list as the features go
        // by (no sort of every feature).
        let mut ev: Vec<(f32, u32)> = Vec::with_capacity(evidence + 1);
        let stronger = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        for &(j, v) in x.iter() {
            if evidence == 0 {
                break;
            }
            let row = &self.weights[j as usize * k..(j as usize + 1) * k];
            let mean = row.iter().sum::<f32>() / k as f32;
            let e = (v * (row[top] - mean), j);
            if e.0 <= 0.0
                || (ev.len() == evidence
                    && stronger(&e, &ev[evidence - 1]) != std::cmp::Ordering::Less)
            {
                continue;
            }
            // A single Chinese character explains nothing to a reader.
            if self.terms[j as usize].chars().nth(1).is_none() {
                continue;
            }
            let at = ev.partition_point(|o| stronger(o, &e) == std::cmp::Ordering::Less);
            ev.insert(at, e);
            ev.truncate(evidence);
        }
        Prediction {
            ranked: order
                .iter()
                .map(|&c| Candidate {
                    category: self.classes[c].clone(),
                    probability: probs[c],
                })
                .collect(),
            evidence: ev
                .into_iter()
                .take(evidence)
                .map(|(w, j)| Evidence {
                    term: self.terms[j as usize].clone(),
                    weight: (w * 1000.0).round() / 1000.0,
                })
                .collect(),
            known_features: x.len(),
        }
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "language {}", self.language.as_str());
        let _ = writeln!(out, "classes {}", self.classes.join(" "));
        let _ = writeln!(out, "bias {}", fixed(&self.bias));
        let _ = writeln!(out, "temperature {}", fixed(&[self.temperature]));
        let _ = writeln!(out, "features {}", self.terms.len());
        let k = self.classes.len();
        for (j, t) in self.terms.iter().enumerate() {
            let _ = writeln!(
                out,
                "{t}\t{}\t{}",
                (self.idf[j] * SCALE).round() as i64,
                fixed(&self.weights[j * k..(j + 1) * k])
            );
        }
    }
}

fn fixed(values: &[f32]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{}", (v * SCALE).round() as i64);
    }
    s
}

pub(crate) fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// Where the model came from and how well it did; the model file's `meta` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Version of the model (bumped by whoever retrains it with new data or settings).
    pub version: String,
    /// Seed of the split and of the training shuffles.
    pub seed: u64,
    /// The training files, with their sha256.
    pub data: Vec<DataFile>,
    /// Training settings, as used.
    pub settings: serde_json::Value,
    /// Figures on the held-out evaluation split, per language.
    pub evaluation: serde_json::Value,
}

/// A file the model was trained from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    pub file: String,
    pub sha256: String,
    pub rows: usize,
}

/// A trained model: metadata and one [`LanguageModel`] per language.
#[derive(Debug, Clone)]
pub struct TextModel {
    pub meta: ModelMeta,
    languages: Vec<LanguageModel>,
}

impl TextModel {
    /// A model from its parts.
    pub fn new(meta: ModelMeta, languages: Vec<LanguageModel>) -> Self {
        Self { meta, languages }
    }

    /// The model compiled into the binary.
    pub fn bundled() -> Result<Self, ModelError> {
        Self::parse(BUNDLED_MODEL)
    }

    /// The weights for a language, if the model has them.
    pub fn language(&self, language: Language) -> Option<&LanguageModel> {
        self.languages.iter().find(|m| m.language == language)
    }

    /// The model file's text; the same model always gives the same bytes.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{MODEL_HEADER}");
        let meta = serde_json::to_string(&self.meta).unwrap_or_default();
        let _ = writeln!(out, "meta {meta}");
        for m in &self.languages {
            m.write(&mut out);
        }
        out
    }

    /// Reads a model file.
    pub fn parse(src: &str) -> Result<Self, ModelError> {
        let mut lines = src.lines().enumerate().map(|(i, l)| (i + 1, l));
        let mut next = |what: &str| {
            lines
                .next()
                .ok_or_else(|| model_err(0, format!("file ends before {what}")))
        };
        let (n, header) = next("the header")?;
        if header != MODEL_HEADER {
            return Err(model_err(n, format!("expected `{MODEL_HEADER}`")));
        }
        let (n, meta) = next("the metadata")?;
        let meta: ModelMeta = meta
            .strip_prefix("meta ")
            .ok_or_else(|| model_err(n, "expected `meta {json}`"))
            .and_then(|j| serde_json::from_str(j).map_err(|e| model_err(n, e.to_string())))?;
        let mut languages = Vec::new();
        while let Ok((n, line)) = next("") {
            let language = line
                .strip_prefix("language ")
                .and_then(Language::parse)
                .ok_or_else(|| model_err(n, "expected `language en|zh`"))?;
            let (n, line) = next("classes")?;
            let classes: Vec<CategoryId> = line
                .strip_prefix("classes ")
                .ok_or_else(|| model_err(n, "expected `classes …`"))?
                .split(' ')
                .map(CategoryId::from)
                .collect();
            let k = classes.len();
            let (n, line) = next("bias")?;
            let bias = numbers(line.strip_prefix("bias ").unwrap_or(""), k, n)?;
            let (n, line) = next("temperature")?;
            let temperature = numbers(line.strip_prefix("temperature ").unwrap_or(""), 1, n)?[0];
            if temperature.is_nan() || temperature <= 0.0 {
                return Err(model_err(n, "the temperature must be above 0"));
            }
            let (n, line) = next("features")?;
            let count: usize = line
                .strip_prefix("features ")
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| model_err(n, "expected `features N`"))?;
            let mut terms = Vec::with_capacity(count);
            let mut idf = Vec::with_capacity(count);
            let mut weights = Vec::with_capacity(count * k);
            for _ in 0..count {
                let (n, line) = next("a feature")?;
                let mut parts = line.split('\t');
                let (Some(term), Some(i), Some(w), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(model_err(n, "expected `term<TAB>idf<TAB>weights`"));
                };
                terms.push(term.to_string());
                idf.extend(numbers(i, 1, n)?);
                weights.extend(numbers(w, k, n)?);
            }
            languages.push(
                LanguageModel::new(language, classes, bias, terms, idf, weights)
                    .with_temperature(temperature),
            );
        }
        Ok(Self { meta, languages })
    }
}

fn numbers(s: &str, want: usize, line: usize) -> Result<Vec<f32>, ModelError> {
    let v: Vec<f32> = s
        .split(' ')
        .map(|x| x.parse::<i64>().map(|i| i as f32 / SCALE))
        .collect::<Result<_, _>>()
        .map_err(|_| model_err(line, format!("expected {want} integers")))?;
    if v.len() != want {
        return Err(model_err(
            line,
            format!("expected {want} numbers, found {}", v.len()),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(lang: Language, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_feature(lang, text, |key, term| {
            let t = term();
            assert_eq!(key, term_key(&t), "key of {t:?}");
            out.push(t);
        });
        out
    }

    #[test]
    fn english_words_and_bigrams_skip_redactions_stopwords_and_one_letter_words() {
        assert_eq!(
            terms(Language::English, "I never OWED XXXX this. Late fee"),
            ["never", "owed", "never owed", "late", "fee", "late fee"]
        );
        // A stopword does not break a phrase; punctuation does.
        assert_eq!(
            terms(Language::English, "lost my job, not mine"),
            ["lost", "job", "lost job", "not", "mine", "not mine"]
        );
    }

    #[test]
    fn the_stopword_list_is_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stopword(b"the") && !is_stopword(b"not"));
        // The keys are distinct and each stopword finds its own.
        assert!(STOP_KEYS.windows(2).all(|w| w[0] < w[1]));
        assert!(STOPWORDS.iter().all(|w| is_stop_key(term_key(w))));
    }

    #[test]
    fn chinese_gives_character_one_to_three_grams_per_run() {
        assert_eq!(
            terms(Language::Chinese, "催收员，APP"),
            ["催", "催收", "催收员", "收", "收员", "员", "app"]
        );
    }

    #[test]
    fn empty_or_symbol_text_has_no_features() {
        assert!(terms(Language::English, "").is_empty());
        assert!(terms(Language::Chinese, "123 🙂 ？").is_empty());
    }
}
