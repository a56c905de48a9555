//! Attacks as the studies model them, held to closed forms: susceptibility
//! and trust compound along a chain, relay by agents not taken over, a
//! sanitising guard against a rejecting one, an attacker's effect, k-of-n
//! delegation, and injections read from memory (shared and isolated).

mod common;

use cascade::engine::{Engine, TraceKind, TraceRow};
use cascade::model::{Model, NO_FAULT};
use cascade::rng::run_key;
use cascade::runner::graph_for;

/// Each run's trace, for `runs` runs of `model`.
fn traces(model: &Model, runs: u64) -> Vec<Vec<TraceRow>> {
    (0..runs)
        .map(|r| {
            let graph = graph_for(model, 7, 0, r);
            let mut engine = Engine::new(model);
            engine.run(model, &graph, &run_key(7, 0, r), true);
            engine.trace().to_vec()
        })
        .collect()
}

/// `binomial(hits, n)` is within 4.5 standard errors of `p`.
fn assert_rate(what: &str, hits: u64, n: u64, p: f64) {
    let rate = hits as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
    assert!((rate - p).abs() <= 4.5 * se + 1e-12, "{what}: {hits}/{n} = {rate:.4}, expected {p:.4} (se {se:.4})");
}

/// A chain a0 -> a1 -> ... of `n` agents, one injected source message into
/// a0, every agent with `agent` keys and every channel with `channel` keys.
fn injected_chain(n: usize, agent: &str, channel: &str, fault: &str) -> Model {
    let mut text =
        String::from("name = \"chain\"\nhorizon = \"1h\"\nquiet_window = \"1m\"\n[workload]\nclean_relay = false\n");
    for i in 0..n {
        text.push_str(&format!("[[agents]]\nid = \"a{i}\"\n{agent}\n"));
    }
    for i in 1..n {
        text.push_str(&format!("[[channels]]\nfrom = \"a{}\"\nto = \"a{i}\"\n{channel}\n", i - 1));
    }
    text.push_str(
        "[[sources]]\nid = \"s\"\ntarget = \"a0\"\narrival = { process = \"periodic\", period = \"1s\" }\ncount = 1\n",
    );
    text.push_str(&format!("[[faults]]\nkind = \"prompt_injection\"\nagent = \"a0\"\nstart = \"0s\"\n{fault}\n"));
    common::model(&text)
}

/// Per agent, in how many runs it was compromised.
fn compromised_per_agent(model: &Model, runs: u64) -> Vec<u64> {
    let mut counts = vec![0; model.agents.len()];
    for trace in traces(model, runs) {
        let mut seen = vec![false; model.agents.len()];
        for row in trace.iter().filter(|r| r.kind == TraceKind::Compromise) {
            seen[row.agent as usize] = true;
        }
        seen.iter().zip(&mut counts).for_each(|(&s, c)| *c += s as u64);
    }
    counts
}

/// Only compromised agents pass the injection on (`replicate`): agent k
/// (from 0) is compromised with q s (r s t)^k, for the first target's
/// chance q, later agents' r, susceptibility s and channel trust t.
#[test]
fn susceptibility_and_trust_compound_along_a_chain() {
    let (q, r, s, t): (f64, f64, f64, f64) = (0.9, 0.8, 0.7, 0.9);
    let model = injected_chain(
        4,
        &format!("susceptibility = {s}"),
        &format!("trust = {t}"),
        &format!("probability = {q}\nspread_probability = {r}\nreplicate = true"),
    );
    let runs = 20_000;
    let counts = compromised_per_agent(&model, runs);
    for (k, &hits) in counts.iter().enumerate() {
        assert_rate(&format!("a{k}"), hits, runs, q * s * (r * s * t).powi(k as i32));
    }
    // The metrics say the same: a0 is the origin, the others are not.
    let metrics = common::runs(&model, 7, runs, 0);
    let origins: u64 = metrics.iter().map(|m| u64::from(m.origins_compromised)).sum();
    let others: u64 = metrics.iter().map(|m| u64::from(m.agents_compromised)).sum();
    assert_eq!((origins, others), (counts[0], counts[1..].iter().sum()));
}

