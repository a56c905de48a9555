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

use crate::model::{CredentialKind, Model, NONE};
use crate::time::Micros;

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
    /// The standing credential (`NONE` under `[mitigations.credentials]`).
    pub credential: u32,
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

/// Each agent's access, indexed like `model.agents` (empty when actions
/// are not checked).
pub fn plan(model: &Model) -> Vec<AgentAccess> {
    if !model.access_checked() {
        return Vec::new();
    }
    let mut holders = vec![0u32; model.credentials.len()];
    let mut union = vec![0u64; model.credentials.len()];
    for agent in model.agents.iter().filter(|a| a.credential != NONE) {
        holders[agent.credential as usize] += 1;
        union[agent.credential as usize] |= agent.scope;
    }
    let jit = model.mitigations.credentials;
    model
        .agents
        .iter()
        .map(|agent| {
            let Some(task) = jit else {
                return standing(model, agent, &holders, &union);
            };
            AgentAccess {
                kind: CredentialKind::TaskScoped,
                credential: NONE,
                scope: agent.scope,
                ttl: task.ttl,
                policy: agent.scope,
                attributable: agent.sponsored,
            }
        })
        .collect()
}

fn standing(model: &Model, agent: &crate::model::Agent, holders: &[u32], union: &[u64]) -> AgentAccess {
    let c = agent.credential;
    // Scenario compilation refuses an acting agent without a credential;
    // one that never acts gets an empty credential-less record.
    let Some(credential) = model.credentials.get(c as usize) else {
        return AgentAccess {
            kind: CredentialKind::StaticKey,
            credential: NONE,
            scope: agent.scope,
            ttl: 0,
            policy: 0,
            attributable: false,
        };
    };
    let (policy, attributable) = match credential.kind {
        CredentialKind::Inherited => (u64::MAX, false),
        CredentialKind::SharedAccount => (union[c as usize], false),
        CredentialKind::StaticKey => (agent.scope, agent.sponsored && holders[c as usize] == 1),
        CredentialKind::TaskScoped => (agent.scope, agent.sponsored),
    };
    AgentAccess { kind: credential.kind, credential: c, scope: agent.scope, ttl: credential.ttl, policy, attributable }
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
            let grants = if access.credential == NONE { access.scope } else { grants & access.scope };
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
        AgentAccess { kind, credential: 0, scope, ttl: 10 * SECOND, policy, attributable: true }
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
        let a = AgentAccess { credential: NONE, ..access(CredentialKind::TaskScoped, 0b010, 0b010) };
        assert_eq!(decide(&a, 0, WRITE, 5, Some(0), false), Decision::Allowed);
        assert_eq!(decide(&a, u64::MAX, CI, 5, Some(0), false), Decision::Denied);
    }

    fn planned(credentials: &str, a: &str, b: &str) -> Vec<AgentAccess> {
        let text = format!(
            "name = \"p\"\nhorizon = \"1m\"\nquiet_window = \"1s\"\n\
             [[resources]]\nname = \"x\"\naccess = \"read\"\n[[resources]]\nname = \"y\"\naccess = \"write\"\n\
             {credentials}\n[[agents]]\nid = \"A\"\naction = \"x\"\n{a}\n[[agents]]\nid = \"B\"\n{b}\n"
        );
        plan(&crate::scenario::parse("p.toml", &text).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn plans_resolve_policy_and_attribution_per_credential_kind() {
        let shared = "[[credentials]]\nname = \"s\"\nkind = \"shared_account\"\ngrants = [\"x\", \"y\"]";
        let both = planned(
            shared,
            "credential = \"s\"\nsponsor = \"h\"",
            "action = \"y\"\ncredential = \"s\"\nsponsor = \"h\"",
        );
        assert_eq!((both[0].policy, both[1].policy), (0b11, 0b11), "the union of the holders' scopes");
        assert!(!both[0].attributable && !both[1].attributable);
        let key = shared.replace("shared_account", "static_key");
        let one = planned(&key, "credential = \"s\"\nsponsor = \"h\"", "");
        assert_eq!((one[0].policy, one[0].attributable), (0b01, true), "one sponsored holder");
        let unsponsored = planned(&key, "credential = \"s\"", "");
        assert!(!unsponsored[0].attributable);
        let two =
            planned(&key, "credential = \"s\"\nsponsor = \"h\"", "action = \"y\"\ncredential = \"s\"\nsponsor = \"h\"");
        assert!(!two[0].attributable && !two[1].attributable, "a key two agents hold names neither");
        let inherited =
            planned(&shared.replace("shared_account", "inherited"), "credential = \"s\"\nsponsor = \"h\"", "");
        assert_eq!((inherited[0].policy, inherited[0].attributable), (u64::MAX, false));
        let jit = planned(
            &format!("{key}\n[mitigations.credentials]\nttl = \"5s\""),
            "credential = \"s\"\nsponsor = \"h\"",
            "action = \"y\"\ncredential = \"s\"",
        );
        assert_eq!(
            (jit[1].kind, jit[1].credential, jit[1].scope, jit[1].policy),
            (CredentialKind::TaskScoped, NONE, 0b10, 0b10)
        );
        assert_eq!((jit[0].attributable, jit[1].attributable, jit[0].ttl), (true, false, 5 * SECOND));
        assert!(planned("", "", "").is_empty(), "no credentials: nothing checked");
    }

    #[test]
    fn the_highest_resource_bit_works() {
        let a = access(CredentialKind::StaticKey, 1 << 63, 1 << 63);
        assert_eq!(decide(&a, 1 << 63, 63, 0, None, true), Decision::Allowed);
    }
}
