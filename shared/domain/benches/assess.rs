//! What intake spends per complaint outside I/O: parse the form, classify, check repeats,
//! route and set deadlines.
//!
//! `cargo bench -p redress-domain --bench assess -- --warm-up-time 1 --measurement-time 3`

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use redress_domain::assess::assess;
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::config::DomainConfig;
use redress_domain::repeat::PriorComplaint;
use serde_json::{json, Value};
use std::hint::black_box;

/// The demo set: one `{"expected_category", "expected_signals", "complaint"}` per line.
const DEMO: &str = include_str!("../../../demo/complaints.jsonl");

const SHORT_ZH: &str = "催收员晚上11点还在打电话，一天打了二十多个，还说要去我单位找我。";

/// About 1,500 characters: a long, rambling complaint touching several categories.
const LONG_EN: &str = "I am writing to make a formal complaint about the way my personal loan has been handled \
over the last four months, because I have tried the phone line and the app chat several times and nobody has \
fixed anything. In March I lost my job and called you to ask for a grace period or an instalment plan. The agent \
told me someone would call back within two days, but nobody ever did. Instead, from the first day my payment was \
late, your collection agents started calling me ten or fifteen times a day, sometimes after 10pm, and one of them \
said that if I did not pay by Friday they would come to my home and tell my neighbours. They also called my sister \
and my manager at my new job, which is deeply embarrassing and, as far as I know, not allowed. On top of that, the \
statement I received shows a late fee and penalty interest that are much higher than what my contract says, and a \
service charge I never agreed to. When I paid 500 on the 12th, the payment was not credited for a week, so more \
penalty interest was added. I have asked for a breakdown of every charge and have not received one. My credit report \
now shows the loan as seriously overdue even though I paid. I have been under a lot of stress, I am not sleeping, \
and my doctor has signed me off work for anxiety. I want the calls to my family and employer to stop immediately, \
the fees reviewed and refunded, my credit report corrected, and a realistic repayment plan. If this is not resolved \
I will take it to the financial ombudsman and speak to a lawyer.";

fn form(text: &str, category: Option<&str>) -> Value {
    let mut form = json!({
        "borrower": {"name": "Test Borrower", "phone": "13812345678", "customer_id": "C-100234"},
        "product": "personal_loan",
        "channel": "web",
        "text": text,
        "consent_to_contact": true,
    });
    if let Some(c) = category {
        form["category"] = json!(c);
    }
    form
}

fn demo_forms() -> Vec<Value> {
    let forms: Vec<Value> = DEMO
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|mut v| v.get_mut("complaint").map(Value::take))
        .collect();
    if forms.is_empty() {
        // The demo file is missing or empty: a small mix of our own.
        vec![
            form(SHORT_ZH, None),
            form(LONG_EN, None),
            form(
                "借款时被收取了合同里没有写明的服务费，实际年化利率远超36%。",
                Some("fees_interest"),
            ),
            form(
                "My payment was taken twice from my bank account this month.",
                None,
            ),
            form(
                "有人冒用我的身份证在你们平台借了款，我从来没有申请过。",
                None,
            ),
            form(
                "The app keeps logging me out and the support staff were rude.",
                None,
            ),
        ]
    } else {
        forms
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn priors() -> Vec<PriorComplaint> {
    [
        ("RD-261020-AAAAAAAA", "fees_interest", 34),
        ("RD-260901-BBBBBBBB", "collection_conduct", 83),
        ("RD-260301-CCCCCCCC", "payments", 267),
    ]
    .into_iter()
    .map(|(reference, category, days_ago)| PriorComplaint {
        reference: reference.to_string(),
        category: category.into(),
        received_at: now() - Duration::days(days_ago),
    })
    .collect()
}

/// The work intake does per complaint, minus I/O.
fn parse_and_assess(config: &DomainConfig, form: &Value, priors: &[PriorComplaint]) -> usize {
    let complaint = Complaint::parse(form, config, ParseMode::Submission, now())
        .expect("bench forms are valid");
    let received_at = complaint.submitted_at.unwrap_or_else(now);
    let a = assess(
        config,
        &complaint,
        "RD-261123-7KQ2M9XA",
        received_at,
        priors,
    );
    a.signals.len() + a.route.team.as_str().len()
}

fn bench(c: &mut Criterion) {
    let config = DomainConfig::bundled().expect("bundled configuration");
    let priors = priors();
    let short_zh = form(SHORT_ZH, None);
    let long_en = form(LONG_EN, None);
    let demo = demo_forms();
    for f in demo.iter().chain([&short_zh, &long_en]) {
        Complaint::parse(f, &config, ParseMode::Submission, now())
            .expect("every bench form parses");
    }

    let mut group = c.benchmark_group("assess");
    group.throughput(Throughput::Elements(1));
    group.bench_function("short_zh", |b| {
        b.iter(|| parse_and_assess(&config, black_box(&short_zh), &priors))
    });
    group.bench_function("long_en", |b| {
        b.iter(|| parse_and_assess(&config, black_box(&long_en), &priors))
    });
    group.throughput(Throughput::Elements(demo.len() as u64));
    group.bench_function("demo_mix", |b| {
        b.iter(|| {
            demo.iter()
                .map(|f| parse_and_assess(&config, black_box(f), &priors))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