/// With `relay`, an agent not taken over still passes the injected content
/// on with its propagation p: agent k is compromised with s (s + (1 - s) p)^k.
#[test]
fn relay_by_agents_not_taken_over_carries_the_injection_on() {
    let (s, p): (f64, f64) = (0.5, 0.6);
    let model = injected_chain(
        4,
        &format!("susceptibility = {s}\npropagation = {p}"),
        "",
        "probability = 1.0\nreplicate = true\nrelay = true",
    );
    let runs = 20_000;
    let counts = compromised_per_agent(&model, runs);
    for (k, &hits) in counts.iter().enumerate() {
        assert_rate(&format!("a{k}"), hits, runs, s * (s + (1.0 - s) * p).powi(k as i32));
    }
    let relayed: u64 = common::runs(&model, 7, runs, 0).iter().map(|m| m.injections_relayed).sum();
    assert!(relayed > 0, "relays are counted");
    // Without relay, a clean agent's output is clean: s^(k+1).
    let plain = injected_chain(
        4,
        &format!("susceptibility = {s}\npropagation = {p}"),
        "",
        "probability = 1.0\nreplicate = true",
    );
    for (k, &hits) in compromised_per_agent(&plain, runs).iter().enumerate() {
        assert_rate(&format!("a{k} without relay"), hits, runs, s.powi(k as i32 + 1));
    }
}

/// A compromised root feeding a chain of acting agents, every channel
/// validated by a Bernoulli detector of detection `d` that `action`s what
/// fails.
fn guarded_chain(d: f64, action: &str) -> Model {
    common::model(&guarded_text(d, action))
}

fn guarded_text(d: f64, action: &str) -> String {
    let mut text = String::from(
        "name = \"guarded\"\nhorizon = \"2000s\"\nquiet_window = \"1s\"\n[workload]\nclean_relay = true\n",
    );
    text.push_str("[[agents]]\nid = \"root\"\n");
    for i in 1..=3 {
        text.push_str(&format!("[[agents]]\nid = \"a{i}\"\naction = true\n"));
    }
    for (from, to) in [("root", "a1"), ("a1", "a2"), ("a2", "a3")] {
        text.push_str(&format!("[[channels]]\nfrom = \"{from}\"\nto = \"{to}\"\n"));
    }
    text.push_str(
        "[[sources]]\nid = \"s\"\ntarget = \"root\"\narrival = { process = \"periodic\", period = \"1s\" }\n",
    );
    text.push_str("[[faults]]\nkind = \"compromised_agent\"\nagent = \"root\"\nstart = \"0s\"\nshift = 5.0\n");
    text.push_str(&format!(
        "[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = {d}\nfalse_positive = 0.0\naction = \"{action}\"\n"
    ));
    text
}

/// Per acting agent a1..a3: (actions, corrupted actions) over the runs.
fn decisions(model: &Model, runs: u64) -> Vec<(u64, u64)> {
    let mut counts = vec![(0, 0); 3];
    for trace in traces(model, runs) {
        for row in trace.iter().filter(|r| r.kind == TraceKind::Action) {
            let c = &mut counts[row.agent as usize - 1];
            c.0 += 1;
            c.1 += (row.root != NO_FAULT) as u64;
        }
    }
    counts
}

/// Sanitising: every decision happens, on cleaned input when the guard
/// caught the corruption; the first downstream decision is poisoned with
/// 1 - d, the k-th with (1 - d)^k (one independent guard per hop).
/// Rejecting: the caught ones never happen, so every decision that does is
/// poisoned, whatever d.
#[test]
fn a_sanitising_guard_leaves_decisions_poisoned_with_one_minus_d() {
    for d in [0.0, 0.3, 0.8] {
        let model = guarded_chain(d, "sanitise");
        let tasks: u64 = common::runs(&model, 7, 4, 0).iter().map(|m| m.tasks).sum();
        for (k, &(actions, poisoned)) in decisions(&model, 4).iter().enumerate() {
            assert_eq!(actions, tasks, "d = {d}: every task reaches a{}", k + 1);
            assert_rate(&format!("d = {d}, a{}", k + 1), poisoned, actions, (1.0 - d).powi(k as i32 + 1));
        }
        for (k, &(actions, poisoned)) in decisions(&guarded_chain(d, "reject"), 4).iter().enumerate() {
            assert_eq!(poisoned, actions, "d = {d}: a rejecting guard leaves only poisoned decisions at a{}", k + 1);
        }
    }
    let metrics = common::runs(&guarded_chain(0.8, "sanitize"), 7, 4, 0);
    assert!(metrics.iter().all(|m| m.sanitised > 0 && m.sanitised_clean == 0 && m.rejected_corrupted == 0));
}

