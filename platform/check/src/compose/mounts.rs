//! Bind mounts: which repository file a service sees at a container path, and that every
//! mounted file exists.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::compose_services;
use crate::yaml::get_str;

/// A bind mount of a compose service: host path (relative to the project directory)
/// and container path.
#[derive(Debug, Clone)]
pub struct BindMount {
    pub source: String,
    pub target: String,
}

/// The bind mounts (not named volumes) of a service, short and long syntax.
pub fn bind_mounts(service: &Value) -> Vec<BindMount> {
    let mut out = Vec::new();
    for v in service
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        match v {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                if parts.len() >= 2 && (parts[0].starts_with('.') || parts[0].starts_with('/')) {
                    out.push(BindMount {
                        source: parts[0].to_owned(),
                        target: parts[1].to_owned(),
                    });
                }
            }
            Value::Mapping(_) => {
                if get_str(v, &["type"]) == Some("bind")
                    && let (Some(s), Some(t)) = (get_str(v, &["source"]), get_str(v, &["target"]))
                {
                    out.push(BindMount {
                        source: s.to_owned(),
                        target: t.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The host file (relative to `root`) that is mounted at `container_path` in `service`,
/// directly or inside a mounted directory.
pub fn host_path_of(service: &Value, container_path: &str, root: &Path) -> Option<PathBuf> {
    let mut best: Option<(usize, PathBuf)> = None;
    for m in bind_mounts(service) {
        let target = m.target.trim_end_matches('/');
        let rest = if container_path == target {
            Some("")
        } else {
            container_path
                .strip_prefix(target)
                .and_then(|r| r.strip_prefix('/'))
        };
        if let Some(rest) = rest {
            let mut path = root.join(m.source.trim_start_matches("./"));
            if !rest.is_empty() {
                path.push(rest);
            }
            if best.as_ref().is_none_or(|(len, _)| target.len() > *len) {
                best = Some((target.len(), path));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// Every bind-mounted file or directory must exist in the repository.
pub fn check_mounts_exist(doc: &Value, file: &str, root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        for m in bind_mounts(&svc) {
            let path = root.join(m.source.trim_start_matches("./"));
            if !path.exists() {
                problems.push(format!(
                    "{file}: service `{name}` mounts `{}` at {} but {} does not exist",
                    m.source,
                    m.target,
                    path.display()
                ));
            }
        }
    }
    problems
}
