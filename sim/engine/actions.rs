//! Actions against resources: each agent's access resolved once per model
//! from its credential and the mitigations (the table in
//! [`crate::mitigation::access`]), then every attempt checked against the
//! credential and the gateway, counted and traced.

use super::review::ReviewCase;
use super::{Detail, Engine, TraceKind, Value, NEVER};
use crate::mitigation::access::{self, AgentAccess, CredentialKind, Decision};
use crate::model::{AccessKind, Agent, Model, NONE, NO_FAULT};

/// An action attempt: who, on what, for which message (`NONE` outside a
/// task), with which root fault and corruption shift.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attempt {
    pub(super) agent: u32,
    pub(super) resource: u32,
    pub(super) message: u32,
    pub(super) signal: f64,
    pub(super) shift: f64,
    pub(super) root: u16,
}

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

impl Attempt {
    fn value(&self) -> Value {
        Value { signal: self.signal, shift: self.shift, root: self.root }
    }
}

impl Engine {
    /// An action attempt meets the credential and the gateway; returns
    /// the decision after counting and tracing it.
    pub(super) fn act(&mut self, model: &Model, attempt: &Attempt) -> Decision {
        let Attempt { agent, resource, message, root, .. } = *attempt;
        let value = attempt.value();
        let checked = !self.access.is_empty() && resource != NONE;
        let decision = if checked { self.decide(model, agent, resource) } else { Decision::Allowed };
        match decision {
            Decision::Allowed => {
                self.metrics.actions += 1;
                self.metrics.corrupted_actions += (root != NO_FAULT) as u64;
                self.metrics.unattributable_actions += (checked && !self.access[agent as usize].attributable) as u64;
                self.record(TraceKind::Action, agent, message, Detail::Resource(resource), value);
                if root != NO_FAULT && resource != NONE {
                    self.write_controls(model, attempt);
                }
            }
            Decision::Denied => self.record(TraceKind::ActionDenied, agent, message, Detail::Resource(resource), value),
            Decision::Blocked => self.gateway_blocked(model, attempt),
        }
        decision
    }

    pub(super) fn decide(&self, model: &Model, agent: u32, resource: u32) -> Decision {
        let access = &self.access[agent as usize];
        let grants =
            access.credential.and_then(|c| model.credentials.get(c as usize)).map_or(0, |c| c.grants_at(self.now));
        let start = self.agents[agent as usize].task_start;
        let task_start = (start != NEVER).then_some(start);
        access::decide(access, grants, resource, self.now, task_start, model.mitigations.gateway.is_some())
    }

    /// The gateway blocked an action: a detection, and an alert for review.
    pub(super) fn gateway_blocked(&mut self, model: &Model, attempt: &Attempt) {
        let Attempt { agent, resource, message, root, .. } = *attempt;
        let value = attempt.value();
        self.record(TraceKind::ActionBlocked, agent, message, Detail::Resource(resource), value);
        if !model.mitigations.gateway.is_some_and(|g| g.alert) {
            return;
        }
        self.detected(model);
        self.record(TraceKind::Alert, agent, NONE, Detail::Resource(resource), value);
        if let Some(review) = &model.mitigations.review {
            let actor = if self.access[agent as usize].attributable { agent } else { NONE };
            let case = ReviewCase { actor, corrupted: root != NO_FAULT, ..ReviewCase::of_message(NONE, 0) };
            self.schedule_review(model, review.delay, case);
        }
    }

    /// A corrupted write that went ahead on a resource controlling an agent
    /// compromises that agent (e.g. a CI pipeline whose config was changed).
    pub(super) fn write_controls(&mut self, model: &Model, attempt: &Attempt) {
        let spec = &model.resources[attempt.resource as usize];
        if spec.access != AccessKind::Write || spec.controls == NONE {
            return;
        }
        let target = spec.controls;
        let state = &self.agents[target as usize];
        if state.compromised_by != NO_FAULT || state.quarantined {
            return;
        }
        self.compromise(target, attempt.root, attempt.shift, false);
        self.accept_corrupted(target);
        self.record(
            TraceKind::Compromise,
            target,
            attempt.message,
            Detail::None,
            Value::new(attempt.shift, attempt.shift, attempt.root),
        );
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
