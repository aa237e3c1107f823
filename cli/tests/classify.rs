//! Runs the built `redress` binary on a few lines of input.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn classify_prints_one_line_per_input_line_and_continues_after_a_bad_one() {
    let input = concat!(
        r#"{"text": "催收员半夜打电话，还威胁要上门，给我的同事和家人都打了电话。"}"#,
        "\n",
        "this is not json\n",
        r#"{"text": "You charged me a hidden service fee that was never in my loan contract.", "submitted_at": "2026-11-20T09:00:00+08:00"}"#,
        "\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["classify", "--now", "2026-11-23T10:00:00Z"])
        .env_remove("REDRESS_CONFIG_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redress runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(lines[0]["category"], "collection_conduct", "{}", lines[0]);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON"),
        "{}",
        lines[1]
    );
    assert!(lines[1].get("category").is_none());
    assert_eq!(lines[2]["category"], "fees_interest", "{}", lines[2]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "classified 2, errors 1"
    );
}

#[test]
fn a_bad_now_flag_is_refused_with_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["classify", "--now", "yesterday"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

// ---- training on a made-up fixture ----------------------------------------------------
//
// The fixture is written here from templates: invented sentences, never the training
// material (which must not enter the repository).

/// CSV field, quoted.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// (issue, category-typical phrases) for the English fixture.
const EN_CLASSES: [(&str, [&str; 4]); 3] = [
    (
        "Communication tactics",
        [
            "the collector keeps calling my employer",
            "a debt collector threatened to have me arrested",
            "collection agency calls my family every night",
            "the collector was abusive and harassing",
        ],
    ),
    (
        "Incorrect information on your report",
        [
            "my credit report shows an account that is not mine",
            "the bureau will not remove the wrong late payment from my credit report",
            "equifax lists an incorrect balance on my credit file",
            "please correct the inaccurate tradeline on my report",
        ],
    ),
    (
        "Struggling to repay your loan",
        [
            "I lost my job and cannot afford the monthly payment",
            "I asked for forbearance because of hardship",
            "after my surgery I am unable to repay and need a payment plan",
            "my income dropped and I need to lower my payments",
        ],
    ),
];

const FILLERS: [&str; 6] = [
    "I wrote to them twice.",
    "This started in March.",
    "Nobody answered my letters.",
    "I have the records.",
    "It has been weeks now.",
    "I want this fixed.",
];

const ZH_CLASSES: [(&str, [&str; 4]); 3] = [
    (
        "催收行为类",
        [
            "催收员天天打电话骚扰我的家人",
            "催收威胁要上门还爆通讯录",
            "催收人员辱骂我还联系我单位",
            "暴力催收打电话给紧急联系人",
        ],
    ),
    (
        "定价收费类",
        [
            "砍头息太高还收服务费",
            "利息和手续费远超合同约定",
            "收取高额担保费和会员费",
            "实际年化利率超过百分之三十六",
        ],
    ),
    (
        "客户服务类",
        [
            "客服电话一直打不通没人处理",
            "在线客服态度很差敷衍了事",
            "人工客服推来推去不解决问题",
            "投诉后客服一直不回复",
        ],
    ),
];

const ZH_FILLERS: [&str; 4] = [
    "我已经多次反映。",
    "请尽快处理。",
    "从上个月开始。",
    "希望给个说法。",
];

fn fixture_inputs() -> redress_cli::train::Inputs {
    let mut en = String::from("\"id\",\"date_received\",\"product\",\"sub_product\",\"issue\",\"sub_issue\",\"narrative\"\n");
    let mut zh = String::from("\"id\",\"text\",\"label\"\n");
    let mut id = 0;
    for (issue, phrases) in EN_CLASSES {
        for n in 0..40 {
            id += 1;
            let text = format!(
                "{} {} {}",
                phrases[n % 4],
                FILLERS[n % 6],
                phrases[(n / 4) % 4]
            );
            en.push_str(
                &[
                    q(&id.to_string()),
                    q("2026-01-01"),
                    q("P"),
                    q(""),
                    q(issue),
                    q(""),
                    q(&text),
                ]
                .join(","),
            );
            en.push('\n');
        }
    }
    for (label, phrases) in ZH_CLASSES {
        for n in 0..40 {
            id += 1;
            let text = format!(
                "{}，{}{}",
                phrases[n % 4],
                ZH_FILLERS[n % 4],
                phrases[(n / 4) % 4]
            );
            zh.push_str(&[q(&format!("z{id}")), q(&text), q(label)].join(","));
            zh.push('\n');
        }
    }
    redress_cli::train::Inputs {
        files: vec![],
        english: en,
        chinese: zh,
        labels_src: redress_domain::model::data::LABELS_TOML.to_string(),
    }
}

fn catalogue() -> Vec<redress_domain::taxonomy::CategoryId> {
    redress_domain::classify::Classifier::rules_from_toml(
        redress_domain::config::CLASSIFICATION_TOML,
    )
    .unwrap()
    .categories()
    .iter()
    .map(|c| c.id.clone())
    .collect()
}

#[test]
fn training_on_a_fixture_reproduces_byte_for_byte_and_learns_the_obvious_cases() {
    use redress_domain::model::train::TrainSettings;
    use redress_domain::model::TextModel;
    use redress_domain::taxonomy::Language;
    let inputs = fixture_inputs();
    let settings = TrainSettings {
        epochs: 8,
        min_df: 2,
        ..TrainSettings::default()
    };
    let (a, _) = redress_cli::train::train(&inputs, &settings, "fixture", &catalogue()).unwrap();
    let (b, _) = redress_cli::train::train(&inputs, &settings, "fixture", &catalogue()).unwrap();
    let text = a.to_text();
    assert_eq!(text, b.to_text(), "two runs on the same data differ");
    // What is written reads back to the same bytes.
    let read = TextModel::parse(&text).unwrap();
    assert_eq!(read.to_text(), text);
    assert_eq!(read.meta.seed, settings.seed);
    assert!(
        read.meta.evaluation["en"]["macro_recall"].as_f64().unwrap() > 0.9,
        "{}",
        read.meta.evaluation
    );

    let en = read.language(Language::English).unwrap();
    let zh = read.language(Language::Chinese).unwrap();
    for (text, want) in [
        (
            "The debt collector threatened me and called my employer.",
            "collection_conduct",
        ),
        (
            "My credit report has an account that is not mine.",
            "credit_reporting",
        ),
        (
            "I lost my job and need a payment plan, I cannot afford it.",
            "repayment_difficulty",
        ),
    ] {
        let p = en.predict(text, 3);
        assert_eq!(p.top().category, want, "{text}: {p:?}");
        assert!(!p.evidence.is_empty(), "{text}: no evidence");
    }
    for (text, want) in [
        ("催收天天打电话骚扰家人", "collection_conduct"),
        ("砍头息和服务费太高", "fees_interest"),
        ("客服态度差一直不回复", "service_quality"),
    ] {
        assert_eq!(zh.predict(text, 3).top().category, want, "{text}");
    }
    // A different seed gives a different (but equally valid) model.
    let other = TrainSettings {
        seed: 7,
        ..settings
    };
    let (c, _) = redress_cli::train::train(&inputs, &other, "fixture", &catalogue()).unwrap();
    assert_ne!(c.to_text(), text);
}

#[test]
fn train_and_evaluate_run_from_the_command_line_on_a_fixture_folder() {
    let dir = std::env::temp_dir().join(format!("redress-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inputs = fixture_inputs();
    std::fs::write(dir.join("complaints_en.csv"), &inputs.english).unwrap();
    std::fs::write(dir.join("complaints_zh.csv"), &inputs.chinese).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_redress"))
            .args(args)
            .env_remove("REDRESS_CONFIG_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let data = dir.to_str().unwrap().to_string();
    let m1 = dir.join("m1.model");
    let m2 = dir.join("m2.model");
    run(&["train", "--data", &data, "--out", m1.to_str().unwrap()]);
    run(&["train", "--data", &data, "--out", m2.to_str().unwrap()]);
    let (a, b) = (std::fs::read(&m1).unwrap(), std::fs::read(&m2).unwrap());
    assert_eq!(a, b, "redress train is not reproducible");
    let text = String::from_utf8(a).unwrap();
    assert!(
        text.contains("\"sha256\""),
        "the model records its data hashes"
    );
    let report = run(&["evaluate", "--data", &data, "--model", m1.to_str().unwrap()]);
    for want in [
        "== en: model alone",
        "== zh: model alone",
        "== en: team reached",
        "== zh: team reached",
        "macro recall",
        "confusion (rows: true, columns: predicted)",
        "recall",
        "precision",
    ] {
        assert!(report.contains(want), "{want:?} missing from:\n{report}");
    }
    // The team table counts every evaluation text once, under a team of the routing table.
    let en = report.split("== en: team reached").nth(1).unwrap();
    let model_texts = |section: &str| {
        section
            .split("texts ")
            .nth(1)
            .map(|t| t.split_whitespace().next().unwrap().to_string())
    };
    assert_eq!(
        model_texts(en),
        model_texts(report.split("== en: model alone").nth(1).unwrap()),
        "{report}"
    );
    assert!(en.contains("team ") && en.contains("customer_care"), "{en}");
    let _ = std::fs::remove_dir_all(&dir);
}
