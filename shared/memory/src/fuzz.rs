//! Proptest pieces the functions' fuzz tests share (`functions/*/tests/fuzz.rs`): a
//! seeded runner, JSON values of any shape, and receipt times at and past the edges of
//! what chrono and our date bounds take. Each test keeps its own text alphabet and the
//! shapes of its own input; what is the same everywhere lives here.

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

/// A runner with a fixed seed and budget and no failure files: the same inputs on every
/// machine, so CI runs what a developer ran.
pub fn runner(cases: u32, seed: &[u8; 32]) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, seed),
    )
}

/// RFC 3339 times at the edges: chrono's first and last years, offsets that push them
/// over, year 0, and the first year past the 2000–2100 bound of `redress_domain::dates`.
pub const EDGE_TIMES: &[&str] = &[
    "-262143-01-01T00:00:00Z",
    "+262142-12-31T23:59:59Z",
    "+262142-12-31T23:59:59-23:59",
    "-262143-01-01T00:00:00+23:59",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2100-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
];

/// A time whose year is anywhere chrono can hold and a little beyond, or one of
/// [`EDGE_TIMES`].
pub fn edge_time() -> BoxedStrategy<String> {
    prop_oneof![
        (-262_144i32..262_144).prop_map(|y| format!("{y:+}-06-15T12:00:00Z")),
        prop::sample::select(EDGE_TIMES).prop_map(String::from),
    ]
    .boxed()
}

/// Any JSON value: null, booleans, integers, floats and the caller's `leaves` (its texts,
/// times, small numbers), nested up to `depth` levels in arrays and in objects keyed by
/// `key`, at most `branch` wide and about `size` values in all.
pub fn json_value(
    key: BoxedStrategy<String>,
    leaves: Vec<BoxedStrategy<Value>>,
    depth: u32,
    size: u32,
    branch: usize,
) -> BoxedStrategy<Value> {
    let mut all: Vec<BoxedStrategy<Value>> = vec![
        Just(Value::Null).boxed(),
        any::<bool>().prop_map(Value::from).boxed(),
        any::<i64>().prop_map(Value::from).boxed(),
        any::<f64>().prop_map(|f| json!(f)).boxed(),
    ];
    all.extend(leaves);
    Union::new(all)
        .prop_recursive(depth, size, branch as u32, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..branch).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..branch)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}
