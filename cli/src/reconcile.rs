//! `redress reconcile`: finds accepted complaints that still have no ticket after a
//! while — their queue message was lost, dropped from the dead-letter queue, or is
//! stuck — and, with `--requeue`, puts their messages back on the complaints queue.
//!
//! It reads the api's records of accepted complaints (`redress_aws::accepted`), day by
//! day over the window, and checks each against its ticket. Requeueing is safe at any
//! time: intake is idempotent, so a complaint whose ticket appeared meanwhile changes
//! nothing. Only references and times are printed, never the complaint.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use redress_aws::accepted::AcceptedComplaint;
use redress_aws::{DynamoStore, SqsQueue};
use redress_domain::ports::AcceptedLog;
use serde::Serialize;

/// One accepted complaint without a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub reference: String,
    pub accepted_at: DateTime<Utc>,
    /// True once its message is back on the complaints queue.
    pub requeued: bool,
}

/// What a run found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Accepted in the window and still on record.
    pub checked: usize,
    /// Records whose ticket exists after all (intake could not clear them); cleared now.
    pub cleared: usize,
    /// No ticket, oldest first.
    pub missing: Vec<Missing>,
}

/// Parses an age such as `15m`, `2h`, `30s` or `14d` (a whole number and a unit).
pub fn parse_age(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .with_context(|| format!("{text:?}: give a unit (s, m, h or d), e.g. 15m"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .with_context(|| format!("{text:?}: expected a whole number then s, m, h or d"))?;
    let age = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => bail!("{text:?}: the unit must be s, m, h or d"),
    };
    age.filter(|a| *a <= Duration::days(3650))
        .with_context(|| format!("{text:?} is too long"))
}

/// Lists the accepted complaints older than `older_than` (and accepted within `within`
/// of `now`) that have no ticket; clears records whose ticket exists; with `requeue`,
/// sends each missing one's message to `queue` again.
pub async fn reconcile(
    store: &DynamoStore,
    queue: Option<&SqsQueue>,
    now: DateTime<Utc>,
    older_than: Duration,
    within: Duration,
) -> Result<Reconciliation> {
    let accepted = store
        .accepted_between(now - within, now - older_than)
        .await
        .context("reading the accepted complaints")?;
    let mut found = Reconciliation {
        checked: accepted.len(),
        ..Reconciliation::default()
    };
    for AcceptedComplaint {
        reference,
        accepted_at,
        message,
    } in accepted
    {
        if store
            .has_ticket(&reference)
            .await
            .with_context(|| format!("reading the ticket of {reference}"))?
        {
            store
                .clear_accepted(&reference)
                .await
                .with_context(|| format!("clearing the record of {reference}"))?;
            found.cleared += 1;
            continue;
        }
        let mut requeued = false;
        if let Some(queue) = queue {
            queue
                .send_json("requeue complaint message", &message)
                .await
                .with_context(|| format!("queueing {reference} again"))?;
            requeued = true;
        }
        found.missing.push(Missing {
            reference,
            accepted_at,
            requeued,
        });
    }
    Ok(found)
}

/// The report as text: one line per complaint without a ticket, then a summary.
pub fn render(r: &Reconciliation, now: DateTime<Utc>, older_than: Duration) -> String {
    let mut out = String::new();
    if !r.missing.is_empty() {
        out.push_str("reference            accepted at (UTC)         age       action\n");
    }
    for m in &r.missing {
        out.push_str(&format!(
            "{:<20} {:<25} {:<9} {}\n",
            m.reference,
            m.accepted_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            age(now - m.accepted_at),
            if m.requeued { "requeued" } else { "-" }
        ));
    }
    let requeued = r.missing.iter().filter(|m| m.requeued).count();
    out.push_str(&format!(
        "{} accepted complaint(s) older than {} checked: {} without a ticket ({} requeued), {} stale record(s) of ticketed complaints cleared\n",
        r.checked,
        age(older_than),
        r.missing.len(),
        requeued,
        r.cleared
    ));
    if requeued < r.missing.len() {
        out.push_str("run again with --requeue to put them back on the complaints queue\n");
    }
    out
}

/// `1d2h`, `15m`, `40s`: the largest two units.
fn age(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!(
            "{m}m{}",
            if seconds > 0 {
                format!("{seconds}s")
            } else {
                String::new()
            }
        ),
        (0, h, m) => format!("{h}h{m}m"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_their_unit() {
        assert_eq!(parse_age("15m").unwrap(), Duration::minutes(15));
        assert_eq!(parse_age("2h").unwrap(), Duration::hours(2));
        assert_eq!(parse_age("0s").unwrap(), Duration::zero());
        assert_eq!(parse_age(" 14d ").unwrap(), Duration::days(14));
        for bad in [
            "15",
            "m",
            "15x",
            "-5m",
            "1.5h",
            "",
            "99999999999999999999d",
            "4000d",
        ] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_report_names_references_and_times_only() {
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().unwrap();
        let r = Reconciliation {
            checked: 3,
            cleared: 1,
            missing: vec![Missing {
                reference: "RD-261202-7KQ2M9XA".into(),
                accepted_at: "2026-12-02T10:44:30Z".parse().unwrap(),
                requeued: false,
            }],
        };
        let text = render(&r, now, Duration::minutes(15));
        assert!(
            text.contains("RD-261202-7KQ2M9XA   2026-12-02T10:44:30Z      1h15m     -"),
            "{text}"
        );
        assert!(text.contains("3 accepted complaint(s) older than 15m checked: 1 without a ticket (0 requeued), 1 stale"), "{text}");
        assert!(text.contains("--requeue"), "{text}");
        assert_eq!(age(Duration::seconds(90)), "1m30s");
        assert_eq!(age(Duration::hours(49)), "2d1h");
    }
}