/// A compromised agent's outputs are corrupted with its `effect`.
#[test]
fn a_compromised_agent_corrupts_a_share_effect_of_its_outputs() {
    let model = common::model(
        r#"
name = "effect"
horizon = "5000s"
quiet_window = "1s"
[[agents]]
id = "a"
action = true
[[sources]]
id = "s"
target = "a"
arrival = { process = "periodic", period = "1s" }
[[faults]]
kind = "compromised_agent"
agent = "a"
start = "0s"
shift = 1.0
effect = 0.3
"#,
    );
    let metrics = common::runs(&model, 7, 4, 0);
    let actions: u64 = metrics.iter().map(|m| m.actions).sum();
    let corrupted: u64 = metrics.iter().map(|m| m.corrupted_actions).sum();
    assert_rate("corrupted actions", corrupted, actions, 0.3);
    assert!(metrics.iter().all(|m| m.origins_compromised == 1 && m.agents_compromised == 0));
}

/// `output = { random = k }` sends each output to k distinct out-channels,
/// so each neighbour gets a task with probability k/n.
#[test]
fn k_of_n_delegation_reaches_each_neighbour_with_k_over_n() {
    let (k, n) = (2, 5);
    let mut text = format!(
        "name = \"kofn\"\nhorizon = \"3000s\"\nquiet_window = \"1s\"\n[[agents]]\nid = \"hub\"\noutput = {{ random = {k} }}\n"
    );
    for i in 0..n {
        text.push_str(&format!("[[agents]]\nid = \"n{i}\"\n[[channels]]\nfrom = \"hub\"\nto = \"n{i}\"\n"));
    }
    text.push_str("[[sources]]\nid = \"s\"\ntarget = \"hub\"\narrival = { process = \"periodic\", period = \"1s\" }\n");
    let model = common::model(&text);
    let mut received = vec![0u64; n + 1];
    let mut tasks = 0;
    for trace in traces(&model, 3) {
        let mut per_task = std::collections::BTreeMap::<u32, Vec<u32>>::new();
        for row in trace.iter().filter(|r| r.kind == TraceKind::Send) {
            let cascade::engine::Detail::Peer(to) = row.detail else { panic!("a send names its receiver") };
            per_task.entry(row.task).or_default().push(to);
            received[to as usize] += 1;
        }
        for (task, mut to) in per_task {
            to.sort_unstable();
            to.dedup();
            assert_eq!(to.len(), k, "task {task}: {k} distinct receivers");
            tasks += 1;
        }
    }
    assert!(tasks >= 3 * 2999);
    for (i, &hits) in received.iter().enumerate().skip(1) {
        assert_rate(&format!("n{}", i - 1), hits, tasks, k as f64 / n as f64);
    }
    assert_eq!(received[0], 0, "the hub sends to no one but its neighbours");
    let mut everyone = text.replace(&format!("random = {k}"), "random = 9");
    everyone.push('\n');
    let all = common::runs(&common::model(&everyone), 7, 1, 0)[0];
    assert_eq!(all.messages, all.tasks * (n as u64 + 1), "k above n sends to every neighbour");
    let exactly_n = common::model(&text.replace(&format!("random = {k}"), &format!("random = {n}")));
    let plain = common::model(&text.replace(&format!("{{ random = {k} }}"), "\"all\""));
    assert_eq!(traces(&exactly_n, 2), traces(&plain, 2), "k = n is `all`: every channel in order, no draws");
}

