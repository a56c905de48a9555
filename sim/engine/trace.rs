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
    /// An agent sent a message on a channel (`other` = receiver).
    Send,
    /// An agent performed a side-effecting action (`other` = resource, when modelled).
    Action,
    /// A resource refused an action the credential does not cover (`other` = resource).
    ActionDenied,
    /// The gateway blocked an action (`other` = resource).
    ActionBlocked,
    /// An agent wrote a memory record.
    RecordWrite,
    /// An agent read corrupted records from memory as context (`other` = how many).
    MemoryRead,
    /// An agent became compromised (`root` = the fault).
    Compromise,
    /// A compromise's window ended (`root` = the fault).
    CompromiseEnds,
    /// An agent hallucinated (`root` = the fault).
    Hallucinate,
    /// A forged message appeared on a channel (`agent` = receiver, `other` = claimed sender).
    Spoof,
    /// A fault planted corrupted memory records (`other` = how many).
    MemoryPoison,
    /// A boundary rejected a message that failed validation (`other` = sender).
    RejectInvalid,
    /// A boundary rejected a message because the channel's breaker is open (`other` = sender).
    RejectOpen,
    /// A breaker tripped and raised an alert (`agent` = target, `other` = source),
    /// or the gateway raised one (`agent` = the actor, `other` = resource).
    Alert,
    /// A cap stopped a message (`agent` = sender, `other` = intended receiver).
    Capped,
    /// An agent was put in cooldown after a breaker trip.
    Hold,
    /// A reviewer quarantined an agent (`message` = the alert's evidence).
    Quarantine,
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
            TraceKind::RejectOpen => "reject_open",
            TraceKind::Alert => "alert",
            TraceKind::Capped => "capped",
            TraceKind::Hold => "hold",
            TraceKind::Quarantine => "quarantine",
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
    pub other: u32,
    pub depth: u32,
    pub signal: f64,
    pub root: u16,
}
