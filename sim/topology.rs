//! Agent graphs: the seeded generators (chain, k-ary tree, layered,
//! Erdős–Rényi, Barabási–Albert, Watts–Strogatz) and [`Graph`], the
//! compact adjacency the engine walks.
//!
//! Generators are pure functions of their parameters and one random stream;
//! edges come out in a deterministic order.

use crate::model::{Channel, Generator, Model, Topology};
use crate::rng::{self, SimRng};

/// Number of agents a generator produces.
pub fn agent_count(generator: &Generator) -> u32 {
    match generator {
        Generator::Chain { n } | Generator::ErdosRenyi { n, .. } => *n,
        Generator::BarabasiAlbert { n, .. } | Generator::WattsStrogatz { n, .. } => *n,
        Generator::KaryTree { k, depth } => {
            let (mut total, mut level) = (1u64, 1u64);
            for _ in 0..*depth {
                level = level.saturating_mul(*k as u64);
                total = total.saturating_add(level);
            }
            total.min(u32::MAX as u64) as u32
        }
        Generator::Layered { sizes, .. } => sizes.iter().sum(),
    }
}

/// Appends the directed edges `(from, to)` of one draw of `generator` to `edges`.
pub fn generate(generator: &Generator, rng: &mut SimRng, edges: &mut Vec<(u32, u32)>) {
    match generator {
        Generator::Chain { n } => edges.extend((1..*n).map(|i| (i - 1, i))),
        Generator::KaryTree { k, .. } => kary_tree(agent_count(generator), *k, edges),
        Generator::Layered { sizes, fanout } => layered(sizes, fanout, rng, edges),
        Generator::ErdosRenyi { n, mean_degree } => erdos_renyi(*n, *mean_degree, rng, edges),
        Generator::BarabasiAlbert { n, m } => barabasi_albert(*n, *m, rng, edges),
        Generator::WattsStrogatz { n, k, beta } => watts_strogatz(*n, *k, *beta, rng, edges),
    }
}

fn kary_tree(n: u32, k: u32, edges: &mut Vec<(u32, u32)>) {
    // Children of node i are k*i + 1 ..= k*i + k.
    for child in 1..n {
        edges.push(((child - 1) / k, child));
    }
}

fn layered(sizes: &[u32], fanout: &[u32], rng: &mut SimRng, edges: &mut Vec<(u32, u32)>) {
    let mut first = 0u32;
    let mut pool: Vec<u32> = Vec::new();
    for layer in 0..sizes.len().saturating_sub(1) {
        let next_first = first + sizes[layer];
        let next_size = sizes[layer + 1];
        let want = if fanout[layer] == 0 { next_size } else { fanout[layer].min(next_size) };
        for agent in first..next_first {
            pool.clear();
            pool.extend(next_first..next_first + next_size);
            // Partial Fisher–Yates: the first `want` entries become a uniform sample.
            for i in 0..want as usize {
                let j = i + rng::below(rng, (pool.len() - i) as u64) as usize;
                pool.swap(i, j);
            }
            let chosen = &mut pool[..want as usize];
            chosen.sort_unstable();
            edges.extend(chosen.iter().map(|&to| (agent, to)));
        }
        first = next_first;
    }
}

/// Directed G(n, p) with p = mean_degree / (n - 1), no self-loops, by
/// geometric skipping over the n(n-1) ordered pairs (Batagelj–Brandes), so
/// the cost is linear in the number of edges.
fn erdos_renyi(n: u32, mean_degree: f64, rng: &mut SimRng, edges: &mut Vec<(u32, u32)>) {
    let pairs = n as u64 * (n as u64 - 1);
    let p = mean_degree / (n - 1) as f64;
    if p <= 0.0 {
        return;
    }
    let log_q = libm::log(1.0 - p);
    let mut index: u64 = 0;
    loop {
        if p < 1.0 {
            let skip = libm::floor(libm::log(rng::unit_open0(rng)) / log_q);
            if skip >= (pairs - index) as f64 {
                return;
            }
            index += skip as u64;
        }
        if index >= pairs {
            return;
        }
        let from = (index / (n as u64 - 1)) as u32;
        let j = (index % (n as u64 - 1)) as u32;
        edges.push((from, if j < from { j } else { j + 1 }));
        index += 1;
    }
}

