//! Agent memory: bounded ring buffers of records, one shared store or one
//! partition per agent with explicit read grants.
//!
//! Every record keeps a provenance link (the message whose processing wrote
//! it) and its ground truth (shift and root fault). Storage is kept between
//! runs; a partition's buffer is allocated on its first write and reused.

use crate::model::{Memory, Model, Partition, NONE, NO_FAULT};
use crate::time::Micros;

/// One persisted record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    pub time: Micros,
    /// Global write order (newest has the largest).
    pub sequence: u64,
    /// Writer agent, or `NONE` for a record planted by a fault.
    pub agent: u32,
    /// Provenance: the message whose processing produced the record.
    pub message: u32,
    pub signal: f64,
    /// Ground truth: the corruption's share of `signal`.
    pub shift: f64,
    /// Ground truth: root fault, or `NO_FAULT`.
    pub root: u16,
    /// Carries the root fault's injection (instructions planted or written
    /// by a compromised agent), which may compromise a reader.
    pub injection: bool,
    /// Rolled back: kept in place but never read again.
    pub removed: bool,
}

/// What an agent read from memory, summed over the records.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Context {
    pub count: u32,
    pub sum_signal: f64,
    pub sum_shift: f64,
    pub corrupted: u32,
    /// Root fault of the newest corrupted record read.
    pub root: u16,
    /// Root fault of the newest record read that carries an injection
    /// (`NO_FAULT`: none), and whether a fault planted it.
    pub injected: u16,
    pub planted: bool,
}

#[derive(Clone, Debug, Default)]
struct Ring {
    records: Vec<Record>,
    /// Next slot to overwrite once full.
    head: usize,
}

/// The memory of one run.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    capacity: usize,
    isolated: bool,
    rings: Vec<Ring>,
    /// Partitions each agent reads (isolated mode): own first, then grants.
    visible: Vec<Vec<u32>>,
    next_sequence: u64,
    scratch: Vec<(u64, u32, usize)>,
}

impl MemoryStore {
    /// Storage laid out for `model`'s memory.
    pub fn new(model: &Model) -> MemoryStore {
        let Memory { isolated, capacity, grants } = &model.memory;
        let n = model.agents.len();
        let (partitions, visible) = if *isolated {
            let mut visible: Vec<Vec<u32>> = (0..n as u32).map(|a| vec![a]).collect();
            for &(reader, owner) in grants {
                visible[reader as usize].push(owner);
            }
            (n, visible)
        } else {
            (1, Vec::new())
        };
        MemoryStore {
            capacity: *capacity as usize,
            isolated: *isolated,
            rings: vec![Ring::default(); partitions],
            visible,
            next_sequence: 0,
            scratch: Vec::new(),
        }
    }

