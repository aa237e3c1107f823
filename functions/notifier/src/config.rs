//! `config/notifications.toml`: team addresses and the message templates, checked once
//! at cold start (an unknown placeholder or a team without addresses stops the start).

use redress_domain::config::{ConfigError, DomainConfig};
use redress_domain::Language;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

const FILE: &str = "notifications.toml";
/// The bundled file.
pub const NOTIFICATIONS_TOML: &str = include_str!("../../../config/notifications.toml");

/// What a message is, for choosing its template (the notification kinds plus the
/// escalation a breach may cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateKind {
    Acknowledgement,
    Resolution,
    SurveyInvitation,
    DeadlineWarning,
    DeadlineBreached,
    Escalation,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 6] = [
        TemplateKind::Acknowledgement,
        TemplateKind::Resolution,
        TemplateKind::SurveyInvitation,
        TemplateKind::DeadlineWarning,
        TemplateKind::DeadlineBreached,
        TemplateKind::Escalation,
    ];

    /// The name in the file (`[templates.<name>.<language>]`).
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Acknowledgement => "acknowledgement",
            TemplateKind::Resolution => "resolution",
            TemplateKind::SurveyInvitation => "survey_invitation",
            TemplateKind::DeadlineWarning => "deadline_warning",
            TemplateKind::DeadlineBreached => "deadline_breached",
            TemplateKind::Escalation => "escalation",
        }
    }

    /// The placeholders its templates may use.
    pub fn placeholders(self) -> &'static [&'static str] {
        const TEAM: &[&str] = &[
            "reference",
            "team",
            "priority",
            "deadline",
            "due_at",
            "regulatory_due_at",
            "console_link",
        ];
        match self {
            TemplateKind::Acknowledgement => &[
                "reference",
                "received_at",
                "acknowledge_by",
                "resolve_by",
                "status_link",
            ],
            TemplateKind::Resolution => &["reference", "outcome", "summary", "status_link"],
            TemplateKind::SurveyInvitation => &["reference", "survey_link", "expires_at"],
            TemplateKind::DeadlineWarning | TemplateKind::DeadlineBreached => TEAM,
            TemplateKind::Escalation => &[
                "reference",
                "team",
                "priority",
                "deadline",
                "due_at",
                "regulatory_due_at",
                "console_link",
                "reason",
            ],
        }
    }

    /// True for messages to borrowers (which need an SMS text too).
    pub fn is_for_borrower(self) -> bool {
        matches!(
            self,
            TemplateKind::Acknowledgement
                | TemplateKind::Resolution
                | TemplateKind::SurveyInvitation
        )
    }
}

/// One message in one language.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub subject: String,
    pub body: String,
    /// The SMS text (borrower messages only).
    #[serde(default)]
    pub sms: Option<String>,
}

/// A team's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamAddresses {
    /// The language of its alerts (`zh` or `en`).
    pub language: String,
    /// Deadline warnings and breaches.
    pub to: Vec<String>,
    /// The team's lead, for escalations.
    pub lead: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Escalation {
    managers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    escalation: Escalation,
    teams: BTreeMap<String, TeamAddresses>,
    templates: BTreeMap<String, BTreeMap<String, Template>>,
}

/// The notifier's configuration, checked.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub managers: Vec<String>,
    pub teams: BTreeMap<String, TeamAddresses>,
    templates: BTreeMap<(TemplateKind, &'static str), Template>,
}

impl NotifyConfig {
    /// The bundled file, checked against the bundled routing table.
    pub fn bundled(domain: &DomainConfig) -> Result<Self, ConfigError> {
        Self::from_toml(NOTIFICATIONS_TOML, domain)
    }

