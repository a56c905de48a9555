//! Credentials and the gateway: whether an action may go ahead, who it is
//! attributed to, and what the gateway can know about the agent behind it.
//!
//! Every agent that acts holds a standing credential (`[[credentials]]`):
//!
//! | kind           | what a resource sees | grants             | gateway policy            | attributable |
//! |----------------|----------------------|--------------------|---------------------------|--------------|
//! | inherited      | the human user       | the user's grants  | the user's grants         | never        |
//! | shared_account | the account          | the account grants | union of holders' scopes  | never        |
//! | static_key     | one key              | the key's grants   | the holder's scope        | one holder, sponsored |
//! | task_scoped    | a task token         | grants ∩ scope     | the token's scope         | sponsored    |
//!
//! A task-scoped token is minted when the agent starts a task and expires
//! `ttl` later; it covers only the task's scope, so the resource refuses
//! the rest with or without a gateway. `[mitigations.credentials]` gives
//! every agent such tokens in place of its standing credential.
//! `[mitigations.gateway]` checks each action against the policy the
//! presented identity allows it to know (the table's fourth column) and
//! raises an alert for every action it blocks.

use crate::time::Micros;

/// How a credential identifies its holder and what it grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// The agent acts with its human user's own session.
    Inherited,
    /// A service account several agents use.
    SharedAccount,
    /// A long-lived key issued to one agent.
    StaticKey,
    /// A token minted per task with that task's scope, valid for `ttl`.
    TaskScoped,
}

/// `[mitigations.credentials]`: task-scoped just-in-time credentials for
/// every agent, replacing the standing ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskCredentials {
    pub ttl: Micros,
}

/// `[mitigations.gateway]`: every action passes a policy check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gateway {
    /// A blocked action raises an alert (a detection, and a review when on).
    pub alert: bool,
}

/// What an agent acts with, resolved once per model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentAccess {
    pub kind: CredentialKind,
    /// The standing credential's index (`None` under `[mitigations.credentials]`).
    pub credential: Option<u32>,
    /// The agent's task scope.
    pub scope: u64,
    /// Task-token lifetime (task-scoped only).
    pub ttl: Micros,
    /// The most the gateway can restrict this identity to.
    pub policy: u64,
    /// An action can be traced to this agent and its human sponsor.
    pub attributable: bool,
}

/// The outcome of one action attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// The credential does not cover it (or the token expired): the
    /// resource refuses, silently.
    Denied,
    /// The gateway's policy does not cover it.
    Blocked,
}

/// Whether an action on `resource` (a bit index) may go ahead at `now`.
/// `task_start` is when the agent began its latest task (`None`: never);
/// `grants` is what its standing credential grants at `now` (ignored for
/// task-scoped access without a standing credential).
pub fn decide(
    access: &AgentAccess,
    grants: u64,
    resource: u32,
    now: Micros,
    task_start: Option<Micros>,
    gateway: bool,
) -> Decision {
    let bit = 1u64 << resource;
    let (covered, policy) = match access.kind {
        CredentialKind::TaskScoped => {
            let live = task_start.is_some_and(|start| now < start.saturating_add(access.ttl));
            let grants = if access.credential.is_none() { access.scope } else { grants & access.scope };
            (live && grants & bit != 0, if live { access.policy } else { 0 })
        }
        _ => (grants & bit != 0, access.policy),
    };
    if gateway && policy & bit == 0 {
        Decision::Blocked
    } else if covered {
        Decision::Allowed
    } else {
        Decision::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    fn access(kind: CredentialKind, scope: u64, policy: u64) -> AgentAccess {
        AgentAccess { kind, credential: Some(0), scope, ttl: 10 * SECOND, policy, attributable: true }
    }

    const READ: u32 = 0;
    const WRITE: u32 = 1;
    const CI: u32 = 2;

    #[test]
    fn standing_credentials_follow_their_grants_without_a_gateway() {
        let grants = 0b111;
        for kind in [CredentialKind::Inherited, CredentialKind::SharedAccount, CredentialKind::StaticKey] {
            let a = access(kind, 0b001, 0b011);
            assert_eq!(decide(&a, grants, CI, 0, None, false), Decision::Allowed, "{kind:?}");
            assert_eq!(decide(&a, 0b001, WRITE, 0, None, false), Decision::Denied, "{kind:?}");
        }
    }

    #[test]
    fn the_gateway_blocks_what_its_policy_does_not_cover() {
        let a = access(CredentialKind::SharedAccount, 0b001, 0b011);
        assert_eq!(decide(&a, 0b111, WRITE, 0, None, true), Decision::Allowed, "in the holders' union");
        assert_eq!(decide(&a, 0b111, CI, 0, None, true), Decision::Blocked);
        // The gateway blocks before the resource would have denied.
        assert_eq!(decide(&a, 0b001, CI, 0, None, true), Decision::Blocked);
        assert_eq!(decide(&a, 0b001, WRITE, 0, None, true), Decision::Denied, "policy allows, grants do not");
    }

    #[test]
    fn a_task_token_covers_its_scope_until_it_expires() {
        let a = access(CredentialKind::TaskScoped, 0b011, 0b011);
        let start = Some(100 * SECOND);
        assert_eq!(decide(&a, 0b111, READ, 100 * SECOND, start, false), Decision::Allowed);
        assert_eq!(decide(&a, 0b111, WRITE, 110 * SECOND - 1, start, false), Decision::Allowed);
        assert_eq!(decide(&a, 0b111, WRITE, 110 * SECOND, start, false), Decision::Denied, "expired");
        assert_eq!(decide(&a, 0b111, CI, 101 * SECOND, start, false), Decision::Denied, "granted, not in scope");
        assert_eq!(decide(&a, 0b001, WRITE, 101 * SECOND, start, false), Decision::Denied, "in scope, not granted");
        assert_eq!(decide(&a, 0b111, READ, 0, None, false), Decision::Denied, "no task yet");
        assert_eq!(decide(&a, 0b111, CI, 101 * SECOND, start, true), Decision::Blocked);
        assert_eq!(decide(&a, 0b111, READ, 110 * SECOND, start, true), Decision::Blocked, "expired token");
    }

    #[test]
    fn jit_tokens_need_no_standing_grant() {
        let a = AgentAccess { credential: None, ..access(CredentialKind::TaskScoped, 0b010, 0b010) };
        assert_eq!(decide(&a, 0, WRITE, 5, Some(0), false), Decision::Allowed);
        assert_eq!(decide(&a, u64::MAX, CI, 5, Some(0), false), Decision::Denied);
    }

    #[test]
    fn the_highest_resource_bit_works() {
        let a = access(CredentialKind::StaticKey, 1 << 63, 1 << 63);
        assert_eq!(decide(&a, 1 << 63, 63, 0, None, true), Decision::Allowed);
    }
}
