//! The local stack is built from infra/template.yaml, so the two cannot drift: what was
//! created must be exactly what the template declares.

use aws_sdk_sqs::types::QueueAttributeName;
use redress_e2e::spawn_app;

/// (index name, key schema, projection type)
type IndexShape = (String, Vec<(String, String)>, String);

#[tokio::test]
async fn local_tables_and_queues_match_the_template() {
    let app = spawn_app().await;
    let template = &app.pipeline.template;

    for spec in &template.tables {
        let name = app.pipeline.resources.table(&spec.logical_id).unwrap();
        let table = app
            .pipeline
            .ddb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let keys: Vec<(String, String)> = table
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(keys, spec.key_schema, "{name} keys");
        let mut indexes: Vec<IndexShape> = table
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                (
                    g.index_name().unwrap().to_string(),
                    g.key_schema()
                        .iter()
                        .map(|k| {
                            (
                                k.attribute_name().to_string(),
                                k.key_type().as_str().to_string(),
                            )
                        })
                        .collect(),
                    g.projection()
                        .and_then(|p| p.projection_type())
                        .unwrap()
                        .as_str()
                        .to_string(),
                )
            })
            .collect();
        indexes.sort();
        let mut declared: Vec<IndexShape> = spec
            .global_indexes
            .iter()
            .map(|g| (g.name.clone(), g.key_schema.clone(), g.projection.clone()))
            .collect();
        declared.sort();
        assert_eq!(indexes, declared, "{name} indexes");
        let ttl = app
            .pipeline
            .ddb
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            ttl.time_to_live_description()
                .and_then(|t| t.attribute_name()),
            spec.ttl_attribute.as_deref(),
            "{name} TTL"
        );
    }

    for spec in &template.queues {
        let (url, _) = &app.pipeline.resources.queues[&spec.logical_id];
        let attrs = app
            .pipeline
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        if let Some(v) = spec.visibility_timeout {
            assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], v.to_string());
        }
        if let Some(v) = spec.message_retention {
            assert_eq!(
                attrs[&QueueAttributeName::MessageRetentionPeriod],
                v.to_string()
            );
        }
        match &spec.redrive {
            Some((dlq, max)) => {
                let policy: serde_json::Value =
                    serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
                assert_eq!(
                    policy["deadLetterTargetArn"],
                    app.pipeline.resources.queues[dlq].1
                );
                assert_eq!(
                    policy["maxReceiveCount"].to_string().trim_matches('"'),
                    max.to_string()
                );
            }
            None => assert!(!attrs.contains_key(&QueueAttributeName::RedrivePolicy)),
        }
    }
    app.stop().await;
}

#[test]
fn every_queue_a_function_reads_has_a_dead_letter_queue_and_six_times_its_timeout() {
    let template = redress_local::template::Template::load(
        &redress_e2e::workspace_root().join("infra/template.yaml"),
    )
    .unwrap();
    let mut consumers = 0;
    for function in &template.functions {
        for (queue_id, _) in &function.sqs_events {
            consumers += 1;
            let queue = template.queue(queue_id).unwrap();
            assert!(
                queue.redrive.is_some(),
                "{queue_id} has no dead-letter queue"
            );
            let timeout = function.timeout.expect("consumer declares its timeout");
            assert!(
                queue.visibility_timeout.unwrap_or(30) >= 6 * timeout,
                "{queue_id}: visibility timeout under six times {}'s timeout",
                function.logical_id
            );
        }
    }
    assert!(consumers >= 1);
}
