//! `[memory]`: shared or isolated partitions, capacity, and read grants
//! (a grant cycle is refused, naming the agents on it).

use super::format::{MemoryMode, MemorySpec};
use super::{err, KeyError, Names};
use crate::model::Memory;
use std::collections::BTreeMap;

pub(super) fn compile_memory(spec: &MemorySpec, names: &Names) -> Result<Memory, KeyError> {
    if spec.capacity == 0 || spec.capacity > 1 << 20 {
        return err("memory.capacity", format!("must be between 1 and {} records, got {}", 1 << 20, spec.capacity));
    }
    let isolated = spec.mode == MemoryMode::Isolated;
    if !isolated && !spec.grants.is_empty() {
        return err("memory.grants", "grants need mode = \"isolated\"; shared memory is readable by every agent");
    }
    let mut grants = Vec::with_capacity(spec.grants.len());
    for (i, grant) in spec.grants.iter().enumerate() {
        let reader = names.lookup(&format!("memory.grants[{i}].reader"), &grant.reader)?;
        let owner = names.lookup(&format!("memory.grants[{i}].owner"), &grant.owner)?;
        if reader == owner {
            return err(
                format!("memory.grants[{i}]"),
                "an agent always reads its own partition; expected two different agents",
            );
        }
        grants.push((reader, owner));
    }
    if let Some(cycle) = find_grant_cycle(&grants) {
        let path: Vec<&str> = cycle.iter().map(|&a| names_of(names, a)).collect();
        return err(
            "memory.grants",
            format!(
                "cyclic grant {}; expected grants that form no cycle (a cycle is a shared pool)",
                path.join(" -> ")
            ),
        );
    }
    Ok(Memory { isolated, capacity: spec.capacity, grants })
}

fn names_of(names: &Names, index: u32) -> &str {
    names.index.iter().find(|(_, &i)| i == index).map(|(n, _)| n.as_str()).unwrap_or("?")
}

/// A cycle in the reader -> owner grant graph, as the list of agents on it
/// (first repeated at the end), or `None`.
fn find_grant_cycle(grants: &[(u32, u32)]) -> Option<Vec<u32>> {
    let mut edges: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(reader, owner) in grants {
        edges.entry(reader).or_default().push(owner);
    }
    // Iterative DFS with colours: 1 = on stack, 2 = done.
    let mut colour: BTreeMap<u32, u8> = BTreeMap::new();
    for &start in edges.keys() {
        if colour.contains_key(&start) {
            continue;
        }
        let mut stack: Vec<(u32, usize)> = vec![(start, 0)];
        colour.insert(start, 1);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let successors = edges.get(&node).map(Vec::as_slice).unwrap_or(&[]);
            if *next < successors.len() {
                let succ = successors[*next];
                *next += 1;
                match colour.get(&succ) {
                    Some(1) => {
                        let from = stack.iter().position(|&(n, _)| n == succ).unwrap_or(0);
                        let mut cycle: Vec<u32> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(succ);
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        colour.insert(succ, 1);
                        stack.push((succ, 0));
                    }
                }
            } else {
                colour.insert(node, 2);
                stack.pop();
            }
        }
    }
    None
}
