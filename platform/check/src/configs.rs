//! Finding each platform component's own config file through its compose service (the
//! config flag of its command, mapped to the repository through its bind mounts), and
//! reading the collector's, whose `--config` files merge into one.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use crate::compose::{command_args, flag_values, host_path_of};
use crate::yaml::{merge, parse_yaml};

/// The config file of a service: the value of its config flag, mapped to the host.
pub fn config_file_of(service: &Value, root: &Path) -> Option<PathBuf> {
    let args = command_args(service);
    ["config", "config.file"]
        .iter()
        .flat_map(|f| flag_values(&args, f))
        .map(|v| v.trim_start_matches("file:").to_owned())
        .find_map(|v| host_path_of(service, &v, root))
}

/// All `--config` files of a collector service, in order, mapped to the host.
pub fn collector_config_files(service: &Value, root: &Path) -> Vec<(String, Option<PathBuf>)> {
    flag_values(&command_args(service), "config")
        .into_iter()
        .map(|v| {
            let v = v.trim_start_matches("file:").to_owned();
            let host = host_path_of(service, &v, root);
            (v, host)
        })
        .collect()
}

/// Loads and merges the collector config files of a service. Problems (a missing file,
/// bad YAML) are returned next to what could be merged.
pub fn collector_config(service: &Value, root: &Path, file: &str) -> (Value, Vec<String>) {
    let mut merged = Value::Mapping(Default::default());
    let mut problems = Vec::new();
    let files = collector_config_files(service, root);
    if files.is_empty() {
        problems.push(format!("{file}: the collector is started without --config"));
    }
    for (container_path, host) in files {
        let Some(host) = host else {
            problems.push(format!(
                "{file}: collector config {container_path} is not mounted from the repository"
            ));
            continue;
        };
        let name = host.display().to_string();
        match std::fs::read_to_string(&host) {
            Err(e) => problems.push(format!(
                "{file}: collector config {container_path} -> {name}: {e}"
            )),
            Ok(text) => match collector_env_defaults(&text, &name)
                .and_then(|text| parse_yaml(&text, &name))
            {
                Ok(v) => merge(&mut merged, &v),
                Err(e) => problems.push(e),
            },
        }
    }
    (merged, problems)
}

/// Replaces the collector's `${env:NAME:-default}` (also `${NAME:-default}`) by its
/// default: what runs in compose, which sets none of these variables. A variable without a
/// default is a problem, because the file would then only work where it is set.
pub fn collector_env_defaults(text: &str, file: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{file}: unclosed `${{` in `{}`", &rest[i..]))?;
        let inner = &after[..end];
        let inner = inner.strip_prefix("env:").unwrap_or(inner);
        match inner.split_once(":-") {
            Some((_, default)) => out.push_str(default),
            None => {
                return Err(format!(
                    "{file}: `${{{inner}}}` has no default (`${{env:{inner}:-...}}`), so the file only works where it is set"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
