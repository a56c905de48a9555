//! A replayed run's `trace.csv` (every event, with agent, resource and
//! fault names) and `memory.csv` (every record held at the horizon with
//! its provenance).

use super::csv::{csv_writer, finish, float};
use crate::engine::{Detail, Message, Record, TraceRow};
use crate::model::{Model, NONE, NO_FAULT};
use crate::time::format_seconds;

/// `trace.csv`: the event trace of one run, with agent and fault names;
/// `records_named` holds the memory record ids rows name by range.
pub fn trace_csv(model: &Model, trace: &[TraceRow], records_named: &[u64]) -> Vec<u8> {
    let agent = |a: u32| if a == NONE { String::new() } else { model.agents[a as usize].name.clone() };
    let index = |i: u32| if i == NONE { String::new() } else { i.to_string() };
    let mut writer = csv_writer();
    writer
        .write_record([
            "time_s",
            "event",
            "agent",
            "message",
            "parent",
            "task",
            "depth",
            "peer",
            "count",
            "signal",
            "shift",
            "corrupted",
            "root_fault",
            "resource",
            "records",
        ])
        .expect("in-memory write");
    let resource = |r: u32| model.resources.get(r as usize).map_or(String::new(), |r| r.name.clone());
    for row in trace {
        let (mut peer, mut count, mut acted_on) = (String::new(), String::new(), String::new());
        match row.detail {
            Detail::None => {}
            Detail::Peer(a) => peer = agent(a),
            Detail::Count(n) => count = n.to_string(),
            Detail::Resource(r) => acted_on = resource(r),
            Detail::Record(_) => {}
        }
        let records = match row.detail {
            Detail::Record(id) => id.to_string(),
            _ => {
                let named = &records_named[row.records.0 as usize..row.records.1 as usize];
                named.iter().map(u64::to_string).collect::<Vec<_>>().join(";")
            }
        };
        let root = if row.root == NO_FAULT { String::new() } else { model.faults[row.root as usize].name.clone() };
        writer
            .write_record([
                format_seconds(row.time),
                row.kind.name().to_string(),
                agent(row.agent),
                index(row.message),
                index(row.parent),
                index(row.task),
                row.depth.to_string(),
                peer,
                count,
                float(row.signal),
                float(row.shift),
                ((row.root != NO_FAULT) as u8).to_string(),
                root,
                acted_on,
                records,
            ])
            .expect("in-memory write");
    }
    finish(writer)
}

/// `memory.csv`: every record in memory at the horizon (rolled-back ones
/// flagged), in write order, with the chain of agents and messages that
/// produced it, from the source to the writer.
pub fn memory_csv(model: &Model, records: &[(Record, Vec<(u32, Message)>)]) -> Vec<u8> {
    let name = |a: u32| if a == NONE { String::new() } else { model.agents[a as usize].name.clone() };
    let mut writer = csv_writer();
    writer
        .write_record([
            "record",
            "time_s",
            "writer",
            "signal",
            "shift",
            "corrupted",
            "root_fault",
            "rolled_back",
            "chain_agents",
            "chain_messages",
        ])
        .expect("in-memory write");
    for (record, chain) in records {
        let mut agents: Vec<String> = Vec::with_capacity(chain.len() + 1);
        if let Some((_, first)) = chain.last() {
            agents.push(match (first.sender, first.signed) {
                (NONE, _) => "source".to_string(),
                (claimed, false) => format!("forged:{}", name(claimed)),
                (sender, true) => name(sender),
            });
        }
        agents.extend(chain.iter().rev().map(|(_, m)| name(m.receiver)));
        let ids: Vec<String> = chain.iter().rev().map(|(id, _)| id.to_string()).collect();
        let root =
            if record.root == NO_FAULT { String::new() } else { model.faults[record.root as usize].name.clone() };
        writer
            .write_record([
                record.sequence.to_string(),
                format_seconds(record.time),
                name(record.agent),
                float(record.signal),
                float(record.shift),
                ((record.root != NO_FAULT) as u8).to_string(),
                root,
                (record.removed as u8).to_string(),
                agents.join(">"),
                ids.join(">"),
            ])
            .expect("in-memory write");
    }
    finish(writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_rows_name_the_other_end_of_their_channel() {
        let model = crate::scenario::parse(
            "t.toml",
            "name = \"t\"\nhorizon = \"1s\"\nquiet_window = \"0s\"\n[[agents]]\nid = \"A\"\n[[agents]]\nid = \"B\"\n[[channels]]\nfrom = \"A\"\nto = \"B\"",
        )
        .unwrap();
        let row = |kind, message, detail| TraceRow {
            time: 1,
            kind,
            agent: 1,
            message,
            parent: NONE,
            task: 0,
            detail,
            depth: 1,
            signal: 0.0,
            shift: 0.0,
            root: NO_FAULT,
            records: (0, 0),
            started: 1,
        };
        use crate::engine::TraceKind;
        let kinds =
            [TraceKind::Send, TraceKind::RejectInvalid, TraceKind::RejectOpen, TraceKind::Capped, TraceKind::Alert];
        let others = [
            row(TraceKind::Process, 7, Detail::None),
            row(TraceKind::MemoryRead, NONE, Detail::Count(3)),
            row(TraceKind::Alert, NONE, Detail::Resource(0)),
        ];
        let rows: Vec<_> = kinds.iter().map(|&k| row(k, 7, Detail::Peer(0))).chain(others).collect();
        let text = String::from_utf8(trace_csv(&model, &rows, &[])).unwrap();
        let column = |i: usize| -> Vec<String> {
            text.lines().skip(1).map(|l| l.split(',').nth(i).unwrap().to_string()).collect()
        };
        assert_eq!(column(7), ["A", "A", "A", "A", "A", "", "", ""], "peers: {text}");
        assert_eq!(column(8), ["", "", "", "", "", "", "3", ""], "counts: {text}");
    }
}
