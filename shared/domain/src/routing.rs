//! Routing: an ordered rule table maps category, signals, channel, product and repeat to
//! a team, a priority and an SLA policy. Loaded from `config/routing.toml`.

use crate::classify::Classifier;
use crate::config::ConfigError;
use crate::sla::SlaPolicies;
use crate::taxonomy::{Bilingual, CategoryId, Channel, Priority, Signal, TeamId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const FILE: &str = "routing.toml";

/// A handling team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: Bilingual,
}

/// A lending product a complaint can be about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub label: Bilingual,
}

/// One row of the routing table. Every condition given must hold; an empty one holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    #[serde(default)]
    pub categories: Vec<CategoryId>,
    #[serde(default)]
    pub signals_any: Vec<Signal>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub products: Vec<String>,
    /// `Some(true)`: only repeats; `Some(false)`: only first complaints.
    #[serde(default)]
    pub repeat: Option<bool>,
    pub team: TeamId,
    pub priority: Priority,
    /// SLA policy id; the policies' default when absent.
    #[serde(default)]
    pub sla_policy: Option<String>,
}

impl RoutingRule {
    fn is_catch_all(&self) -> bool {
        self.categories.is_empty()
            && self.signals_any.is_empty()
            && self.channels.is_empty()
            && self.products.is_empty()
            && self.repeat.is_none()
    }

    fn matches(&self, input: &RouteInput<'_>) -> bool {
        (self.categories.is_empty() || self.categories.iter().any(|c| c == input.category))
            && (self.signals_any.is_empty()
                || self.signals_any.iter().any(|s| input.signals.contains(s)))
            && (self.channels.is_empty() || self.channels.contains(&input.channel))
            && (self.products.is_empty() || self.products.iter().any(|p| p == input.product))
            && self
                .repeat
                .is_none_or(|r| r == input.signals.contains(&Signal::Repeat))
    }
}

/// A signal that raises priority to at least a level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityBoost {
    pub signal: Signal,
    pub at_least: Priority,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepeatSection {
    window_days: u32,
}

/// Where complaints go whose category the model is not sure of (`[triage]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    /// The team that reads the text and sends the ticket on.
    pub team: TeamId,
    /// A category decided by the model with a lower probability than this is not trusted.
    pub min_confidence: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingFile {
    repeat: RepeatSection,
    #[serde(default)]
    triage: Option<Triage>,
    teams: Vec<Team>,
    products: Vec<Product>,
    rules: Vec<RoutingRule>,
    #[serde(default)]
    priority_boosts: Vec<PriorityBoost>,
}

/// What routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    pub category: &'a str,
    /// Signals from the text, plus [`Signal::Repeat`] when the borrower complained before.
    pub signals: &'a BTreeSet<Signal>,
    pub channel: Channel,
    pub product: &'a str,
    /// The model's probability for `category` when the model chose it from the text;
    /// `None` when the borrower, a signal or a rule chose it.
    pub confidence: Option<f32>,
}

/// Where a complaint goes and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteDecision {
    pub team: TeamId,
    pub priority: Priority,
    /// Name of the rule that matched.
    pub rule: String,
    /// SLA policy id, or `None` for the default policy.
    pub sla_policy: Option<String>,
    /// Plain-language account of the decision, kept with the ticket.
    pub reason: String,
}

/// The routing table.
#[derive(Debug)]
pub struct RoutingTable {
    teams: Vec<Team>,
    products: Vec<Product>,
    rules: Vec<RoutingRule>,
    boosts: Vec<PriorityBoost>,
    repeat_window_days: u32,
    triage: Option<Triage>,
}