    /// `notifications.toml` from `REDRESS_CONFIG_DIR` if set, else the bundled one.
    pub fn from_env(domain: &DomainConfig) -> Result<Self, ConfigError> {
        match std::env::var_os("REDRESS_CONFIG_DIR") {
            Some(dir) if !dir.is_empty() => {
                let path = Path::new(&dir).join(FILE);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::new(FILE, format!("cannot read {}: {e}", path.display()))
                })?;
                Self::from_toml(&text, domain)
            }
            _ => Self::bundled(domain),
        }
    }

    /// Parses and checks: both languages of every template, only known placeholders, an
    /// SMS text for borrower messages, addresses for every team of the routing table.
    pub fn from_toml(text: &str, domain: &DomainConfig) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::new(FILE, e.to_string()))?;
        let mut templates = BTreeMap::new();
        for kind in TemplateKind::ALL {
            let by_language = file.templates.get(kind.as_str()).ok_or_else(|| {
                ConfigError::new(FILE, format!("no [templates.{}]", kind.as_str()))
            })?;
            for language in [Language::Chinese, Language::English] {
                let where_ = format!("templates.{}.{}", kind.as_str(), language.as_str());
                let template = by_language
                    .get(language.as_str())
                    .ok_or_else(|| ConfigError::new(FILE, format!("no [{where_}]")))?;
                for (field, text) in [
                    ("subject", Some(&template.subject)),
                    ("body", Some(&template.body)),
                    ("sms", template.sms.as_ref()),
                ] {
                    let Some(text) = text else { continue };
                    for name in placeholders(text)
                        .map_err(|e| ConfigError::new(FILE, format!("{where_}.{field}: {e}")))?
                    {
                        if !kind.placeholders().contains(&name) {
                            return Err(ConfigError::new(
                                FILE,
                                format!(
                                    "{where_}.{field} uses {{{name}}}; it may use {}",
                                    kind.placeholders().join(", ")
                                ),
                            ));
                        }
                    }
                }
                if kind.is_for_borrower() && template.sms.is_none() {
                    return Err(ConfigError::new(
                        FILE,
                        format!("{where_} needs an sms text (borrowers with only a phone)"),
                    ));
                }
                templates.insert((kind, language.as_str()), template.clone());
            }
        }
        for team in domain.routing.teams() {
            let addresses = file.teams.get(team.id.as_str()).ok_or_else(|| {
                ConfigError::new(FILE, format!("team {} has no [teams.{}]", team.id, team.id))
            })?;
            if addresses.to.is_empty() || addresses.lead.is_empty() {
                return Err(ConfigError::new(
                    FILE,
                    format!(
                        "teams.{} needs at least one `to` and one `lead` address",
                        team.id
                    ),
                ));
            }
            if Language::parse(&addresses.language).is_none() {
                return Err(ConfigError::new(
                    FILE,
                    format!("teams.{}.language must be zh or en", team.id),
                ));
            }
        }
        if file.escalation.managers.is_empty() {
            return Err(ConfigError::new(FILE, "escalation.managers is empty"));
        }
        for address in file
            .teams
            .values()
            .flat_map(|t| t.to.iter().chain(&t.lead))
            .chain(&file.escalation.managers)
        {
            if !looks_like_address(address) {
                return Err(ConfigError::new(
                    FILE,
                    format!("not an e-mail address: {address}"),
                ));
            }
        }
        Ok(Self {
            managers: file.escalation.managers,
            teams: file.teams,
            templates,
        })
    }

    /// The template for a kind and language (every pair exists: checked at load).
    pub fn template(&self, kind: TemplateKind, language: Language) -> &Template {
        &self.templates[&(kind, language.as_str())]
    }

    /// A team's addresses.
    pub fn team(&self, id: &str) -> Option<&TeamAddresses> {
        self.teams.get(id)
    }
}

/// A plausible address: one `@`, something on each side, a dot in the domain.
pub fn looks_like_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// The `{name}`s in a template.
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a `{` is never closed")?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(format!("`{{{name}}}` is not a placeholder name"));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` is never opened".into());
    }
    Ok(names)
}

/// Replaces each `{name}` with its value (every name was checked at load).
pub fn render(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                out.push_str(values.get(name).map(String::as_str).unwrap_or(""));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> DomainConfig {
        DomainConfig::bundled().unwrap()
    }

    #[test]
    fn the_bundled_file_has_both_languages_of_every_template_and_every_team() {
        let config = NotifyConfig::bundled(&domain()).expect("bundled notifications.toml loads");
        for kind in TemplateKind::ALL {
            for language in [Language::Chinese, Language::English] {
                assert!(!config.template(kind, language).subject.is_empty());
            }
        }
        assert_eq!(
            config.team("billing").unwrap().to,
            ["billing@redress.example"]
        );
        assert!(!config.managers.is_empty());
    }

    #[test]
    fn an_unknown_placeholder_is_refused_with_its_place() {
        let text = NOTIFICATIONS_TOML.replacen(
            "subject = \"We have received your complaint {reference}\"",
            "subject = \"Dear {name}, we received {reference}\"",
            1,
        );
        let e = NotifyConfig::from_toml(&text, &domain()).unwrap_err();
        assert!(
            e.message
                .contains("templates.acknowledgement.en.subject uses {name}"),
            "{e}"
        );
    }

    #[test]
    fn a_team_without_addresses_is_refused() {
        let text = NOTIFICATIONS_TOML.replacen("[teams.fraud]", "[teams.fraud_old]", 1);
        let e = NotifyConfig::from_toml(&text, &domain()).unwrap_err();
        assert!(e.message.contains("team fraud has no [teams.fraud]"), "{e}");
    }

    #[test]
    fn a_borrower_template_without_sms_text_is_refused() {
        let text = NOTIFICATIONS_TOML.replacen(
            "sms = \"How did we handle complaint {reference}? One-minute survey: {survey_link}\"",
            "",
            1,
        );
        let e = NotifyConfig::from_toml(&text, &domain()).unwrap_err();
        assert!(
            e.message.contains("survey_invitation.en needs an sms text"),
            "{e}"
        );
    }

    #[test]
    fn rendering_replaces_each_placeholder() {
        let values = BTreeMap::from([
            ("reference", "RD-1".to_string()),
            ("team", "billing".to_string()),
        ]);
        assert_eq!(
            render("  {reference} for {team}: {reference}\n", &values),
            "RD-1 for billing: RD-1"
        );
    }

    #[test]
    fn addresses_are_checked_for_shape() {
        assert!(looks_like_address("a.b@redress.example"));
        for bad in ["", "a", "a@b", "@b.c", "a@.c", "a b@c.d", "a@b@c.d"] {
            assert!(!looks_like_address(bad), "{bad}");
        }
    }
}