/// Planted records carrying an injection, read as context: with shared
/// memory every reader is exposed; isolated, only the poisoned partition's
/// owner (and those granted it). Each reader is compromised with the
/// fault's probability times its susceptibility.
fn memory_attack(mode: &str, owner: &str, grants: &str) -> Model {
    common::model(&format!(
        r#"
name = "memory-injection"
horizon = "100s"
quiet_window = "1s"
[memory]
mode = "{mode}"
{grants}
[[agents]]
id = "a"
susceptibility = 0.5
memory = {{ read = 4, weight = 0.5 }}
[[agents]]
id = "b"
memory = {{ read = 4, weight = 0.5 }}
[[sources]]
id = "sa"
target = "a"
arrival = {{ process = "periodic", period = "10s" }}
count = 1
[[sources]]
id = "sb"
target = "b"
arrival = {{ process = "periodic", period = "10s" }}
count = 1
[[faults]]
kind = "memory_poisoning"
{owner}
at = "0s"
records = 2
shift = 1.0
probability = 0.6
spread_probability = 0.05
"#
    ))
}

#[test]
fn injections_read_from_memory_compromise_readers_within_isolation() {
    let runs = 20_000;
    let shared = compromised_per_agent(&memory_attack("shared", "", ""), runs);
    assert_rate("shared: a (susceptibility 0.5)", shared[0], runs, 0.3);
    assert_rate("shared: b", shared[1], runs, 0.6);
    let isolated = compromised_per_agent(&memory_attack("isolated", "owner = \"a\"", ""), runs);
    assert_rate("isolated: a", isolated[0], runs, 0.3);
    assert_eq!(isolated[1], 0, "b cannot read a's partition");
    let granted = memory_attack("isolated", "owner = \"a\"", "grants = [{ reader = \"b\", owner = \"a\" }]");
    let granted_counts = compromised_per_agent(&granted, runs);
    assert_rate("granted: b", granted_counts[1], runs, 0.6);
    let metrics = common::runs(&memory_attack("shared", "", ""), 7, 2000, 0);
    assert!(metrics.iter().all(|m| m.memory_compromises == u64::from(m.agents_compromised)));
    assert!(metrics.iter().any(|m| m.memory_compromises == 2));
}

/// Records an agent writes while compromised (with `replicate`) carry the
/// injection to their readers, at the later agents' chance.
#[test]
fn a_compromised_writer_plants_the_injection_for_its_readers() {
    let model = common::model(
        r#"
name = "notes"
horizon = "100s"
quiet_window = "1s"
[workload]
clean_relay = false
[[agents]]
id = "browser"
memory = { write = true }
[[agents]]
id = "planner"
memory = { read = 1, weight = 0.5 }
[[sources]]
id = "web"
target = "browser"
arrival = { process = "periodic", period = "10s" }
count = 1
[[sources]]
id = "tasks"
target = "planner"
arrival = { process = "periodic", period = "10s" }
count = 3
[[faults]]
kind = "prompt_injection"
agent = "browser"
start = "0s"
shift = 1.0
probability = 1.0
spread_probability = 0.4
replicate = true
notes = true
"#,
    );
    let runs = 20_000;
    let counts = compromised_per_agent(&model, runs);
    assert_eq!(counts[0], runs, "the browser always falls");
    // The browser's service ends first at time 0 (it was scheduled first),
    // so each of the planner's three tasks reads the note: 1 - 0.6^3.
    assert_rate("planner", counts[1], runs, 1.0 - 0.6f64.powi(3));
    // Without notes the records carry no instructions (as before the key).
    let silent = common::model(&model_text_without_notes());
    assert_eq!(compromised_per_agent(&silent, 2000)[1], 0, "records carry no injection without notes");
}

/// A reader of injected records that they did not take over relays the
/// injection with its propagation p; one they took over before does not
/// (its own outputs carry it only with `replicate`).
fn memory_relay(susceptibility: f64, tasks: u32, relay: bool, effect: f64) -> Model {
    common::model(&format!(
        r#"
name = "memory-relay"
horizon = "100s"
quiet_window = "1s"
[[agents]]
id = "reader"
susceptibility = {susceptibility}
propagation = 0.5
memory = {{ read = 4, weight = 0.5 }}
[[agents]]
id = "doer"
[[channels]]
from = "reader"
to = "doer"
[[sources]]
id = "tasks"
target = "reader"
arrival = {{ process = "periodic", period = "10s" }}
count = {tasks}
[[faults]]
kind = "memory_poisoning"
at = "0s"
records = 2
shift = 1.0
probability = 0.6
spread_probability = 0.4
relay = {relay}
effect = {effect}
"#
    ))
}