/// Preferential attachment: a clique of m + 1 agents, then each new agent
/// links to m distinct earlier agents chosen in proportion to degree.
/// Undirected links become channels both ways.
fn barabasi_albert(n: u32, m: u32, rng: &mut SimRng, edges: &mut Vec<(u32, u32)>) {
    let core = (m + 1).min(n);
    let mut ends: Vec<u32> = Vec::with_capacity(2 * n as usize * m as usize);
    for a in 0..core {
        for b in a + 1..core {
            edges.push((a, b));
            edges.push((b, a));
            ends.push(a);
            ends.push(b);
        }
    }
    let mut chosen: Vec<u32> = Vec::with_capacity(m as usize);
    for new in core..n {
        chosen.clear();
        while chosen.len() < m as usize {
            let target = ends[rng::below(rng, ends.len() as u64) as usize];
            if !chosen.contains(&target) {
                chosen.push(target);
            }
        }
        for &target in &chosen {
            edges.push((new, target));
            edges.push((target, new));
            ends.push(new);
            ends.push(target);
        }
    }
}

/// Ring lattice of n agents each linked to its k nearest neighbours, each
/// link's far end rewired with probability beta (no self-links, no
/// duplicates). Undirected links become channels both ways.
fn watts_strogatz(n: u32, k: u32, beta: f64, rng: &mut SimRng, edges: &mut Vec<(u32, u32)>) {
    let mut neighbours: Vec<Vec<u32>> = (0..n).map(|_| Vec::with_capacity(k as usize + 2)).collect();
    let mut links: Vec<(u32, u32)> = Vec::with_capacity((n * k / 2) as usize);
    for i in 0..n {
        for j in 1..=k / 2 {
            let other = (i + j) % n;
            links.push((i, other));
            neighbours[i as usize].push(other);
            neighbours[other as usize].push(i);
        }
    }
    for link in links.iter_mut() {
        let (a, b) = *link;
        if !rng::chance(rng, beta) || neighbours[a as usize].len() as u32 >= n - 1 {
            continue;
        }
        let target = loop {
            let candidate = rng::below(rng, n as u64) as u32;
            if candidate != a && !neighbours[a as usize].contains(&candidate) {
                break candidate;
            }
        };
        neighbours[a as usize].retain(|&x| x != b);
        neighbours[b as usize].retain(|&x| x != a);
        neighbours[a as usize].push(target);
        neighbours[target as usize].push(a);
        *link = (a, target);
    }
    for &(a, b) in &links {
        edges.push((a, b));
        edges.push((b, a));
    }
}

/// The channels of one run with out-adjacency in compressed form.
///
/// `out[out_start[a]..out_start[a + 1]]` are the indices into `channels` of
/// agent `a`'s out-channels, in channel order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub channels: Vec<Channel>,
    pub out_start: Vec<u32>,
    pub out: Vec<u32>,
    pub in_degree: Vec<u32>,
    /// Agents that can receive one task twice: two or more in-channels, or
    /// on a directed cycle. Only these need duplicate suppression.
    pub may_repeat: Vec<bool>,
    edges: Vec<(u32, u32)>,
}

impl Graph {
    /// The graph of one replication; `rng` is used only by generators.
    pub fn build(model: &Model, rng: &mut SimRng) -> Graph {
        let mut graph = Graph::default();
        graph.rebuild(model, rng);
        graph
    }

    /// Rebuilds in place, reusing buffers.
    pub fn rebuild(&mut self, model: &Model, rng: &mut SimRng) {
        self.channels.clear();
        match &model.topology {
            Topology::Explicit(channels) => self.channels.extend_from_slice(channels),
            Topology::Generated { generator, channel, .. } => {
                self.edges.clear();
                generate(generator, rng, &mut self.edges);
                self.channels.extend(self.edges.iter().map(|&(from, to)| Channel { from, to, ..*channel }));
            }
        }
        self.index(model.agents.len());
    }

