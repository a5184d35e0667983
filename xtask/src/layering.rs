//! The layering rule, read from `cargo metadata`: middle crates depend on `cache-traits` only,
//! `cache-traits` on no workspace crate.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cargo;

/// Crates between the trait boundary and the facade.
const MIDDLE: &[&str] = &[
    "cache-core",
    "eviction",
    "memory-probe",
    "pressure",
    "sizing",
    "gc-coord",
    "warmup",
    "profiler",
    "leak-detector",
    "advisor",
    "reporter",
];

/// Fails with every broken edge when the layering rule does not hold.
pub(crate) fn check() -> Result<()> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("could not run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata gave bad JSON")?;
    let broken = violations(&meta);
    if !broken.is_empty() {
        bail!("layering rule broken:\n  {}", broken.join("\n  "));
    }
    Ok(())
}

/// Every edge of `meta` that breaks the rule, as a sentence.
fn violations(meta: &Value) -> Vec<String> {
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let workspace: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut broken = Vec::new();
    for p in &packages {
        let name = p["name"].as_str().unwrap_or_default();
        let internal: Vec<&str> = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            // Normal and build dependencies count; dev-dependencies (tests) may reach further.
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str())
            .filter(|d| workspace.contains(d))
            .collect();
        if name == "cache-traits" && !internal.is_empty() {
            broken.push(format!("cache-traits depends on {}", internal.join(", ")));
        }
        if MIDDLE.contains(&name) {
            for dep in internal.iter().filter(|d| **d != "cache-traits") {
                broken.push(format!("{name} depends on {dep}: middle crates may depend on cache-traits only; move the shared type into cache-traits"));
            }
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_respects_layering() {
        check().unwrap();
    }

    #[test]
    fn detects_a_middle_crate_naming_another() {
        let meta = serde_json::json!({"packages": [
            {"name": "cache-traits", "dependencies": []},
            {"name": "eviction", "dependencies": [{"name": "cache-traits", "kind": null}]},
            {"name": "cache-core", "dependencies": [
                {"name": "cache-traits", "kind": null},
                {"name": "eviction", "kind": null},
                {"name": "eviction", "kind": "dev"}
            ]},
        ]});
        let broken = violations(&meta);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].starts_with("cache-core depends on eviction"));
    }

    #[test]
    fn detects_the_trait_crate_naming_a_workspace_crate() {
        let meta = serde_json::json!({"packages": [
            {"name": "cache-traits", "dependencies": [{"name": "eviction", "kind": null}]},
            {"name": "eviction", "dependencies": []},
        ]});
        assert_eq!(
            violations(&meta),
            vec!["cache-traits depends on eviction".to_string()]
        );
    }
}