impl RoutingTable {
    /// Parses `routing.toml` and checks it on its own terms.
    pub fn from_toml(src: &str) -> Result<Self, ConfigError> {
        let file: RoutingFile =
            toml::from_str(src).map_err(|e| ConfigError::new(FILE, e.to_string()))?;
        let table = RoutingTable {
            teams: file.teams,
            products: file.products,
            rules: file.rules,
            boosts: file.priority_boosts,
            repeat_window_days: file.repeat.window_days,
            triage: file.triage,
        };
        table.check()?;
        Ok(table)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError::new(FILE, m));
        if self.repeat_window_days == 0 {
            return err("repeat.window_days must be at least 1".into());
        }
        let mut seen = BTreeSet::new();
        for t in &self.teams {
            if !seen.insert(t.id.as_str()) {
                return err(format!("team '{}' is defined twice", t.id));
            }
        }
        let mut seen = BTreeSet::new();
        for p in &self.products {
            if !seen.insert(p.id.as_str()) {
                return err(format!("product '{}' is defined twice", p.id));
            }
        }
        if let Some(t) = &self.triage {
            if self.team(t.team.as_str()).is_none() {
                return err(format!("triage names unknown team '{}'", t.team));
            }
            if !(0.0..=1.0).contains(&t.min_confidence) {
                return err(format!(
                    "triage.min_confidence must be a probability 0-1 (found {})",
                    t.min_confidence
                ));
            }
        }
        if self.product("other").is_none() {
            return err("a product with id 'other' is required".into());
        }
        let mut names = BTreeSet::new();
        for rule in &self.rules {
            if !names.insert(rule.name.as_str()) {
                return err(format!("rule name '{}' is used twice", rule.name));
            }
            if self.team(rule.team.as_str()).is_none() {
                return err(format!(
                    "rule '{}' routes to unknown team '{}'",
                    rule.name, rule.team
                ));
            }
            if let Some(p) = rule.products.iter().find(|p| self.product(p).is_none()) {
                return err(format!("rule '{}' names unknown product '{p}'", rule.name));
            }
        }
        match self.rules.last() {
            Some(last) if last.is_catch_all() => Ok(()),
            _ => err(
                "the last rule must have no conditions, so that every complaint is routed".into(),
            ),
        }
    }

    /// Checks the names this table shares with the classifier and the SLA policies.
    pub fn check_against(
        &self,
        classifier: &Classifier,
        sla: &SlaPolicies,
    ) -> Result<(), ConfigError> {
        for rule in &self.rules {
            if let Some(c) = rule
                .categories
                .iter()
                .find(|c| classifier.category(c.as_str()).is_none())
            {
                return Err(ConfigError::new(
                    FILE,
                    format!("rule '{}' names unknown category '{c}'", rule.name),
                ));
            }
            if let Some(p) = rule.sla_policy.as_deref().filter(|p| sla.get(p).is_none()) {
                return Err(ConfigError::new(
                    FILE,
                    format!("rule '{}' names unknown SLA policy '{p}'", rule.name),
                ));
            }
        }
        Ok(())
    }

    /// Routes a complaint: the first matching rule, then priority boosts from signals.
    pub fn route(&self, input: &RouteInput<'_>) -> RouteDecision {
        let rule = self
            .rules
            .iter()
            .find(|r| r.matches(input))
            .expect("checked at load: the last rule matches everything");
        let mut priority = rule.priority;
        let mut raised_by = Vec::new();
        for boost in &self.boosts {
            if input.signals.contains(&boost.signal) && boost.at_least > priority {
                priority = boost.at_least;
                raised_by.push(boost.signal.as_str());
            }
        }
        let mut reason = format!(
            "rule '{}' sent it to {} at {} priority",
            rule.name, rule.team, rule.priority
        );
        if !raised_by.is_empty() {
            reason.push_str(&format!(
                "; raised to {priority} by {}",
                raised_by.join(", ")
            ));
        }
        // A rule that routes on an uncertain category would guess the team: the triage team
        // reads it instead. Rules on signals alone (vulnerability …) still apply.
        if let (Some(t), Some(c)) = (&self.triage, input.confidence) {
            if c < t.min_confidence && !rule.categories.is_empty() {
                reason = format!(
                    "model confidence {:.0}% in {} is below {:.0}%, so the triage team decides (rule '{}' would have sent it to {}) at {priority} priority",
                    c * 100.0,
                    input.category,
                    t.min_confidence * 100.0,
                    rule.name,
                    rule.team
                );
                return RouteDecision {
                    team: t.team.clone(),
                    priority,
                    rule: rule.name.clone(),
                    sla_policy: rule.sla_policy.clone(),
                    reason,
                };
            }
        }
        RouteDecision {
            team: rule.team.clone(),
            priority,
            rule: rule.name.clone(),
            sla_policy: rule.sla_policy.clone(),
            reason,
        }
    }

    /// All teams, in file order.
    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    /// A team by id.
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// All products, in file order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// A product by id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// Product ids, in file order.
    pub fn product_ids(&self) -> Vec<&str> {
        self.products.iter().map(|p| p.id.as_str()).collect()
    }

    /// The triage team and threshold, if configured.
    pub fn triage(&self) -> Option<&Triage> {
        self.triage.as_ref()
    }

    /// The repeat window in days.
    pub fn repeat_window_days(&self) -> u32 {
        self.repeat_window_days
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ROUTING_TOML;
    use proptest::prelude::*;

    fn table() -> RoutingTable {
        RoutingTable::from_toml(ROUTING_TOML).unwrap()
    }

    fn route(category: &str, signals: &[Signal]) -> RouteDecision {
        let signals: BTreeSet<Signal> = signals.iter().copied().collect();
        table().route(&RouteInput {
            category,
            signals: &signals,
            channel: Channel::Web,
            product: "personal_loan",
            confidence: None,
        })
    }

    #[test]
    fn an_unsure_category_goes_to_triage_but_signal_rules_still_apply() {
        let t = table();
        let triage = t.triage().expect("routing.toml configures triage");
        let at = |category: &str, signals: &[Signal], confidence: Option<f32>| {
            let signals: BTreeSet<Signal> = signals.iter().copied().collect();
            t.route(&RouteInput {
                category,
                signals: &signals,
                channel: Channel::Web,
                product: "personal_loan",
                confidence,
            })
        };
        let sure = at("fees_interest", &[], Some(triage.min_confidence + 0.1));
        assert_eq!(sure.team, "billing");
        let unsure = at("fees_interest", &[], Some(triage.min_confidence - 0.1));
        assert_eq!(unsure.team, triage.team);
        assert!(
            unsure.reason.contains("the triage team decides"),
            "{}",
            unsure.reason
        );
        assert!(
            unsure.reason.contains("would have sent it to billing"),
            "{}",
            unsure.reason
        );
        // No confidence: the borrower, a signal or a rule chose the category.
        assert_eq!(at("fees_interest", &[], None).team, "billing");
        // A vulnerable borrower goes to specialist support however unsure the category.
        assert_eq!(
            at("fees_interest", &[Signal::Vulnerability], Some(0.05)).team,
            "specialist_support"
        );
    }

    #[test]
    fn triage_must_name_a_known_team_and_a_probability() {
        let bad = ROUTING_TOML.replace(
            "team = \"triage\"\nmin_confidence",
            "team = \"nobody\"\nmin_confidence",
        );
        let e = RoutingTable::from_toml(&bad).unwrap_err();
        assert!(
            e.message.contains("triage names unknown team 'nobody'"),
            "{}",
            e.message
        );
        let bad = ROUTING_TOML.replace("min_confidence = 0.4", "min_confidence = 4.0");
        let e = RoutingTable::from_toml(&bad).unwrap_err();
        assert!(e.message.contains("triage.min_confidence"), "{}", e.message);
    }

    #[test]
    fn default_categories_go_to_the_teams_in_the_design() {
        for (category, team) in [
            ("collection_conduct", "conduct_compliance"),
            ("repayment_difficulty", "hardship"),
            ("fees_interest", "billing"),
            ("payments", "billing"),
            ("credit_reporting", "credit_bureau"),
            ("privacy", "privacy_office"),
            ("fraud", "fraud"),
            ("marketing", "conduct_compliance"),
            ("contract_terms", "conduct_compliance"),
            ("service_quality", "customer_care"),
            ("other", "customer_care"),
        ] {
            assert_eq!(route(category, &[]).team, team, "{category}");
        }
    }

    #[test]
    fn vulnerability_goes_to_specialist_support_at_top_priority() {
        let d = route("fees_interest", &[Signal::Vulnerability, Signal::Threat]);
        assert_eq!(d.team, "specialist_support");
        assert_eq!(d.priority, Priority::Critical);
        assert_eq!(d.rule, "vulnerable-borrower");
    }

    #[test]
    fn signals_raise_priority_and_say_so() {
        let d = route("fees_interest", &[Signal::AuthorityMention]);
        assert_eq!(d.team, "billing");
        assert_eq!(d.priority, Priority::High);
        assert!(d.reason.contains("authority_mention"), "{}", d.reason);
        assert_eq!(
            route("fees_interest", &[Signal::Repeat]).priority,
            Priority::High
        );
    }

    #[test]
    fn a_table_without_catch_all_is_refused() {
        let src = ROUTING_TOML.replace(
            "name = \"everything-else\"\nteam",
            "name = \"everything-else\"\ncategories = [\"other\"]\nteam",
        );
        let err = RoutingTable::from_toml(&src).unwrap_err();
        assert!(err.message.contains("last rule"), "{err}");
    }

    #[test]
    fn an_unknown_team_is_refused() {
        let src = ROUTING_TOML.replace(
            "team = \"hardship\"\npriority",
            "team = \"nobody\"\npriority",
        );
        let err = RoutingTable::from_toml(&src).unwrap_err();
        assert!(err.message.contains("unknown team 'nobody'"), "{err}");
    }

    fn any_signals() -> impl Strategy<Value = BTreeSet<Signal>> {
        proptest::collection::btree_set(proptest::sample::select(Signal::ALL.to_vec()), 0..5)
    }

    proptest! {
        #[test]
        fn every_complaint_is_routed_to_a_known_team_and_boosts_hold(
            category in proptest::sample::select(vec![
                "collection_conduct", "repayment_difficulty", "fees_interest", "payments",
                "credit_reporting", "privacy", "fraud", "marketing", "contract_terms",
                "service_quality", "other"]),
            signals in any_signals(),
            channel in proptest::sample::select(Channel::ALL.to_vec()),
        ) {
            let t = table();
            let d = t.route(&RouteInput { category, signals: &signals, channel, product: "other", confidence: None });
            prop_assert!(t.team(d.team.as_str()).is_some());
            for boost in &t.boosts {
                if signals.contains(&boost.signal) {
                    prop_assert!(d.priority >= boost.at_least);
                }
            }
            if signals.contains(&Signal::Vulnerability) {
                prop_assert_eq!(d.team.as_str(), "specialist_support");
            }
        }
    }
}
