//! Judging the real collector for the live tests: does it accept the project's configs,
//! does its build hold exactly the components they use, and what its log says about
//! exporting. Running it is [`platform_live::collector`]'s job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use platform_check::{Value, component_type, get, keys, strings};
use platform_live::collector::Wiring;

/// `otelcol validate` on the files: `Err` holds the collector's own message.
pub fn validate(binary: &Path, files: &[PathBuf], wiring: &Wiring) -> Result<(), String> {
    let mut command = Command::new(binary);
    command.arg("validate").envs(wiring.env());
    for file in files {
        command.arg(format!("--config={}", file.display()));
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Component types by kind (`receivers`, `exporters`, …).
pub type Components = BTreeMap<String, BTreeSet<String>>;

/// What the built collector holds, from `otelcol components`.
pub fn built_components(binary: &Path) -> Result<Components, String> {
    let output = Command::new(binary)
        .arg("components")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let doc = platform_check::parse_yaml(&String::from_utf8_lossy(&output.stdout), "components")?;
    let mut out = Components::new();
    for kind in KINDS {
        let names = get(&doc, &[kind])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        out.insert(kind.to_owned(), names);
    }
    Ok(out)
}

const KINDS: [&str; 5] = [
    "receivers",
    "processors",
    "exporters",
    "connectors",
    "extensions",
];

/// The component types a (merged) config defines, by kind.
pub fn used_components(config: &Value) -> Components {
    KINDS
        .iter()
        .map(|kind| {
            let types = keys(config.get(*kind))
                .iter()
                .map(|id| component_type(id).to_owned())
                .collect();
            (kind.to_string(), types)
        })
        .collect()
}

/// The two ways the manifest and the configs can disagree: a component a config uses that
/// the build lacks (the collector would refuse the config), and one the build holds that
/// no config uses (the manifest is not "exactly what the configs use").
pub fn compare_components(built: &Components, used: &Components) -> Vec<String> {
    let mut problems = Vec::new();
    for kind in KINDS {
        let empty = BTreeSet::new();
        let built = built.get(kind).unwrap_or(&empty);
        let used = used.get(kind).unwrap_or(&empty);
        for missing in used.difference(built) {
            problems.push(format!(
                "the configs use the {kind} `{missing}`, which the collector built from {} lacks: add its module there",
                platform_live::programs::MANIFEST
            ));
        }
        for extra in built.difference(used) {
            problems.push(format!(
                "{} builds the {kind} `{extra}`, which no config uses: remove it",
                platform_live::programs::MANIFEST
            ));
        }
    }
    problems
}

/// The pipelines of a merged config and the exporters each uses (for messages).
pub fn pipelines(config: &Value) -> BTreeMap<String, Vec<String>> {
    get(config, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(name, p)| Some((name.as_str()?.to_owned(), strings(p.get("exporters")))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_missing_and_an_unused_component_are_both_reported() {
        let built: Components = [
            ("receivers".to_string(), set(&["otlp"])),
            (
                "exporters".to_string(),
                set(&["otlp_grpc", "debug", "kafka"]),
            ),
        ]
        .into_iter()
        .collect();
        let used: Components = [
            ("receivers".to_string(), set(&["otlp"])),
            ("exporters".to_string(), set(&["otlp_grpc", "debug"])),
            ("connectors".to_string(), set(&["span_metrics"])),
        ]
        .into_iter()
        .collect();
        let problems = compare_components(&built, &used);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let reported =
            |what: &str, why: &str| problems.iter().any(|p| p.contains(what) && p.contains(why));
        assert!(
            reported("connectors `span_metrics`", "lacks"),
            "{problems:?}"
        );
        assert!(
            reported("exporters `kafka`", "no config uses"),
            "{problems:?}"
        );
        assert!(compare_components(&used, &used).is_empty());
    }
}

/// What the collector's log says its exporters went through: retries and dropped items,
/// by exporter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportTrouble {
    pub retries: u64,
    pub dropped_items: u64,
}

/// Reads the exporter helper's lines ("Exporting failed. Will retry the request after
/// interval." and "Exporting failed. Dropping data.", with `dropped_items`) from the
/// collector's console log.
pub fn export_trouble(lines: &[String]) -> BTreeMap<String, ExportTrouble> {
    let field = |line: &str, key: &str| -> Option<String> {
        let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
        let rest = line[at..].trim_start();
        let value = match rest.strip_prefix('"') {
            Some(quoted) => &quoted[..quoted.find('"')?],
            None => &rest[..rest.find([',', '}']).unwrap_or(rest.len())],
        };
        Some(value.trim().to_owned())
    };
    let mut out: BTreeMap<String, ExportTrouble> = BTreeMap::new();
    for line in lines.iter().filter(|l| l.contains("Exporting failed.")) {
        let Some(exporter) = field(line, "otelcol.component.id") else {
            continue;
        };
        let entry = out.entry(exporter).or_default();
        if line.contains("Will retry") {
            entry.retries += 1;
        }
        if line.contains("Dropping data") {
            entry.dropped_items += field(line, "dropped_items")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    out
}

#[cfg(test)]
mod trouble_tests {
    use super::*;

    #[test]
    fn retries_and_dropped_items_are_counted_by_exporter() {
        let lines: Vec<String> = [
            "2026-11-29T15:01:09Z\tinfo\tinternal/retry_sender.go:133\tExporting failed. Will retry the request after interval.\t{\"resource\": {\"service.name\": \"otelcol-workshop\"}, \"otelcol.component.id\": \"otlp_http/prometheus\", \"error\": \"connection refused\", \"interval\": \"5.1s\"}",
            "2026-11-29T15:01:14Z\tinfo\tinternal/retry_sender.go:133\tExporting failed. Will retry the request after interval.\t{\"otelcol.component.id\": \"otlp_http/prometheus\", \"interval\": \"7.9s\"}",
            "2026-11-29T15:01:20Z\terror\tinternal/queue_sender.go:50\tExporting failed. Dropping data.\t{\"otelcol.component.id\": \"otlp_grpc/tempo\", \"error\": \"no more retries left\", \"dropped_items\": 12}",
            "2026-11-29T15:01:21Z\tinfo\tservice.go:282\tEverything is ready.",
        ]
        .map(String::from)
        .to_vec();
        let trouble = export_trouble(&lines);
        assert_eq!(
            trouble["otlp_http/prometheus"],
            ExportTrouble {
                retries: 2,
                dropped_items: 0
            }
        );
        assert_eq!(
            trouble["otlp_grpc/tempo"],
            ExportTrouble {
                retries: 0,
                dropped_items: 12
            }
        );
        assert_eq!(trouble.len(), 2);
    }
}
