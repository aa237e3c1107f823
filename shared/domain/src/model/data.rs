//! Training data: reading the CSV files, deriving our categories from their labels
//! (`config/model/labels.toml`), removing near-duplicates across the split, and the fixed,
//! seeded evaluation split. Pure functions over text: the caller reads the files.

use crate::taxonomy::{CategoryId, Language};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The bundled label mapping.
pub const LABELS_TOML: &str = include_str!("../../../../config/model/labels.toml");

/// Parses RFC 4180 CSV (quoted fields, `""` escapes, newlines inside quotes). The first
/// row is the header; each record maps header → value.
pub fn parse_csv(src: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = src.chars().peekable();
    let mut line = 1usize;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("the file ends inside a quoted field".into());
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    let mut it = rows.into_iter();
    let header = it.next().ok_or("the file is empty")?;
    it.enumerate()
        .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
        .map(|(n, r)| {
            if r.len() != header.len() {
                return Err(format!(
                    "record {}: {} fields, the header has {}",
                    n + 1,
                    r.len(),
                    header.len()
                ));
            }
            Ok(header.iter().cloned().zip(r).collect())
        })
        .collect()
}

/// How dataset labels become our categories (`config/model/labels.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelMap {
    /// Chinese label → category.
    pub zh: BTreeMap<String, CategoryId>,
    /// CFPB issue → category, whatever the product.
    pub en_issue: BTreeMap<String, CategoryId>,
    /// `product | issue` → category, where the product changes the meaning.
    #[serde(default)]
    pub en_product_issue: BTreeMap<String, CategoryId>,
}

impl LabelMap {
    /// Parses the mapping.
    pub fn from_toml(src: &str) -> Result<Self, String> {
        toml::from_str(src).map_err(|e| format!("labels.toml: {e}"))
    }

    /// The category of a CFPB product and issue, if mapped.
    pub fn english(&self, product: &str, issue: &str) -> Option<&CategoryId> {
        self.en_product_issue
            .get(&format!("{product} | {issue}"))
            .or_else(|| self.en_issue.get(issue))
    }
}

/// One labelled complaint of the training material.
#[derive(Debug, Clone)]
pub struct Record {
    /// The row id in its file.
    pub id: String,
    pub language: Language,
    pub text: String,
    /// Our category.
    pub category: CategoryId,
    /// The source label it came from (CFPB issue, Chinese label).
    pub group: String,
}

/// Records of the English CSV; rows whose issue is not mapped are returned apart, with counts.
pub fn english_records(
    csv: &str,
    labels: &LabelMap,
) -> Result<(Vec<Record>, BTreeMap<String, usize>), String> {
    let mut out = Vec::new();
    let mut unmapped = BTreeMap::new();
    for r in parse_csv(csv)? {
        let get = |k: &str| r.get(k).map(String::as_str).unwrap_or("");
        let (product, issue) = (get("product"), get("issue"));
        match labels.english(product, issue) {
            Some(c) => out.push(Record {
                id: get("id").to_string(),
                language: Language::English,
                text: get("narrative").to_string(),
                category: c.clone(),
                group: issue.to_string(),
            }),
            None => *unmapped.entry(format!("{product} | {issue}")).or_default() += 1,
        }
    }
    Ok((out, unmapped))
}

/// Records of the Chinese CSV (`id,text,label`).
pub fn chinese_records(
    csv: &str,
    labels: &LabelMap,
) -> Result<(Vec<Record>, BTreeMap<String, usize>), String> {
    let mut out = Vec::new();
    let mut unmapped = BTreeMap::new();
    for r in parse_csv(csv)? {
        let get = |k: &str| r.get(k).map(String::as_str).unwrap_or("");
        match labels.zh.get(get("label")) {
            Some(c) => out.push(Record {
                id: get("id").to_string(),
                language: Language::Chinese,
                text: get("text").to_string(),
                category: c.clone(),
                group: get("label").to_string(),
            }),
            None => *unmapped.entry(get("label").to_string()).or_default() += 1,
        }
    }
    Ok((out, unmapped))
}

