//! The event trace of one run: what happened to which message, when.
//!
//! Recording is off for ordinary runs (no cost beyond a branch) and on for
//! `replay`, which turns the rows into a CSV a researcher can follow message
//! by message.

use crate::time::Micros;

/// What a trace row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// A source emitted a message (`agent` = receiver).
    SourceEmit,
    /// An agent accepted a message as trusted input.
    Accept,
    /// An agent dropped a duplicate delivery of a task it already handled.
    DropDuplicate,
    /// An agent finished processing; `signal`/`root` describe its output.
    Process,
    /// An agent sent a message on a channel (`detail` = receiver).
    Send,
    /// An agent performed a side-effecting action (`detail` = resource, when modelled).
    Action,
    /// A resource refused an action the credential does not cover (`detail` = resource).
    ActionDenied,
    /// The gateway blocked an action (`detail` = resource).
    ActionBlocked,
    /// An agent wrote a memory record (`detail` = the record).
    RecordWrite,
    /// An agent read corrupted records from memory as context (`detail` =
    /// how many; `records` = which).
    MemoryRead,
    /// An agent became compromised (`root` = the fault).
    Compromise,
    /// A compromise's window ended (`root` = the fault).
    CompromiseEnds,
    /// An agent hallucinated (`root` = the fault).
    Hallucinate,
    /// A forged message appeared on a channel (`agent` = receiver, `detail` = claimed sender).
    Spoof,
    /// A fault planted corrupted memory records (`detail` = how many;
    /// `records` = which).
    MemoryPoison,
    /// A boundary rejected a message that failed validation (`detail` = sender).
    RejectInvalid,
    /// A boundary rejected a message because the channel's breaker is open (`detail` = sender).
    RejectOpen,
    /// A sanitising check failed a message and delivered it cleaned
    /// (`detail` = sender; `signal`/`root` what it was before).
    Sanitise,
    /// A breaker tripped and raised an alert (`agent` = target, `detail` = source),
    /// or the gateway raised one (`agent` = the actor, `detail` = resource).
    Alert,
    /// A cap stopped a message (`agent` = sender, `detail` = intended receiver).
    Capped,
    /// An agent was put in cooldown after a breaker trip.
    Hold,
    /// A reviewer quarantined an agent (`message` = the alert's evidence).
    Quarantine,
    /// A message could not be delivered (`agent` = where): no route matched,
    /// or its receiver (`agent`) is quarantined.
    Lost,
    /// A corrupted router sent its output for input `message` on a wrong
    /// route (`detail` = the receiver).
    Misroute,
    /// A join made a task's inputs one (`message`, `detail` = how many).
    Join,
    /// A join's timeout came before its inputs: it went on with `detail`.
    JoinTimeout,
    /// An input reached a join that had fired, or a second time on one
    /// in-channel, and was discarded (`detail` = sender).
    JoinLate,
    /// A check failed the output for its input `message`.
    CheckFail,
    /// A check sent a failed task back to its producer (`message` the new
    /// input there, `detail` = the producer).
    Retry,
    /// A check sent a failed task on to its escalation target (`detail`).
    Escalate,
}

impl TraceKind {
    /// Name used in the trace CSV.
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::SourceEmit => "source_emit",
            TraceKind::Accept => "accept",
            TraceKind::DropDuplicate => "drop_duplicate",
            TraceKind::Process => "process",
            TraceKind::Send => "send",
            TraceKind::Action => "action",
            TraceKind::ActionDenied => "action_denied",
            TraceKind::ActionBlocked => "action_blocked",
            TraceKind::RecordWrite => "record_write",
            TraceKind::MemoryRead => "memory_read_corrupted",
            TraceKind::Compromise => "compromise",
            TraceKind::CompromiseEnds => "compromise_ends",
            TraceKind::Hallucinate => "hallucinate",
            TraceKind::Spoof => "spoof",
            TraceKind::MemoryPoison => "memory_poison",
            TraceKind::RejectInvalid => "reject_invalid",
            TraceKind::Sanitise => "sanitise",
            TraceKind::RejectOpen => "reject_open",
            TraceKind::Alert => "alert",
            TraceKind::Capped => "capped",
            TraceKind::Hold => "hold",
            TraceKind::Quarantine => "quarantine",
            TraceKind::Lost => "lost",
            TraceKind::Misroute => "misroute",
            TraceKind::Join => "join",
            TraceKind::JoinTimeout => "join_timeout",
            TraceKind::JoinLate => "join_late",
            TraceKind::CheckFail => "check_fail",
            TraceKind::Retry => "retry",
            TraceKind::Escalate => "escalate",
        }
    }
}

/// One row of the trace. Index fields use `model::NONE` for "none".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceRow {
    pub time: Micros,
    pub kind: TraceKind,
    pub agent: u32,
    pub message: u32,
    pub parent: u32,
    pub task: u32,
    pub detail: Detail,
    pub depth: u32,
    pub signal: f64,
    /// The corruption's share of `signal` (0 when clean).
    pub shift: f64,
    pub root: u16,
    /// The memory records a read or a poisoning concerns: a range of
    /// `Replayed::records_named` (empty for other rows).
    pub records: (u32, u32),
    /// A `process` row's service start (its input's wait ended then);
    /// `time` for every other row.
    pub started: Micros,
}

/// A signal as a trace row shows it: its value, the corruption's share of
/// it, and the root fault (`NO_FAULT`: clean).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Value {
    pub signal: f64,
    pub shift: f64,
    pub root: u16,
}

impl Value {
    /// A row about no signal.
    pub const NONE: Value = Value { signal: 0.0, shift: 0.0, root: crate::model::NO_FAULT };

    /// A signal of which `shift` is the corruption by `root`.
    pub fn new(signal: f64, shift: f64, root: u16) -> Value {
        Value { signal, shift, root }
    }
}

/// What a row names besides its agent and message, by what it is. As
/// everywhere in the engine, an index of `model::NONE` means none (the
/// sender of a source's message, an action on no modelled resource); the
/// value is built unconditionally on the per-message path, so it holds
/// the index as it is rather than branching on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detail {
    None,
    /// The agent at the other end of a channel: a send's or a capped
    /// message's receiver, the sender of a message accepted, dropped or
    /// rejected, a spoof's claimed sender, a breaker alert's source.
    Peer(u32),
    /// How many records: corrupted ones read as context, or planted.
    Count(u32),
    /// The resource an action, refusal, block or gateway alert concerns.
    Resource(u32),
    /// The memory record written.
    Record(u64),
}
