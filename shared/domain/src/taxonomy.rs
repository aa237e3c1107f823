//! Small closed vocabularies shared by every part of the domain.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How urgently a ticket must be handled. Ordered: `Low < Normal < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    /// The identifier used in configuration, storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    /// Parses the identifier written by [`Priority::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "critical" => Some(Priority::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something found in a complaint that raises its priority or changes its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Threats or violence against the borrower or their family.
    Threat,
    /// Illness, distress, self-harm or other vulnerability.
    Vulnerability,
    /// Mention of a regulator, court, lawyer or the press.
    AuthorityMention,
    /// Contacting or harassing family, friends, employer or other third parties.
    ThirdPartyHarassment,
    /// Fraud or identity theft happening now.
    FraudInProgress,
    /// Collection contact alleged between 22:00 and 08:00 (CBA collection guideline).
    NightCollection,
    /// More call attempts a day than the collection guideline allows.
    ExcessiveCalls,
    /// The same borrower complained before within the repeat window.
    Repeat,
}

impl Signal {
    /// Every signal, in a stable order.
    pub const ALL: [Signal; 8] = [
        Signal::Threat,
        Signal::Vulnerability,
        Signal::AuthorityMention,
        Signal::ThirdPartyHarassment,
        Signal::FraudInProgress,
        Signal::NightCollection,
        Signal::ExcessiveCalls,
        Signal::Repeat,
    ];

    /// The identifier used in configuration, storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Threat => "threat",
            Signal::Vulnerability => "vulnerability",
            Signal::AuthorityMention => "authority_mention",
            Signal::ThirdPartyHarassment => "third_party_harassment",
            Signal::FraudInProgress => "fraud_in_progress",
            Signal::NightCollection => "night_collection",
            Signal::ExcessiveCalls => "excessive_calls",
            Signal::Repeat => "repeat",
        }
    }

    /// Parses the identifier written by [`Signal::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Signal::ALL.into_iter().find(|sig| sig.as_str() == s)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a complaint reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    App,
    Phone,
    Email,
    Letter,
    Agent,
}

impl Channel {
    /// Every channel, in a stable order.
    pub const ALL: [Channel; 6] = [
        Channel::Web,
        Channel::App,
        Channel::Phone,
        Channel::Email,
        Channel::Letter,
        Channel::Agent,
    ];

    /// The identifier used in configuration, storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::Letter => "letter",
            Channel::Agent => "agent",
        }
    }

    /// Parses the identifier written by [`Channel::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The language the borrower wrote in and wants answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "zh")]
    Chinese,
    #[serde(rename = "en")]
    English,
}

impl Language {
    /// The identifier used in storage and the API (`zh`, `en`).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Chinese => "zh",
            Language::English => "en",
        }
    }

    /// Parses `zh`/`en` (also `zh-CN`, `en-GB` and the like).
    pub fn parse(s: &str) -> Option<Self> {
        let lower = s.to_ascii_lowercase();
        if lower == "zh" || lower.starts_with("zh-") {
            Some(Language::Chinese)
        } else if lower == "en" || lower.starts_with("en-") {
            Some(Language::English)
        } else {
            None
        }
    }

    /// Guesses the language of a text: Chinese if it holds any CJK ideograph.
    pub fn detect(text: &str) -> Self {
        if text.chars().any(is_cjk) {
            Language::Chinese
        } else {
            Language::English
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// A text in both of the languages we serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilingual {
    pub en: String,
    pub zh: String,
}

impl Bilingual {
    /// The text in the given language.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Chinese => &self.zh,
            Language::English => &self.en,
        }
    }
}

/// Declares a string identifier newtype: serialised as the bare string, compared and
/// hashed like it (so maps keyed by it can be looked up with a `&str`).
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier (configuration has already checked that it exists).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as written in configuration, storage and the API.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

string_id! {
    /// Identifier of a complaint category from the classification rules (`fees_interest`,
    /// `other` …).
    CategoryId
}

string_id! {
    /// Identifier of a handling team from the routing table (`billing`, `hardship` …).
    TeamId
}

/// The category used when nothing else fits.
pub const OTHER_CATEGORY: &str = "other";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_ordered_by_urgency() {
        assert!(Priority::Critical > Priority::High);
        assert!(Priority::High > Priority::Normal);
        assert!(Priority::Normal > Priority::Low);
    }

    #[test]
    fn identifiers_round_trip() {
        for s in Signal::ALL {
            assert_eq!(Signal::parse(s.as_str()), Some(s));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Language::parse("zh-CN"), Some(Language::Chinese));
        assert_eq!(Language::parse("fr"), None);
    }

    #[test]
    fn language_is_detected_from_ideographs() {
        assert_eq!(Language::detect("催收电话太多"), Language::Chinese);
        assert_eq!(Language::detect("too many calls"), Language::English);
    }
}