#[test]
fn a_reader_not_taken_over_relays_an_injection_read_from_memory() {
    let runs = 20_000;
    let immune = compromised_per_agent(&memory_relay(0.0, 1, true, 1.0), runs);
    assert_eq!(immune[0], 0, "a reader of susceptibility 0 is never taken");
    assert_rate("doer behind an immune relaying reader", immune[1], runs, 0.5 * 0.4);
    assert_eq!(compromised_per_agent(&memory_relay(0.0, 1, false, 1.0), 2000)[1], 0, "no relay, no injection on");
    // Each read relays with p = 0.5 and then takes the reader with q = 0.6;
    // a taken reader's output is its attacker's with the effect e = 0.5,
    // carrying no injection (no `replicate`), and the doer falls to a relay
    // with s = 0.4. A reader taken by the first read relays nothing more.
    let twice = compromised_per_agent(&memory_relay(1.0, 2, true, 0.5), runs);
    assert_rate("reader", twice[0], runs, 1.0 - 0.4f64.powi(2));
    let (p, q, e, s) = (0.5, 0.6, 0.5, 0.4);
    let a_read = p * (1.0 - q * e) * s;
    let untaken_and_standing = (1.0 - q) * (1.0 - p * s);
    assert_rate("doer behind a reader read twice", twice[1], runs, a_read + untaken_and_standing * a_read);
}

fn model_text_without_notes() -> String {
    "name = \"notes\"\nhorizon = \"100s\"\nquiet_window = \"1s\"\n[workload]\nclean_relay = false\n\
     [[agents]]\nid = \"browser\"\nmemory = { write = true }\n[[agents]]\nid = \"planner\"\n\
     memory = { read = 1, weight = 0.5 }\n[[sources]]\nid = \"web\"\ntarget = \"browser\"\n\
     arrival = { process = \"periodic\", period = \"10s\" }\ncount = 1\n[[sources]]\nid = \"tasks\"\n\
     target = \"planner\"\narrival = { process = \"periodic\", period = \"10s\" }\ncount = 3\n\
     [[faults]]\nkind = \"prompt_injection\"\nagent = \"browser\"\nstart = \"0s\"\nshift = 1.0\n\
     probability = 1.0\nspread_probability = 0.4\nreplicate = true\n"
        .to_string()
}

/// A breaker trip on a sanitised message is reviewed on the message as it
/// arrived: the reviewer still finds and quarantines the compromised root.
#[test]
fn a_sanitised_trip_is_reviewed_on_what_the_guard_saw() {
    let text = guarded_text(0.9, "sanitise")
        + "[mitigations.breaker]\nfailure_threshold = 2\n[mitigations.review]\ndelay = \"30s\"\nprovenance = true\n";
    let metrics = common::runs(&common::model(&text), 7, 8, 0);
    assert!(metrics.iter().all(|m| m.sanitised > 0 && m.breaker_trips > 0), "{metrics:?}");
    assert!(metrics.iter().all(|m| m.agents_quarantined >= 1 && m.t_attribute.is_some()), "{metrics:?}");
}

/// Each new key spelled out at its default gives the runs of the scenario
/// without it (that the scenario without them gives the previous build's
/// values is held by tests/golden.rs's version-3 columns and was compared
/// on every bundled scenario against that build).
#[test]
fn spelling_the_new_keys_at_their_defaults_changes_nothing() {
    for name in ["procurement-mitigated", "coding-agents", "progressive-breach", "privilege-escalation"] {
        let text = cascade::bundled::find(name).expect("bundled").text;
        let spelled = text
            .replace("[[agents]]\n", "[[agents]]\nsusceptibility = 1.0\n")
            .replace("[[channels]]\n", "[[channels]]\ntrust = 1.0\n")
            .replace("[mitigations.validation]\n", "[mitigations.validation]\naction = \"reject\"\n")
            .replace("kind = \"compromised_agent\"\n", "kind = \"compromised_agent\"\neffect = 1.0\n")
            .replace(
                "kind = \"prompt_injection\"\n",
                "kind = \"prompt_injection\"\nrelay = false\nnotes = false\neffect = 1.0\n",
            );
        assert_ne!(spelled, text, "{name}: the defaults were spelled out");
        let plain = common::runs(&common::bundled(name), 3, 30, 0);
        let explicit = common::runs(&common::model(&spelled), 3, 30, 0);
        assert!(plain == explicit, "{name}: the defaults spelled out change the runs");
    }
}