    /// Forgets every record, keeping storage.
    pub fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.records.clear();
            ring.head = 0;
        }
        self.next_sequence = 0;
    }

    /// The partition an agent writes to.
    pub fn partition_of(&self, agent: u32) -> Partition {
        if self.isolated {
            Partition::Agent(agent)
        } else {
            Partition::Shared
        }
    }

    /// Stores a record (its `sequence` is assigned here), evicting the oldest when full.
    /// Stores `record` and returns its sequence number (its id in outputs).
    pub fn write(&mut self, partition: Partition, mut record: Record) -> u64 {
        let sequence = self.next_sequence;
        record.sequence = sequence;
        self.next_sequence += 1;
        let index = match partition {
            Partition::Shared => 0,
            Partition::Agent(a) => a as usize,
        };
        let capacity = self.capacity;
        let ring = &mut self.rings[index];
        if ring.records.len() < capacity {
            ring.records.push(record);
        } else {
            ring.records[ring.head] = record;
            ring.head = if ring.head + 1 == capacity { 0 } else { ring.head + 1 };
        }
        sequence
    }

    /// The newest record of a partition, if any.
    pub fn newest(&self, partition: Partition) -> Option<&Record> {
        let ring = &self.rings[match partition {
            Partition::Shared => 0,
            Partition::Agent(a) => a as usize,
        }];
        if ring.records.is_empty() {
            None
        } else {
            Some(&ring.records[newest_but(ring.head, ring.records.len(), 0)])
        }
    }

    /// Sums the `k` newest records `agent` may read.
    ///
    /// Called for every task of an agent that reads memory: ring slots
    /// come from [`newest_but`], not a `%` (an integer division) per record.
    pub fn read_recent(&mut self, agent: u32, k: u32) -> Context {
        let mut context = Context { root: NO_FAULT, injected: NO_FAULT, ..Context::default() };
        if k == 0 {
            return context;
        }
        self.scratch.clear();
        let partitions: &[u32] = if self.isolated { &self.visible[agent as usize] } else { &[0] };
        for &p in partitions {
            let ring = &self.rings[p as usize];
            let len = ring.records.len();
            let mut taken = 0;
            for back in 0..len {
                let slot = newest_but(ring.head, len, back);
                if ring.records[slot].removed {
                    continue;
                }
                self.scratch.push((ring.records[slot].sequence, p, slot));
                taken += 1;
                if taken == k {
                    break;
                }
            }
        }
        if partitions.len() > 1 {
            self.scratch.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.0));
        }
        for &(_, p, slot) in self.scratch.iter().take(k as usize) {
            let record = &self.rings[p as usize].records[slot];
            context.count += 1;
            context.sum_signal += record.signal;
            context.sum_shift += record.shift;
            if record.root != NO_FAULT {
                if context.corrupted == 0 {
                    context.root = record.root;
                }
                context.corrupted += 1;
                if record.injection && context.injected == NO_FAULT {
                    context.injected = record.root;
                    context.planted = record.agent == NONE;
                }
            }
        }
        context
    }

    /// The ids of the corrupted records among the last `k` read.
    pub fn corrupted_read(&self, k: u32) -> impl Iterator<Item = u64> + '_ {
        self.scratch.iter().take(k as usize).filter_map(|&(sequence, p, slot)| {
            (self.rings[p as usize].records[slot].root != NO_FAULT).then_some(sequence)
        })
    }

    /// All records currently held and not rolled back, in partition then
    /// slot order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.rings.iter().flat_map(|r| r.records.iter()).filter(|r| !r.removed)
    }

    /// Every record held, rolled-back ones included, in partition then slot order.
    pub fn all_records(&self) -> impl Iterator<Item = &Record> {
        self.rings.iter().flat_map(|r| r.records.iter())
    }

    /// Marks every live record for which `doomed` holds as rolled back;
    /// returns how many clean and how many corrupted records were removed.
    pub fn roll_back(&mut self, mut doomed: impl FnMut(&Record) -> bool) -> (u64, u64) {
        let (mut clean, mut corrupted) = (0, 0);
        for record in self.rings.iter_mut().flat_map(|r| r.records.iter_mut()) {
            if !record.removed && doomed(record) {
                record.removed = true;
                if record.root == NO_FAULT {
                    clean += 1;
                } else {
                    corrupted += 1;
                }
            }
        }
        (clean, corrupted)
    }
}

/// A record planted by a fault rather than written by an agent.
pub fn planted(time: Micros, signal: f64, shift: f64, root: u16, injection: bool) -> Record {
    Record { time, sequence: 0, agent: NONE, message: NONE, signal, shift, root, injection, removed: false }
}

