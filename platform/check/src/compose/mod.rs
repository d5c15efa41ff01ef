//! Reading the services of a compose file (their command, environment and dependencies)
//! and merging compose files the way `docker compose -f a -f b` does.
//!
//! What a service mounts, which images it runs and which ports it publishes each have a
//! module of their own, with the check that goes with them.

mod images;
mod mounts;
mod ports;

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

pub use images::{check_images_pinned, check_no_latest, image_tag, image_version_problem};
pub use mounts::{BindMount, bind_mounts, check_mounts_exist, host_path_of};
pub use ports::{PublishedPort, check_ports_loopback, published_ports};

use crate::yaml::{get_str, merge, strings};

/// The entries of a service's list `key` (`ports`, `volumes`), none if it has none.
fn entries<'a>(service: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    service
        .get(key)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
}

/// The `services` of a compose document, by name.
pub fn compose_services(doc: &Value) -> BTreeMap<String, Value> {
    doc.get("services")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Merges compose files the way `docker compose -f a -f b` does for the keys used here:
/// maps merge (`environment`, `depends_on`, `healthcheck`), `command` and
/// `healthcheck.test` are replaced, `volumes` and `ports` lists are appended. A value tagged `!override` replaces the base's, and
/// `!reset` removes it (the Compose specification's merge tags).
pub fn merge_compose(base: &Value, overlay: &Value) -> Value {
    let mut merged = base.clone();
    let overlay_services = compose_services(overlay);
    for (name, svc) in overlay_services {
        let services = merged
            .as_mapping_mut()
            .and_then(|m| m.get_mut("services"))
            .and_then(Value::as_mapping_mut)
            .expect("the base compose file has services");
        let key = Value::String(name);
        match services.get_mut(&key) {
            None => {
                services.insert(key, svc);
            }
            Some(existing) => {
                let (Some(e), Some(o)) = (existing.as_mapping_mut(), svc.as_mapping()) else {
                    continue;
                };
                for (k, v) in o {
                    if let Value::Tagged(tagged) = v {
                        if tagged.tag == "reset" {
                            e.remove(k);
                            continue;
                        }
                        if tagged.tag == "override" {
                            e.insert(k.clone(), tagged.value.clone());
                            continue;
                        }
                    }
                    let append = matches!(k.as_str(), Some("volumes" | "ports"));
                    match (e.get_mut(k), append) {
                        (Some(Value::Sequence(old)), true) => {
                            if let Value::Sequence(new) = v {
                                old.extend(new.iter().cloned());
                            }
                        }
                        (Some(old @ Value::Mapping(_)), false) if v.is_mapping() => merge(old, v),
                        _ => {
                            e.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
    }
    merged
}

/// The command of a service as a list of arguments, compose variables replaced by
/// their defaults.
pub fn command_args(service: &Value) -> Vec<String> {
    match service.get("command") {
        Some(Value::String(s)) => s.split_whitespace().map(interpolate_defaults).collect(),
        v => strings(v).iter().map(|s| interpolate_defaults(s)).collect(),
    }
}

/// Values of `--flag=value`, `-flag=value` (and `--flag value`) arguments.
pub fn flag_values(args: &[String], flag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let names = [format!("-{flag}"), format!("--{flag}")];
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        for n in &names {
            if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                out.push(v.to_owned());
            } else if a == n
                && let Some(v) = it.peek()
            {
                out.push((*v).clone());
            }
        }
    }
    out
}

/// Replaces compose variables by what they give when unset: `${X:-d}` and `${X-d}`
/// become `d`, `${X}` and `$X` become empty, `$$` becomes `$`.
pub fn interpolate_defaults(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(a) = after.strip_prefix('{') {
            let end = a.find('}').unwrap_or(a.len());
            let inner = &a[..end];
            if let Some(pos) = inner.find(":-").or_else(|| inner.find('-')) {
                let skip = if inner[pos..].starts_with(":-") { 2 } else { 1 };
                out.push_str(&inner[pos + skip..]);
            }
            rest = a.get(end + 1..).unwrap_or("");
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

/// The environment of a service as a map (map or `KEY=value` list syntax).
pub fn environment(service: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match service.get("environment") {
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                let Some(k) = k.as_str() else { continue };
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                out.insert(k.to_owned(), v);
            }
        }
        Some(Value::Sequence(s)) => {
            for item in s.iter().filter_map(Value::as_str) {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                out.insert(k.to_owned(), v.to_owned());
            }
        }
        _ => {}
    }
    out
}

/// `depends_on` targets of a service (list or map syntax), with their condition.
pub fn depends_on(service: &Value) -> BTreeMap<String, String> {
    match service.get("depends_on") {
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(Value::as_str)
            .map(|n| (n.to_owned(), "service_started".to_owned()))
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str()?.to_owned(),
                    get_str(v, &["condition"])
                        .unwrap_or("service_started")
                        .to_owned(),
                ))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Every `depends_on` must name a service of the file; a `service_healthy` condition
/// needs a healthcheck (in the compose file or, for services built here, the Dockerfile).
pub fn check_depends_on(doc: &Value, file: &str) -> Vec<String> {
    let services = compose_services(doc);
    let mut problems = Vec::new();
    for (name, svc) in &services {
        for (dep, condition) in depends_on(svc) {
            match services.get(&dep) {
                None => problems.push(format!(
                    "{file}: service `{name}` depends on `{dep}`, which is not a service of this file"
                )),
                Some(d) => {
                    if condition == "service_healthy" && d.get("healthcheck").is_none() {
                        problems.push(format!(
                            "{file}: service `{name}` waits for `{dep}` to be healthy but `{dep}` has no healthcheck"
                        ));
                    }
                }
            }
        }
    }
    problems
}