#[test]
fn bad_attack_keys_are_refused_with_the_key() {
    let chain = |agent: &str, fault: &str| {
        let mut text = String::from("name = \"c\"\nhorizon = \"1h\"\nquiet_window = \"1m\"\n");
        text.push_str(&format!(
            "[[agents]]\nid = \"a\"\n{agent}\n[[agents]]\nid = \"b\"\n[[channels]]\nfrom = \"a\"\nto = \"b\"\n"
        ));
        text.push_str(&format!("[[faults]]\n{fault}\n"));
        cascade::scenario::parse("c.toml", &text).err().map(|e| e.to_string()).unwrap_or_default()
    };
    let injection = "kind = \"prompt_injection\"\nagent = \"a\"\nstart = \"0s\"\nprobability = 0.5";
    let cases = [
        (chain("susceptibility = 1.5", injection), "agents[0].susceptibility"),
        (chain("", &format!("{injection}\nspread_probability = -0.1")), "faults[0].spread_probability"),
        (chain("", &format!("{injection}\neffect = 2")), "faults[0].effect"),
        (chain("output = { random = 0 }", injection), "agents[0].output.random"),
        (chain("output = { random = 2 }\nfailover = true", injection), "agents[0].failover"),
        (
            chain("", "kind = \"memory_poisoning\"\nat = \"0s\"\nrecords = 1\nshift = 1.0\nrelay = true"),
            "faults[0].relay",
        ),
    ];
    for (message, key) in cases {
        assert!(message.contains(key), "expected {key} in: {message}");
    }
    assert_eq!(chain("", injection), "", "the injection itself is well formed");
    let scrub = format!("{injection}\n[mitigations.validation]\ndetector = \"zscore\"\naction = \"scrub\"");
    let message = chain("", &scrub);
    assert!(message.contains("mitigations.validation.action") && message.contains("sanitise"), "{message}");
}

/// A task a check sends back reaches its producer as a later agent, not
/// as the injection's first target: p falls to each of its two tries with
/// the spread probability, 1 - 0.5^2 (not 0.5 + 0.5 x 1).
#[test]
fn a_retried_injection_is_a_later_agents_not_the_first_targets() {
    let model = common::model(
        r#"
name = "retry"
horizon = "100s"
quiet_window = "1s"
[[agents]]
id = "a"
[[agents]]
id = "p"
[[agents]]
id = "c"
check = { detect = 1.0, retry = "p", max_retries = 1 }
[[channels]]
from = "a"
to = "p"
[[channels]]
from = "p"
to = "c"
[[sources]]
id = "s"
target = "a"
arrival = { process = "periodic", period = "10s" }
count = 1
[[faults]]
kind = "prompt_injection"
agent = "a"
start = "0s"
shift = 1.0
probability = 1.0
spread_probability = 0.5
replicate = true
"#,
    );
    let runs = 20_000;
    let counts = compromised_per_agent(&model, runs);
    assert_eq!(counts[0], runs);
    assert_rate("p", counts[1], runs, 0.75);
}

/// A sanitised message goes on with its clean value (the source's signal,
/// less nothing), and a clean message a guard fails is counted as
/// sanitised clean; without a breaker no sanitising raises a trip.
#[test]
fn a_sanitised_message_carries_its_clean_value_and_clean_ones_are_counted() {
    let model = guarded_chain(1.0, "sanitise");
    for trace in traces(&model, 3) {
        assert!(
            !trace.iter().any(|r| matches!(r.kind, TraceKind::Alert | TraceKind::Hold)),
            "no trip without a breaker"
        );
        let emitted: std::collections::BTreeMap<u32, f64> =
            trace.iter().filter(|r| r.kind == TraceKind::SourceEmit).map(|r| (r.task, r.signal)).collect();
        let processed: Vec<&TraceRow> = trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == 1).collect();
        assert!(!processed.is_empty());
        for row in processed {
            assert_eq!((row.signal, row.root), (emitted[&row.task], NO_FAULT), "a1 acts on the clean value");
        }
    }
    let metrics = common::runs(&model, 7, 2, 0);
    assert!(metrics.iter().all(|m| m.sanitised > 0 && m.breaker_trips == 0), "{metrics:?}");
    // No fault, a guard failing half the clean traffic: every sanitised message is clean.
    let text = guarded_text(1.0, "sanitise").replace("false_positive = 0.0", "false_positive = 0.5");
    let clean = text.split("[[faults]]").next().unwrap().to_string()
        + "[mitigations.validation]\n"
        + text.split("[mitigations.validation]\n").nth(1).unwrap();
    for m in common::runs(&common::model(&clean), 7, 2, 0) {
        assert!(m.sanitised > 0 && m.sanitised_clean == m.sanitised, "{m:?}");
        // Source messages cross no channel: only the three channels' are checked.
        assert_rate("sanitised share", m.sanitised, m.messages - m.tasks, 0.5);
    }
}

