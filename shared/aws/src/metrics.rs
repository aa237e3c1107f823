//! Metric counters in DynamoDB: written in the same transaction as the change that moves
//! them (so each is counted exactly once), read back by day range for reports.
//!
//! | item            | pk                   | sk                              |
//! |-----------------|----------------------|---------------------------------|
//! | counter row     | `METRICS#<shard>`    | `<day>#<dimension>#<value>`     |
//!
//! Each row holds one number attribute per counter (`received`, `csat_4` …), moved with
//! `ADD`. Why shards: every complaint of a day updates the same few rows (`all`, its
//! team, category …); spread over [`METRIC_SHARDS`] partitions by a hash of the
//! reference, concurrent writers at a few hundred complaints a second stay far below a
//! partition's write limit and rarely contend on one item. A report reads every shard
//! for the day range: shards × days × rows-per-day items, independent of how many
//! complaints there were.

use crate::attr::{get_s, n, s, Item};
use crate::errors::store_error;
use crate::keys::{self, PK, SK};
use crate::store::DynamoStore;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use redress_domain::metrics::{Dimension, RowKey};
use redress_domain::ports::{MetricsReader, StoreError};
use redress_domain::report::{MetricRow, Period};
use std::collections::{BTreeMap, HashMap};

/// How many partitions the counters are spread over.
pub const METRIC_SHARDS: u32 = 8;

fn metrics_pk(shard: u32) -> String {
    format!("METRICS#{shard}")
}

fn row_sk(day: NaiveDate, dimension: Dimension, value: &str) -> String {
    format!("{day}#{}#{value}", dimension.as_str())
}

/// The transaction items that add `rows` to the counters, in the shard of `reference`.
pub fn counter_updates(
    table: &str,
    reference: &str,
    rows: &BTreeMap<RowKey, BTreeMap<String, i64>>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let shard = keys::due_shard(reference) % METRIC_SHARDS;
    let mut writes = Vec::new();
    for ((day, dimension, value), counters) in rows {
        if counters.is_empty() {
            continue;
        }
        let mut names = HashMap::from([
            ("#day".to_string(), "day".to_string()),
            ("#dim".to_string(), "dimension".to_string()),
            ("#val".to_string(), "value".to_string()),
        ]);
        let mut values = HashMap::from([
            (":day".to_string(), s(day.to_string())),
            (":dim".to_string(), s(dimension.as_str())),
            (":val".to_string(), s(value.clone())),
        ]);
        let mut adds = Vec::new();
        for (i, (counter, amount)) in counters.iter().enumerate() {
            names.insert(format!("#c{i}"), counter.clone());
            values.insert(format!(":c{i}"), n(*amount));
            adds.push(format!("#c{i} :c{i}"));
        }
        let update = Update::builder()
            .table_name(table)
            .key(PK, s(metrics_pk(shard)))
            .key(SK, s(row_sk(*day, *dimension, value)))
            .update_expression(format!(
                "SET #day = :day, #dim = :dim, #val = :val ADD {}",
                adds.join(", ")
            ))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::invalid_request("build counter update", e))?;
        writes.push(TransactWriteItem::builder().update(update).build());
    }
    Ok(writes)
}

/// What reading the counters cost.
pub type ReadStats = redress_domain::ports::ReadCost;

fn row_from(item: &Item) -> Option<(RowKey, BTreeMap<String, i64>)> {
    let day: NaiveDate = get_s(item, "day")?.parse().ok()?;
    let dimension = Dimension::parse(get_s(item, "dimension")?)?;
    let value = get_s(item, "value")?.to_string();
    let counters = item
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "pk" | "sk" | "day" | "dimension" | "value"))
        .filter_map(|(k, v)| match v {
            AttributeValue::N(num) => num.parse::<i64>().ok().map(|x| (k.clone(), x)),
            _ => None,
        })
        .collect();
    Some(((day, dimension, value), counters))
}

impl MetricsReader for DynamoStore {
    /// Every counter row of the days in `period`, summed over the shards.
    async fn metric_rows(
        &self,
        period: &Period,
    ) -> Result<(Vec<MetricRow>, ReadStats), StoreError> {
        let mut sums: BTreeMap<RowKey, BTreeMap<String, i64>> = BTreeMap::new();
        let mut stats = ReadStats::default();
        for shard in 0..METRIC_SHARDS {
            let mut start = None;
            loop {
                let out = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":pk", s(metrics_pk(shard)))
                    .expression_attribute_values(":from", s(format!("{}#", period.from)))
                    .expression_attribute_values(":to", s(format!("{}#~", period.to)))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| store_error("read metrics", e))?;
                stats.queries += 1;
                stats.items += out.items().len() as u64;
                for item in out.items() {
                    if let Some((key, counters)) = row_from(item) {
                        let row = sums.entry(key).or_default();
                        for (c, v) in counters {
                            *row.entry(c).or_default() += v;
                        }
                    }
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        let rows = sums
            .into_iter()
            .map(|((day, dimension, value), counters)| MetricRow {
                day,
                dimension,
                value,
                counters,
            })
            .collect();
        Ok((rows, stats))
    }

    async fn overdue_now(
        &self,
        teams: &[String],
        by: Dimension,
        now: DateTime<Utc>,
    ) -> Result<(BTreeMap<String, i64>, ReadStats), StoreError> {
        let mut counts = BTreeMap::new();
        let mut stats = ReadStats::default();
        counts.insert(redress_domain::metrics::ALL_VALUE.to_string(), 0);
        let attribute = match by {
            Dimension::Team => Some("team"),
            Dimension::Category => Some("category"),
            Dimension::Channel => Some("channel"),
            Dimension::Priority => Some("priority"),
            Dimension::All | Dimension::Signal => None,
        };
        for team in teams {
            let mut start = None;
            loop {
                // The queue index's sort key starts with the next deadline: the overdue
                // tickets are one key range, so this reads only them.
                let out = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .index_name("TeamQueue")
                    .key_condition_expression("#qpk = :team AND #qsk < :now")
                    .expression_attribute_names("#qpk", keys::TEAM_QUEUE_PK)
                    .expression_attribute_names("#qsk", keys::TEAM_QUEUE_SK)
                    .expression_attribute_values(":team", s(keys::team_queue_pk(team)))
                    .expression_attribute_values(":now", s(keys::timestamp(now)))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| store_error("read overdue tickets", e))?;
                stats.queries += 1;
                stats.items += out.items().len() as u64;
                for item in out.items() {
                    *counts
                        .entry(redress_domain::metrics::ALL_VALUE.to_string())
                        .or_default() += 1;
                    if let Some(value) = attribute.and_then(|a| get_s(item, a)) {
                        *counts.entry(value.to_string()).or_default() += 1;
                    }
                }
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        Ok((counts, stats))
    }
}
