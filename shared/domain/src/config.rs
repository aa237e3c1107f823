//! The domain's configuration: classification rules, routing table and SLA policies.
//!
//! Every rule lives in a TOML file under `config/` at the repository root. The files are
//! compiled into the binaries (so a Lambda needs no file system) and can be replaced at
//! run time by pointing `REDRESS_CONFIG_DIR` at a folder holding files of the same names.

use crate::classify::Classifier;
use crate::routing::RoutingTable;
use crate::sla::SlaPolicies;
use std::path::Path;

/// A configuration file that could not be read or does not make sense.
#[derive(Debug, thiserror::Error)]
#[error("configuration file {file}: {message}")]
pub struct ConfigError {
    /// Which file (e.g. `routing.toml`).
    pub file: String,
    /// What is wrong with it, specifically.
    pub message: String,
}

impl ConfigError {
    /// A new error about `file`.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            message: message.into(),
        }
    }
}

/// The bundled classification rules.
pub const CLASSIFICATION_TOML: &str = include_str!("../../../config/classification.toml");
/// The bundled routing table.
pub const ROUTING_TOML: &str = include_str!("../../../config/routing.toml");
/// The bundled SLA policies.
pub const SLA_TOML: &str = include_str!("../../../config/sla.toml");

/// Everything the domain needs to assess a complaint, loaded and cross-checked once.
#[derive(Debug)]
pub struct DomainConfig {
    pub classifier: Classifier,
    pub routing: RoutingTable,
    pub sla: SlaPolicies,
}

impl DomainConfig {
    /// The configuration compiled into the binary.
    pub fn bundled() -> Result<Self, ConfigError> {
        Self::from_sources(CLASSIFICATION_TOML, ROUTING_TOML, SLA_TOML)
    }

    /// Reads `classification.toml`, `routing.toml` and `sla.toml` from a folder.
    pub fn from_dir(dir: &Path) -> Result<Self, ConfigError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| ConfigError::new(name, format!("cannot read {}: {e}", dir.display())))
        };
        Self::from_sources(
            &read("classification.toml")?,
            &read("routing.toml")?,
            &read("sla.toml")?,
        )
    }

    /// The folder named by `REDRESS_CONFIG_DIR` if set, else the bundled files.
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var_os("REDRESS_CONFIG_DIR") {
            Some(dir) if !dir.is_empty() => Self::from_dir(Path::new(&dir)),
            _ => Self::bundled(),
        }
    }

    /// Like [`from_env`](Self::from_env), but the classifier has its rules and catalogue
    /// without the learned model. For the functions that never classify text (they only
    /// look categories, teams and policies up): their cold start skips parsing the ~2 MB
    /// model, and their binaries do not carry it. `classify` on this config would use the
    /// keyword rules alone, so a function that classifies must use `from_env`.
    pub fn rules_only_from_env() -> Result<Self, ConfigError> {
        let (classification, routing, sla) = match std::env::var_os("REDRESS_CONFIG_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = Path::new(&dir);
                let read = |name: &str| {
                    std::fs::read_to_string(dir.join(name)).map_err(|e| {
                        ConfigError::new(name, format!("cannot read {}: {e}", dir.display()))
                    })
                };
                (
                    read("classification.toml")?,
                    read("routing.toml")?,
                    read("sla.toml")?,
                )
            }
            _ => (
                CLASSIFICATION_TOML.to_string(),
                ROUTING_TOML.to_string(),
                SLA_TOML.to_string(),
            ),
        };
        Self::checked(
            Classifier::rules_from_toml(&classification)?,
            &routing,
            &sla,
        )
    }

    /// Parses the three files and checks that they agree with each other.
    pub fn from_sources(
        classification: &str,
        routing: &str,
        sla: &str,
    ) -> Result<Self, ConfigError> {
        Self::checked(Classifier::from_toml(classification)?, routing, sla)
    }

    fn checked(classifier: Classifier, routing: &str, sla: &str) -> Result<Self, ConfigError> {
        let routing = RoutingTable::from_toml(routing)?;
        let sla = SlaPolicies::from_toml(sla)?;
        routing.check_against(&classifier, &sla)?;
        Ok(Self {
            classifier,
            routing,
            sla,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_configuration_loads_and_is_consistent() {
        let config = DomainConfig::bundled().expect("bundled config must load");
        assert!(config.classifier.category("collection_conduct").is_some());
        assert!(config.classifier.category("other").is_some());
    }

    #[test]
    fn the_rules_only_configuration_has_the_same_catalogue_and_no_model() {
        let full = DomainConfig::bundled().unwrap();
        let rules = DomainConfig::rules_only_from_env().unwrap();
        assert!(full.classifier.model().is_some());
        assert!(rules.classifier.model().is_none());
        // Everything but the model is the same: catalogue, keywords, signals, limits.
        assert_eq!(
            format!("{:?}", full.classifier.without_model()),
            format!("{:?}", rules.classifier)
        );
        assert_eq!(
            format!("{:?}", full.routing),
            format!("{:?}", rules.routing)
        );
        // The same parse of sla.toml for both (its Debug holds unordered sets).
        assert!(full.sla.ids().eq(rules.sla.ids()));
    }
}