/// Shingles of a text: 8-word windows (English) or 12-character windows (Chinese), hashed.
fn shingles(language: Language, text: &str) -> Vec<u64> {
    let units: Vec<String> = match language {
        Language::English => text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect(),
        Language::Chinese => text
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
            .map(String::from)
            .collect(),
    };
    let width = match language {
        Language::English => 8,
        Language::Chinese => 12,
    };
    let mut out: Vec<u64> = units
        .windows(width)
        .map(|w| super::term_key(&w.join(" ")))
        .collect();
    if out.is_empty() && !units.is_empty() {
        out.push(super::term_key(&units.join(" ")));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Groups near-duplicates: two texts are near-duplicates when at least `threshold` of
/// either one's shingles are shared (the rule the data set's own overlap check used).
/// Returns, per record, the id of its group's first member (by id), so a split by that
/// key keeps near-duplicates on the same side.
pub fn near_duplicate_keys(records: &[Record], threshold: f64) -> Vec<String> {
    let sh: Vec<Vec<u64>> = records
        .iter()
        .map(|r| shingles(r.language, &r.text))
        .collect();
    let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, s) in sh.iter().enumerate() {
        for &h in s {
            postings.entry(h).or_default().push(i as u32);
        }
    }
    let mut parent: Vec<usize> = (0..records.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut shared: HashMap<u32, u32> = HashMap::new();
    for (i, s) in sh.iter().enumerate() {
        shared.clear();
        for h in s {
            for &j in &postings[h] {
                if (j as usize) > i {
                    *shared.entry(j).or_default() += 1;
                }
            }
        }
        let mut js: Vec<(u32, u32)> = shared.iter().map(|(&j, &n)| (j, n)).collect();
        js.sort_unstable();
        for (j, n) in js {
            let small = s.len().min(sh[j as usize].len()).max(1);
            if f64::from(n) / small as f64 >= threshold {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j as usize));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut first: HashMap<usize, String> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        let root = find(&mut parent, i);
        let e = first.entry(root).or_insert_with(|| r.id.clone());
        if r.id < *e {
            *e = r.id.clone();
        }
    }
    (0..records.len())
        .map(|i| first[&find(&mut parent, i)].clone())
        .collect()
}

/// Whether a record (by its near-duplicate group key) is in the evaluation split:
/// `percent` of groups, chosen by a seeded hash of the key, never trained on.
pub fn in_eval_split(group_key: &str, seed: u64, percent: u64) -> bool {
    let h = super::term_key(&format!("{seed}:{group_key}"));
    // Mix the FNV output so its low bits are usable.
    let mut z = h ^ (h >> 33);
    z = z.wrapping_mul(0xff51_afd7_ed55_8ccd);
    z ^= z >> 33;
    z % 100 < percent
}

/// The records split in two: (train, eval).
pub fn split(records: Vec<Record>, seed: u64, percent: u64) -> (Vec<Record>, Vec<Record>) {
    let keys = near_duplicate_keys(&records, 0.8);
    let mut train = Vec::new();
    let mut eval = Vec::new();
    for (r, key) in records.into_iter().zip(keys) {
        if in_eval_split(&key, seed, percent) {
            eval.push(r);
        } else {
            train.push(r);
        }
    }
    (train, eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_commas_and_newlines() {
        let rows = parse_csv("\"id\",\"text\"\n\"1\",\"a, \"\"b\"\"\nc\"\n2,plain\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["text"], "a, \"b\"\nc");
        assert_eq!(rows[1]["id"], "2");
        assert!(parse_csv("\"id\"\n\"open").is_err());
        assert!(parse_csv("a,b\n1\n").unwrap_err().contains("record 1"));
    }

    fn rec(id: &str, text: &str) -> Record {
        Record {
            id: id.into(),
            language: Language::English,
            text: text.into(),
            category: "other".into(),
            group: "g".into(),
        }
    }

    #[test]
    fn near_duplicates_share_a_key_and_so_a_side_of_the_split() {
        let base =
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
        let records = vec![
            rec("b", base),
            rec("a", &format!("{base} fifteen")),
            rec(
                "c",
                "completely different words that share nothing at all with the others here",
            ),
        ];
        let keys = near_duplicate_keys(&records, 0.8);
        assert_eq!(keys, ["a", "a", "c"]);
    }

    #[test]
    fn the_split_is_fixed_by_the_seed() {
        let a: Vec<bool> = (0..200)
            .map(|i| in_eval_split(&i.to_string(), 7, 20))
            .collect();
        let b: Vec<bool> = (0..200)
            .map(|i| in_eval_split(&i.to_string(), 7, 20))
            .collect();
        assert_eq!(a, b);
        let share = a.iter().filter(|x| **x).count();
        assert!((20..=60).contains(&share), "{share}");
    }
}