/// Each check acts as it is told: zero trust sanitises the forged messages
/// it fails while validation rejects the corrupted real ones.
#[test]
fn zero_trust_and_validation_each_take_their_own_action() {
    let text = guarded_text(1.0, "reject")
        + "[[faults]]\nkind = \"spoofed_sender\"\nfrom = \"root\"\nto = \"a1\"\nstart = \"0s\"\nper_second = 0.5\nshift = 3.0\n\
           [mitigations.zero_trust]\naction = \"sanitise\"\n";
    let model = common::model(&text);
    let metrics = common::runs(&model, 7, 2, 0);
    for (m, trace) in metrics.iter().zip(traces(&model, 2)) {
        assert!(m.sanitised > 0 && m.rejected_corrupted > 0, "{m:?}");
        let forged = trace.iter().filter(|r| r.kind == TraceKind::Spoof).count() as u64;
        assert_eq!(m.sanitised, forged, "every forged message, and only they, sanitised: {m:?}");
    }
}

/// The features that show the compromise and sanitising metrics.
#[test]
fn compromise_and_sanitising_features_follow_the_scenario() {
    let base = guarded_text(0.5, "reject");
    let without_fault = base.split("[[faults]]").next().unwrap().to_string();
    let model = |extra: &str| common::model(&(without_fault.clone() + extra));
    let fault = |body: &str| model(&format!("[[faults]]\n{body}\n"));
    assert!(!model("").compromises());
    assert!(fault("kind = \"compromised_agent\"\nagent = \"root\"\nstart = \"0s\"\nshift = 1.0").compromises());
    assert!(fault("kind = \"prompt_injection\"\nagent = \"root\"\nstart = \"0s\"\nprobability = 0.5").compromises());
    assert!(
        fault("kind = \"memory_poisoning\"\nat = \"0s\"\nrecords = 1\nshift = 1.0\nprobability = 0.5").compromises()
    );
    assert!(!fault("kind = \"memory_poisoning\"\nat = \"0s\"\nrecords = 1\nshift = 1.0").compromises());
    assert!(!fault("kind = \"hallucination\"\nrate = 0.1\nshift = 1.0").compromises());
    let sanitising = |text: &str| common::model(text).mitigations.sanitises();
    assert!(!sanitising(&base) && sanitising(&guarded_text(0.5, "sanitise")));
    let zero_trust = |action: &str| {
        let text = base.split("[mitigations.validation]").next().unwrap().to_string();
        sanitising(&format!("{text}[mitigations.zero_trust]\naction = \"{action}\"\n"))
    };
    assert!(zero_trust("sanitise") && !zero_trust("reject"));
    assert!(sanitising(&format!("{base}[mitigations.zero_trust]\naction = \"sanitise\"\n")));
}

/// A sanitised message carries no injection on: behind a guard that
/// catches every corrupted message, only the injected root is taken over
/// (and with a guard that catches none, its receiver is too).
#[test]
fn a_sanitised_injection_takes_no_one_over() {
    let compromised = |d: f64| {
        let text = guarded_text(d, "sanitise").replace(
            "kind = \"compromised_agent\"\nagent = \"root\"\nstart = \"0s\"\nshift = 5.0\n",
            "kind = \"prompt_injection\"\nagent = \"root\"\nstart = \"0s\"\nshift = 5.0\nprobability = 1.0\nreplicate = true\n",
        );
        compromised_per_agent(&common::model(&text), 2)
    };
    assert_eq!(compromised(1.0), [2, 0, 0, 0]);
    assert_eq!(compromised(0.0), [2, 2, 2, 2]);
}
