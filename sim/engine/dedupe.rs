//! Which tasks an agent already acted on: an agent that can see one task
//! twice (through a cycle or two paths) acts on each content class of it
//! once. The most recent task per agent is kept in its state; older ones in
//! a table that is only probed, never iterated.

use super::{Engine, Message};
use crate::model::NONE;
use std::hash::Hasher;

/// Multiplicative hasher for the dedupe table's `u64` keys. The table is
/// only probed, never iterated, so its order cannot reach any output.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

pub(super) const DONE_CLEAN: u8 = 1;

pub(super) const DONE_CORRUPT: u8 = 2;

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (value ^ (value >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Engine {
    pub(super) fn dedupe_key(message: &Message) -> u64 {
        ((message.task as u64) << 32) | message.receiver as u64
    }

    /// What the receiver already did for the message's task (`DONE_*` bits).
    pub(super) fn done_for(&self, message: &Message) -> u8 {
        let state = &self.agents[message.receiver as usize];
        if state.recent_task == message.task {
            state.recent_done
        } else {
            self.dedupe.get(&Self::dedupe_key(message)).copied().unwrap_or(0)
        }
    }

    /// Records `bit` for the message's task at its receiver; returns whether
    /// the bit was new.
    pub(super) fn mark_done(&mut self, message: &Message, bit: u8) -> bool {
        let state = &mut self.agents[message.receiver as usize];
        let done = if state.recent_task == message.task {
            &mut state.recent_done
        } else {
            if state.recent_task != NONE {
                let evicted = ((state.recent_task as u64) << 32) | message.receiver as u64;
                self.dedupe.insert(evicted, state.recent_done);
            }
            state.recent_task = message.task;
            state.recent_done = self.dedupe.remove(&Self::dedupe_key(message)).unwrap_or(0);
            &mut state.recent_done
        };
        let before = *done;
        *done |= bit;
        before & bit == 0
    }

    /// A repeat delivery of a task the receiver already acted on with the
    /// same content class. Only agents that `may_repeat` can get one.
    #[inline]
    pub(super) fn is_duplicate(&self, message: &Message) -> bool {
        message.channel != NONE && self.agents[message.receiver as usize].may_repeat && self.is_repeat(message)
    }

    /// The table lookup behind `is_duplicate`: the receiver's record for the
    /// message's task already holds this content class.
    #[inline(never)]
    pub(super) fn is_repeat(&self, message: &Message) -> bool {
        let done = self.done_for(message);
        if message.corrupted() {
            done & DONE_CORRUPT != 0
        } else {
            done != 0
        }
    }
}