    fn index(&mut self, n: usize) {
        self.out_start.clear();
        self.out_start.resize(n + 1, 0);
        self.in_degree.clear();
        self.in_degree.resize(n, 0);
        for channel in &self.channels {
            self.out_start[channel.from as usize + 1] += 1;
            self.in_degree[channel.to as usize] += 1;
        }
        for a in 0..n {
            self.out_start[a + 1] += self.out_start[a];
        }
        self.out.clear();
        self.out.resize(self.channels.len(), 0);
        // Stable counting sort: each agent's out-channels keep channel order.
        let mut fill: Vec<u32> = self.out_start[..n].to_vec();
        for (i, channel) in self.channels.iter().enumerate() {
            let slot = &mut fill[channel.from as usize];
            self.out[*slot as usize] = i as u32;
            *slot += 1;
        }
        let on_cycle = self.on_cycle();
        self.may_repeat.clear();
        self.may_repeat.extend(self.in_degree.iter().zip(&on_cycle).map(|(&d, &c)| d >= 2 || c));
    }

    /// Agents in a strongly connected component of two or more agents
    /// (iterative Tarjan; there are no self-loops).
    fn on_cycle(&self) -> Vec<bool> {
        let n = self.in_degree.len();
        const UNSEEN: u32 = u32::MAX;
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, usize)> = Vec::new();
        let mut result = vec![false; n];
        let mut counter = 0u32;
        for root in 0..n as u32 {
            if index[root as usize] != UNSEEN {
                continue;
            }
            calls.push((root, 0));
            while let Some(&mut (v, ref mut next)) = calls.last_mut() {
                let vi = v as usize;
                if *next == 0 && index[vi] == UNSEEN {
                    index[vi] = counter;
                    low[vi] = counter;
                    counter += 1;
                    stack.push(v);
                    on_stack[vi] = true;
                }
                let out = self.out_channels(v);
                if *next < out.len() {
                    let w = self.channels[out[*next] as usize].to;
                    *next += 1;
                    if index[w as usize] == UNSEEN {
                        calls.push((w, 0));
                    } else if on_stack[w as usize] {
                        low[vi] = low[vi].min(index[w as usize]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    low[parent as usize] = low[parent as usize].min(low[vi]);
                }
                if low[vi] == index[vi] {
                    let start = stack.iter().rposition(|&w| w == v).expect("v is on the stack");
                    let component = stack.len() - start;
                    for w in stack.drain(start..) {
                        on_stack[w as usize] = false;
                        result[w as usize] = component > 1;
                    }
                }
            }
        }
        result
    }

    /// Indices of `agent`'s out-channels.
    #[inline]
    pub fn out_channels(&self, agent: u32) -> &[u32] {
        &self.out[self.out_start[agent as usize] as usize..self.out_start[agent as usize + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{run_key, stream, Stream};

    fn draw(generator: &Generator, seed: u64) -> Vec<(u32, u32)> {
        let mut rng = stream(&run_key(seed, 0, 0), Stream::Topology);
        let mut edges = Vec::new();
        generate(generator, &mut rng, &mut edges);
        edges
    }

    fn assert_simple(edges: &[(u32, u32)], n: u32) {
        let mut sorted = edges.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), edges.len(), "duplicate edges");
        assert!(edges.iter().all(|&(a, b)| a != b && a < n && b < n), "self-loop or out of range");
    }

    #[test]
    fn chain_and_tree_shapes() {
        assert_eq!(draw(&Generator::Chain { n: 4 }, 1), vec![(0, 1), (1, 2), (2, 3)]);
        let tree = draw(&Generator::KaryTree { k: 2, depth: 2 }, 1);
        assert_eq!(tree, vec![(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6)]);
        assert_eq!(agent_count(&Generator::KaryTree { k: 3, depth: 3 }), 1 + 3 + 9 + 27);
    }

    #[test]
    fn layered_respects_fanout() {
        let generator = Generator::Layered { sizes: vec![2, 5, 1], fanout: vec![2, 0, 0] };
        let edges = draw(&generator, 3);
        assert_simple(&edges, 8);
        for agent in 0..2 {
            let targets: Vec<u32> = edges.iter().filter(|e| e.0 == agent).map(|e| e.1).collect();
            assert_eq!(targets.len(), 2);
            assert!(targets.iter().all(|t| (2..7).contains(t)));
        }
        assert!((2..7).all(|a| edges.contains(&(a, 7))));
    }

    #[test]
    fn erdos_renyi_mean_degree() {
        let n = 20_000;
        let edges = draw(&Generator::ErdosRenyi { n, mean_degree: 4.0 }, 5);
        assert_simple(&edges, n);
        let mean = edges.len() as f64 / n as f64;
        // Edge count is Binomial(n(n-1), p): sd of the mean degree ~ sqrt(4/n).
        assert!((mean - 4.0).abs() < 0.06, "mean out-degree {mean}");
        assert!(draw(&Generator::ErdosRenyi { n: 5, mean_degree: 0.0 }, 5).is_empty());
        assert_eq!(draw(&Generator::ErdosRenyi { n: 5, mean_degree: 4.0 }, 5).len(), 20);
    }

    #[test]
    fn barabasi_albert_degrees() {
        let (n, m) = (5_000, 2);
        let edges = draw(&Generator::BarabasiAlbert { n, m }, 7);
        assert_simple(&edges, n);
        // Clique of m+1 plus m links per later agent, both directions.
        assert_eq!(edges.len() as u32, 2 * (3 + (n - 3) * m));
        let mut degree = vec![0u32; n as usize];
        edges.iter().for_each(|&(a, _)| degree[a as usize] += 1);
        let max = *degree.iter().max().unwrap();
        assert!(max > 50, "preferential attachment should grow hubs, max degree {max}");
    }

    #[test]
    fn watts_strogatz_keeps_link_count() {
        let (n, k) = (1_000, 4);
        for beta in [0.0, 0.2, 1.0] {
            let edges = draw(&Generator::WattsStrogatz { n, k, beta }, 9);
            assert_simple(&edges, n);
            assert_eq!(edges.len() as u32, n * k);
        }
        let lattice = draw(&Generator::WattsStrogatz { n: 6, k: 2, beta: 0.0 }, 9);
        assert!(lattice.contains(&(5, 0)) && lattice.contains(&(0, 5)));
    }

    fn graph_of(n: usize, edges: &[(u32, u32)]) -> Graph {
        let mut graph = Graph {
            channels: edges
                .iter()
                .map(|&(from, to)| Channel { from, to, latency: Default::default(), propagation: 1.0, trust: 1.0 })
                .collect(),
            ..Graph::default()
        };
        graph.index(n);
        graph
    }

    #[test]
    fn agents_that_can_see_a_task_twice() {
        // 0 -> 1 -> 2 -> 1 (cycle 1-2), 0 -> 3, 3 -> 4, 0 -> 4 (two inputs), 4 -> 5.
        let graph = graph_of(6, &[(0, 1), (1, 2), (2, 1), (0, 3), (3, 4), (0, 4), (4, 5)]);
        assert_eq!(graph.may_repeat, [false, true, true, false, true, false]);
        let chain = graph_of(3, &[(0, 1), (1, 2)]);
        assert_eq!(chain.may_repeat, [false; 3]);
        let ring = graph_of(3, &[(0, 1), (1, 2), (2, 0)]);
        assert_eq!(ring.may_repeat, [true; 3]);
        assert_eq!(ring.out_channels(2), &[2]);
    }

    #[test]
    fn generators_are_deterministic_per_seed() {
        let generator = Generator::BarabasiAlbert { n: 300, m: 3 };
        assert_eq!(draw(&generator, 1), draw(&generator, 1));
        assert_ne!(draw(&generator, 1), draw(&generator, 2));
    }
}
