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
    super::entries(service, "volumes")
        .filter_map(bind_mount)
        .collect()
}

/// One `volumes` entry, if it mounts a host path: `./x:/y[:ro]`, or `type: bind`.
fn bind_mount(volume: &Value) -> Option<BindMount> {
    let (source, target) = match volume {
        Value::String(short) => {
            let mut parts = short.split(':');
            let (source, target) = (parts.next()?, parts.next()?);
            let host = source.starts_with('.') || source.starts_with('/');
            host.then_some((source, target))?
        }
        Value::Mapping(_) if get_str(volume, &["type"]) == Some("bind") => {
            (get_str(volume, &["source"])?, get_str(volume, &["target"])?)
        }
        _ => return None,
    };
    Some(BindMount {
        source: source.to_owned(),
        target: target.to_owned(),
    })
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