/// The slot of the record `back` places before the newest in a ring of
/// `len` records whose oldest is at `head` (`head < len`, `back < len`).
#[inline]
fn newest_but(head: usize, len: usize, back: usize) -> usize {
    debug_assert!(head < len && back < len, "head {head}, back {back}, len {len}");
    let slot = head + len - 1 - back;
    if slot >= len {
        slot - len
    } else {
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Memory, Model, Topology};

    #[test]
    fn ring_slots_count_back_from_the_newest() {
        for len in 1..=9 {
            for head in 0..len {
                for back in 0..len {
                    assert_eq!(newest_but(head, len, back), (head + len - 1 - back) % len, "{head} {len} {back}");
                }
            }
        }
    }

    fn model(isolated: bool, capacity: u32, grants: Vec<(u32, u32)>) -> Model {
        let agent = crate::model::Agent {
            name: String::new(),
            role: crate::model::Role::Agent,
            service: Default::default(),
            servers: 1,
            hours: None,
            gain: 1.0,
            noise: 0.0,
            output: Default::default(),
            action: false,
            action_resource: crate::model::NONE,
            scope: 0,
            credential: crate::model::NONE,
            sponsored: false,
            memory_write: true,
            memory_read: 2,
            memory_weight: 0.5,
            propagation: 1.0,
            susceptibility: 1.0,
            routes: Vec::new(),
            misroute: 0.0,
            failover: false,
            join: None,
            check: None,
        };
        Model {
            name: "m".into(),
            description: String::new(),
            horizon: 10,
            quiet_window: 1,
            materiality: crate::model::Materiality::DEFAULT,
            clean_relay: true,
            kinds: Vec::new(),
            agents: vec![agent.clone(), agent.clone(), agent],
            topology: Topology::Explicit(vec![]),
            sources: vec![],
            faults: vec![],
            memory: Memory { isolated, capacity, grants },
            resources: vec![],
            credentials: vec![],
            mitigations: Default::default(),
        }
    }

    fn record(agent: u32, signal: f64, root: u16) -> Record {
        Record {
            time: 0,
            sequence: 0,
            agent,
            message: NONE,
            signal,
            shift: if root == NO_FAULT { 0.0 } else { 1.0 },
            root,
            injection: false,
            removed: false,
        }
    }

    #[test]
    fn shared_ring_keeps_the_newest() {
        let mut store = MemoryStore::new(&model(false, 3, vec![]));
        for i in 0..5 {
            store.write(Partition::Shared, record(0, i as f64, NO_FAULT));
        }
        assert_eq!(store.records().count(), 3);
        let context = store.read_recent(1, 2);
        assert_eq!((context.count, context.sum_signal), (2, 4.0 + 3.0));
        assert_eq!(store.newest(Partition::Shared).map(|r| r.signal), Some(4.0));
        // The oldest slot goes round the ring more than once.
        for i in 5..11 {
            store.write(Partition::Shared, record(0, i as f64, NO_FAULT));
            assert_eq!(store.newest(Partition::Shared).map(|r| r.signal), Some(i as f64));
        }
        let mut held: Vec<f64> = store.records().map(|r| r.signal).collect();
        held.sort_by(f64::total_cmp);
        assert_eq!(held, [8.0, 9.0, 10.0]);
        assert_eq!(store.read_recent(1, 3).sum_signal, 8.0 + 9.0 + 10.0);
        store.reset();
        assert_eq!(store.read_recent(1, 2).count, 0);
        assert_eq!(store.newest(Partition::Shared), None);
    }

    #[test]
    fn isolated_reads_only_own_and_granted() {
        let mut store = MemoryStore::new(&model(true, 8, vec![(1, 0)]));
        store.write(Partition::Agent(0), record(0, 10.0, 3));
        store.write(Partition::Agent(2), record(2, 20.0, NO_FAULT));
        store.write(Partition::Agent(1), record(1, 30.0, NO_FAULT));
        let reader = store.read_recent(1, 5);
        assert_eq!((reader.count, reader.sum_signal, reader.corrupted, reader.root), (2, 40.0, 1, 3));
        let outsider = store.read_recent(2, 5);
        assert_eq!((outsider.count, outsider.corrupted), (1, 0));
        // Newest first across partitions: k = 1 picks agent 1's own record.
        assert_eq!(store.read_recent(1, 1).sum_signal, 30.0);
    }

    #[test]
    fn rolled_back_records_are_skipped() {
        let mut store = MemoryStore::new(&model(false, 8, vec![]));
        for i in 0..4 {
            store.write(Partition::Shared, record(i % 2, i as f64, if i == 3 { 5 } else { NO_FAULT }));
        }
        assert_eq!(store.roll_back(|r| r.agent == 1), (1, 1));
        assert_eq!(store.records().count(), 2);
        // The two newest live records are 2.0 and 0.0.
        let context = store.read_recent(0, 2);
        assert_eq!((context.count, context.sum_signal, context.corrupted), (2, 2.0, 0));
        assert_eq!(store.roll_back(|_| true), (2, 0));
        assert_eq!(store.read_recent(0, 2).count, 0);
    }

    #[test]
    fn root_is_the_newest_corrupted() {
        let mut store = MemoryStore::new(&model(false, 8, vec![]));
        store.write(Partition::Shared, record(0, 1.0, 1));
        store.write(Partition::Shared, record(0, 1.0, 2));
        store.write(Partition::Shared, record(0, 1.0, NO_FAULT));
        let context = store.read_recent(0, 3);
        assert_eq!((context.corrupted, context.root), (2, 2));
    }
}
