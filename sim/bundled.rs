//! Scenarios shipped inside the binary, so `cascade run procurement` works
//! from any directory. The files live in `scenarios/`; a test checks that
//! every file there is listed here.

/// A bundled scenario: its name (file stem) and TOML text.
pub struct Bundled {
    pub name: &'static str,
    pub text: &'static str,
}

/// Every bundled scenario, in `cascade list` order.
pub const SCENARIOS: &[Bundled] = &[
    Bundled { name: "procurement", text: include_str!("../scenarios/procurement.toml") },
    Bundled { name: "procurement-guarded", text: include_str!("../scenarios/procurement-guarded.toml") },
    Bundled { name: "procurement-mitigated", text: include_str!("../scenarios/procurement-mitigated.toml") },
    Bundled { name: "progressive-breach", text: include_str!("../scenarios/progressive-breach.toml") },
    Bundled { name: "privilege-escalation", text: include_str!("../scenarios/privilege-escalation.toml") },
    Bundled { name: "gateway", text: include_str!("../scenarios/gateway.toml") },
    Bundled { name: "procurement-bench", text: include_str!("../scenarios/procurement-bench.toml") },
    Bundled { name: "mesh-10k", text: include_str!("../scenarios/mesh-10k.toml") },
    Bundled { name: "mesh-ic-100k", text: include_str!("../scenarios/mesh-ic-100k.toml") },
    Bundled { name: "coding-agents", text: include_str!("../scenarios/coding-agents.toml") },
    Bundled { name: "support-desk", text: include_str!("../scenarios/support-desk.toml") },
    Bundled { name: "memory-injection", text: include_str!("../scenarios/memory-injection.toml") },
];

/// The bundled scenario called `name`.
pub fn find(name: &str) -> Option<&'static Bundled> {
    SCENARIOS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_file_is_bundled_and_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".toml").map(str::to_string))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = SCENARIOS.iter().map(|s| s.name.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
        for scenario in SCENARIOS {
            let model = crate::scenario::parse(scenario.name, scenario.text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!model.description.is_empty(), "{} needs a description", scenario.name);
        }
        assert!(find("procurement").is_some() && find("nope").is_none());
    }

    #[test]
    fn every_scenario_has_a_current_baseline() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/baselines");
        for scenario in SCENARIOS {
            let path = dir.join(format!("{}.toml", scenario.name));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let baseline = crate::check::parse_baseline(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                baseline.scenario_sha256,
                crate::results::scenario_hash(scenario.text.as_bytes()),
                "{} changed: refresh its baseline with `cascade check {} --baseline {} --update`",
                scenario.name,
                scenario.name,
                path.display()
            );
        }
    }

    #[test]
    fn every_scenario_with_mitigations_ships_a_sweep_whose_points_compile() {
        // A scenario without mitigations may still ship a sweep of its other
        // choices (coding-agents sweeps reviewer headcount and retry caps).
        for scenario in SCENARIOS {
            let document: toml::Table = toml::from_str(scenario.text).unwrap();
            let grid = crate::sweep::grid_of(&document).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
            let model = crate::scenario::parse(scenario.name, scenario.text).unwrap();
            let mitigated = model.mitigations != crate::mitigation::Mitigations::default();
            assert!(!mitigated || grid.points() > 1, "{}: a scenario with mitigations ships a [sweep]", scenario.name);
            let models =
                crate::sweep::compile_points(scenario.name, &document, &grid).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(models.len() as u64, grid.points());
        }
    }
}
