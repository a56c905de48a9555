//! Each agent's access for a run: its credential kind, scope, gateway
//! policy and attribution, resolved once per model from its credential
//! and the mitigations (the table in [`crate::mitigation::access`]).

use crate::mitigation::access::{AgentAccess, CredentialKind};
use crate::model::{Agent, Model, NONE};

/// Each agent's access, indexed like `model.agents` (empty when actions
/// are not checked).
pub(super) fn plan(model: &Model) -> Vec<AgentAccess> {
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
                credential: None,
                scope: agent.scope,
                ttl: task.ttl,
                policy: agent.scope,
                attributable: agent.sponsored,
            }
        })
        .collect()
}

fn standing(model: &Model, agent: &Agent, holders: &[u32], union: &[u64]) -> AgentAccess {
    let c = agent.credential;
    // Scenario compilation refuses an acting agent without a credential;
    // one that never acts gets an empty credential-less record.
    let Some(credential) = model.credentials.get(c as usize) else {
        return AgentAccess {
            kind: CredentialKind::StaticKey,
            credential: None,
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
    AgentAccess {
        kind: credential.kind,
        credential: Some(c),
        scope: agent.scope,
        ttl: credential.ttl,
        policy,
        attributable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

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
            (CredentialKind::TaskScoped, None, 0b10, 0b10)
        );
        assert_eq!((jit[0].attributable, jit[1].attributable, jit[0].ttl), (true, false, 5 * SECOND));
        assert!(planned("", "", "").is_empty(), "no credentials: nothing checked");
    }
}
