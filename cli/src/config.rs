//! Loading the domain configuration, and `redress config check`.

use anyhow::{Context, Result};
use redress_domain::config::{DomainConfig, ROUTING_TOML};
use redress_domain::sla::CALENDAR_WARNING_DAYS;
use redress_notifier::config::{NotifyConfig, NOTIFICATIONS_TOML};
use std::path::Path;

/// The configuration from `dir` if given, else `REDRESS_CONFIG_DIR`, else the bundled files.
pub fn load(dir: Option<&Path>) -> Result<DomainConfig> {
    match dir {
        Some(dir) => DomainConfig::from_dir(dir)
            .with_context(|| format!("loading the configuration from {}", dir.display())),
        None => DomainConfig::from_env().context("loading the configuration"),
    }
}

/// Where the configuration came from, for people.
pub fn source_name(dir: Option<&Path>) -> String {
    match dir {
        Some(dir) => dir.display().to_string(),
        None => match std::env::var_os("REDRESS_CONFIG_DIR") {
            Some(d) if !d.is_empty() => format!("{} (REDRESS_CONFIG_DIR)", Path::new(&d).display()),
            _ => "bundled".to_string(),
        },
    }
}

/// Loads and cross-checks the configuration and returns a one-line summary.
pub fn check(dir: Option<&Path>) -> Result<String> {
    let config = load(dir)?;
    // The routing table keeps its rules private; count them from the same file it read.
    let routing_src = match dir.map(Path::to_path_buf).or_else(env_dir) {
        Some(d) => std::fs::read_to_string(d.join("routing.toml"))
            .with_context(|| format!("reading {}", d.join("routing.toml").display()))?,
        None => ROUTING_TOML.to_string(),
    };
    let rules = count_rules(&routing_src)?;
    // The notifier checks its addresses and templates against the routing table at cold
    // start; a team added to routing.toml without addresses must fail here, before deploy.
    let notifications_src = match dir.map(Path::to_path_buf).or_else(env_dir) {
        Some(d) => std::fs::read_to_string(d.join("notifications.toml"))
            .with_context(|| format!("reading {}", d.join("notifications.toml").display()))?,
        None => NOTIFICATIONS_TOML.to_string(),
    };
    let notifications = NotifyConfig::from_toml(&notifications_src, &config)
        .context("checking notifications.toml against the routing table")?;
    // The holiday lists run out every year: say so while there is time to extend them.
    let warnings: String = config
        .sla
        .calendars_running_out(chrono::Utc::now().date_naive(), CALENDAR_WARNING_DAYS)
        .iter()
        .map(|c| format!("\nwarning: {c}"))
        .collect();
    Ok(format!(
        "configuration OK ({}): {} categories, {} teams, {} products, {} routing rules, {} SLA policies (default {}), addresses for {} teams{warnings}",
        source_name(dir),
        config.classifier.categories().len(),
        config.routing.teams().len(),
        config.routing.products().len(),
        rules,
        config.sla.ids().count(),
        config.sla.default_policy().id,
        notifications.teams.len(),
    ))
}

fn env_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("REDRESS_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .map(Into::into)
}

fn count_rules(routing_src: &str) -> Result<usize> {
    let value: toml::Table = toml::from_str(routing_src).context("parsing routing.toml")?;
    Ok(value
        .get("rules")
        .and_then(toml::Value::as_array)
        .map_or(0, Vec::len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_configuration_checks_out_with_a_summary() {
        let summary = check(None).unwrap();
        assert!(summary.starts_with("configuration OK"), "{summary}");
        assert!(summary.contains("11 categories"), "{summary}");
    }

    #[test]
    fn a_team_without_notification_addresses_fails_the_check() {
        let dir = std::env::temp_dir().join(format!("redress-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../config"),
            &dir,
        );
        let ok = check(Some(&dir));
        // Drop the triage team's addresses: routing still sends tickets there.
        let text = std::fs::read_to_string(dir.join("notifications.toml")).unwrap();
        let start = text
            .find("[teams.triage]")
            .expect("bundled file has a triage team");
        let end = text[start + 1..]
            .find("\n[")
            .map_or(text.len(), |i| start + 1 + i + 1);
        std::fs::write(
            dir.join("notifications.toml"),
            format!("{}{}", &text[..start], &text[end..]),
        )
        .unwrap();
        let broken = check(Some(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        let summary = ok.unwrap();
        assert!(summary.contains("addresses for"), "{summary}");
        let err = format!("{:#}", broken.unwrap_err());
        assert!(
            err.contains("notifications.toml") && err.contains("triage"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_config_dir_is_an_error_naming_the_folder() {
        let err = check(Some(Path::new("/nonexistent/redress-config"))).unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent/redress-config"),
            "{err:#}"
        );
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}
