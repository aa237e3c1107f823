//! Who is calling, from the claims the JWT authorizer verified.
//!
//! API Gateway's JWT authorizer (Cognito user pool) checks the token before the function
//! runs and passes its claims in `requestContext.authorizer.jwt.claims`; the local runner
//! does the same with development tokens. Access is decided here, on the server:
//! - members of `team-<id>` see and act on their team's tickets only;
//! - `managers` see every ticket and can reassign any;
//! - `contact-access` may see a borrower's contact details unmasked.
//!
//! Borrowers never hold tokens: they reach their own complaint by reference + secret.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Cognito group of managers.
pub const MANAGERS_GROUP: &str = "managers";
/// Cognito group whose members may see contact details unmasked.
pub const CONTACT_ACCESS_GROUP: &str = "contact-access";
/// Prefix of a team's Cognito group (`team-billing`).
pub const TEAM_GROUP_PREFIX: &str = "team-";

/// An authenticated staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user name (recorded as the actor of every action).
    pub user: String,
    /// Teams the user belongs to.
    pub teams: Vec<String>,
    pub manager: bool,
    pub contact_access: bool,
}

impl Principal {
    /// The principal of a request, if the authorizer passed one.
    pub fn from_request(request: &Request) -> Option<Self> {
        let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref() else {
            return None;
        };
        let claims = &ctx.authorizer.as_ref()?.jwt.as_ref()?.claims;
        let user = claims
            .get("username")
            .or_else(|| claims.get("cognito:username"))
            .or_else(|| claims.get("sub"))
            .filter(|u| !u.is_empty())?
            .clone();
        let groups = claims
            .get("cognito:groups")
            .map(|g| parse_groups(g))
            .unwrap_or_default();
        Some(Principal {
            user,
            teams: groups
                .iter()
                .filter_map(|g| g.strip_prefix(TEAM_GROUP_PREFIX))
                .map(str::to_string)
                .collect(),
            manager: groups.iter().any(|g| g == MANAGERS_GROUP),
            contact_access: groups.iter().any(|g| g == CONTACT_ACCESS_GROUP),
        })
    }

    /// True if the principal may see and act on a ticket of `team`.
    pub fn can_access(&self, team: &str) -> bool {
        self.manager || self.teams.iter().any(|t| t == team)
    }

    /// The role recorded in the audit trail.
    pub fn role(&self) -> &'static str {
        if self.manager {
            "manager"
        } else {
            "team_member"
        }
    }
}

/// API Gateway flattens list claims into one string: `[a b]` (or JSON `["a","b"]`).
fn parse_groups(raw: &str) -> Vec<String> {
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|g| g.trim_matches('"'))
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_claims_are_read_in_both_gateway_shapes() {
        assert_eq!(
            parse_groups("[team-billing managers]"),
            ["team-billing", "managers"]
        );
        assert_eq!(
            parse_groups(r#"["team-billing","contact-access"]"#),
            ["team-billing", "contact-access"]
        );
        assert!(parse_groups("[]").is_empty());
    }

    #[test]
    fn members_reach_their_team_only_and_managers_reach_all() {
        let member = Principal {
            user: "alice".into(),
            teams: vec!["billing".into()],
            manager: false,
            contact_access: false,
        };
        assert!(member.can_access("billing"));
        assert!(!member.can_access("hardship"));
        let manager = Principal {
            manager: true,
            teams: vec![],
            ..member
        };
        assert!(manager.can_access("hardship"));
    }
}
