//! Static checks of the telemetry platform (`docker-compose.yml`, `platform/**`) and of
//! the services' compose file (`docker-compose-services.yml`).
//!
//! No Docker engine is needed: the checks read the files and compare them with each
//! other. Every check returns a list of problems (empty = fine), each naming the file
//! and what is wrong, so a test can print all of them at once and so the checks can be
//! fed deliberately broken input (see `tests/checks_can_fail.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use serde_yaml_ng::Value;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("platform/check lives two levels below the repository root")
        .to_path_buf()
}

/// Parses YAML text; `name` is only used in the error message. Merge keys (`<<: *x`)
/// are applied, as compose does.
pub fn parse_yaml(text: &str, name: &str) -> Result<Value, String> {
    let mut value: Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("{name}: not valid YAML: {e}"))?;
    value
        .apply_merge()
        .map_err(|e| format!("{name}: bad YAML merge key: {e}"))?;
    Ok(value)
}

/// Reads and parses a YAML file given relative to the repository root; panics with the
/// file name and the reason when it can't.
pub fn load_yaml(rel: &str) -> Value {
    let path = repo_root().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{rel}: cannot read {}: {e}", path.display()));
    parse_yaml(&text, rel).unwrap_or_else(|e| panic!("{e}"))
}

/// Panics with every problem, one per line, if there are any.
pub fn assert_no_problems(what: &str, problems: &[String]) {
    if !problems.is_empty() {
        panic!(
            "{what}: {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        );
    }
}

/// Merges `overlay` into `base` the way the collector (and compose, for most keys)
/// merges configuration files: maps are merged key by key, anything else is replaced.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Looks up a path of map keys.
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// The string value at a path of map keys.
pub fn get_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

/// Keys of a mapping as strings (empty for anything else).
pub fn keys(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A list of strings (a missing value or a non-list is empty; a scalar is one item).
pub fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
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

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/// An endpoint as written in a config: `http://host:port/path`, `host:port` or `:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
}

impl Endpoint {
    /// Parses an endpoint; `None` when it has no host part that could be checked.
    pub fn parse(s: &str) -> Option<Endpoint> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, s),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, String::new()),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let end = stripped.find(']')?;
            let port = stripped[end + 1..].strip_prefix(':');
            (format!("[{}]", &stripped[..end]), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse().ok()?),
            None => match scheme.as_deref() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            },
        };
        Some(Endpoint {
            scheme,
            host,
            port,
            path,
        })
    }

    /// Whether a listener bound to this endpoint is reachable from other containers.
    pub fn binds_all_interfaces(&self, own_service: &str) -> bool {
        matches!(self.host.as_str(), "" | "0.0.0.0" | "[::]" | "::") || self.host == own_service
    }
}

// ---------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------

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
/// maps merge, `command` and `healthcheck.test` are replaced, `volumes`, `ports` and
/// `depends_on` lists are appended.
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
                    let append = matches!(k.as_str(), Some("volumes" | "ports"));
                    match (e.get_mut(k), append) {
                        (Some(Value::Sequence(old)), true) => {
                            if let Value::Sequence(new) = v {
                                old.extend(new.iter().cloned());
                            }
                        }
                        (Some(old @ Value::Mapping(_)), false)
                            if k.as_str() == Some("depends_on") =>
                        {
                            merge(old, v)
                        }
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

/// The tag of an image reference (`None` when it has none, which means `latest`).
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, t)| t)
}

/// Every `image:` must carry an exact version tag: `1.2.3`, `v1.2.3`, optionally with a
/// suffix (`1.2.3-alpine`) or a digest. `latest`, a missing tag and floating tags like
/// `3` or `3.7` are problems.
pub fn check_images_pinned(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        let Some(image) = get_str(&svc, &["image"]) else {
            if svc.get("build").is_none() {
                problems.push(format!(
                    "{file}: service `{name}` has neither image nor build"
                ));
            }
            continue;
        };
        if let Some(p) = image_version_problem(image) {
            problems.push(format!("{file}: service `{name}`: image `{image}` {p}"));
        }
    }
    problems
}

/// Why an image reference is not pinned to an exact version, if it isn't.
pub fn image_version_problem(image: &str) -> Option<&'static str> {
    match image_tag(image) {
        None => Some("has no tag (that means `latest`)"),
        Some("latest") => Some("uses the tag `latest`"),
        Some(tag) => {
            let core = tag.trim_start_matches('v');
            let version: Vec<&str> = core
                .split(['-', '+'])
                .next()
                .unwrap_or("")
                .split('.')
                .collect();
            let exact = version.len() >= 3
                && version
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if exact || image.contains("@sha256:") {
                None
            } else {
                Some("is not pinned to an exact version (major.minor.patch)")
            }
        }
    }
}

/// Checks that no image (and, for services built here, no `image:` name) uses `latest`.
pub fn check_no_latest(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        if let Some(image) = get_str(&svc, &["image"]) {
            match image_tag(image) {
                Some("latest") => problems.push(format!(
                    "{file}: service `{name}`: image `{image}` uses the tag `latest`"
                )),
                None => problems.push(format!(
                    "{file}: service `{name}`: image `{image}` has no tag (that means `latest`)"
                )),
                _ => {}
            }
        }
    }
    problems
}

/// A published port: host address, host port, container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    pub host_ip: Option<String>,
    pub host_port: Option<String>,
    pub container_port: String,
}

/// The published ports of a service (short and long syntax).
pub fn published_ports(service: &Value) -> Vec<PublishedPort> {
    let mut out = Vec::new();
    for p in service
        .get("ports")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        match p {
            Value::String(_) | Value::Number(_) => {
                let s = match p {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => unreachable!(),
                };
                let s = s.split('/').next().unwrap_or(&s).to_owned();
                // ip:host:container, host:container or container; an IPv6 host ip is in [].
                let (ip, rest) = if let Some(r) = s.strip_prefix('[') {
                    let end = r.find(']').unwrap_or(r.len());
                    (
                        Some(r[..end].to_owned()),
                        r.get(end + 2..).unwrap_or("").to_owned(),
                    )
                } else {
                    let parts: Vec<&str> = s.split(':').collect();
                    if parts.len() == 3 {
                        (
                            Some(parts[0].to_owned()),
                            format!("{}:{}", parts[1], parts[2]),
                        )
                    } else {
                        (None, s.clone())
                    }
                };
                let (host_port, container_port) = match rest.split_once(':') {
                    Some((h, c)) => (Some(h.to_owned()), c.to_owned()),
                    None => (None, rest),
                };
                out.push(PublishedPort {
                    host_ip: ip,
                    host_port,
                    container_port,
                });
            }
            Value::Mapping(_) => out.push(PublishedPort {
                host_ip: get_str(p, &["host_ip"]).map(str::to_owned),
                host_port: get(p, &["published"]).map(|v| match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                }),
                container_port: get(p, &["target"])
                    .map(|v| match v {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        _ => String::new(),
                    })
                    .unwrap_or_default(),
            }),
            _ => {}
        }
    }
    out
}

/// Every published port must be bound to 127.0.0.1 (attendees sit on shared wifi).
pub fn check_ports_loopback(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        for p in published_ports(&svc) {
            if p.host_ip.as_deref() != Some("127.0.0.1") {
                problems.push(format!(
                    "{file}: service `{name}` publishes container port {} on {} instead of 127.0.0.1 (reachable from the network)",
                    p.container_port,
                    p.host_ip.as_deref().unwrap_or("every interface"),
                ));
            }
            if p.host_port.is_none() {
                problems.push(format!(
                    "{file}: service `{name}` publishes container port {} on a random host port",
                    p.container_port
                ));
            }
        }
    }
    problems
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

// ---------------------------------------------------------------------------------------
// Listeners: which ports each platform service listens on, from its own config
// ---------------------------------------------------------------------------------------

/// Ports a service listens on, with whether the listener is reachable from other
/// containers (bound to all interfaces).
pub type Listeners = BTreeMap<String, BTreeMap<u16, bool>>;

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

fn add_listener(l: &mut Listeners, service: &str, endpoint: &str, default_port: Option<u16>) {
    if let Some(ep) = Endpoint::parse(endpoint)
        && let Some(port) = ep.port.or(default_port)
    {
        l.entry(service.to_owned())
            .or_default()
            .insert(port, ep.binds_all_interfaces(service));
    }
}

/// Receiver and extension endpoints of an OpenTelemetry-Collector-style config (the
/// collector and Jaeger v2).
fn collector_listeners(l: &mut Listeners, service: &str, cfg: &Value) {
    for (_, receiver) in cfg
        .get("receivers")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        if let Some(e) = get_str(receiver, &["endpoint"]) {
            add_listener(l, service, e, None);
        }
        for (proto, settings) in receiver
            .get("protocols")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let default = match proto.as_str() {
                Some("grpc") => "localhost:4317",
                Some("http") => "localhost:4318",
                _ => "",
            };
            let e = get_str(settings, &["endpoint"]).unwrap_or(default);
            add_listener(l, service, e, None);
        }
    }
    for (_, ext) in cfg
        .get("extensions")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        for e in [
            get_str(ext, &["endpoint"]),
            get_str(ext, &["http", "endpoint"]),
        ]
        .into_iter()
        .flatten()
        {
            add_listener(l, service, e, None);
        }
    }
}

/// What every service of a platform compose file listens on, read from each
/// component's own config (Tempo's OTLP receivers, Loki's and Tempo's HTTP ports, ...).
pub fn platform_listeners(doc: &Value, root: &Path) -> (Listeners, Vec<String>) {
    let mut l = Listeners::new();
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        let image = get_str(&svc, &["image"]).unwrap_or("");
        let cfg = || -> Option<Value> {
            let path = config_file_of(&svc, root)?;
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path).ok()?;
            // Collector-style configs (the collector's, Jaeger's) may use ${env:X:-d}.
            let text = collector_env_defaults(&text, &name).ok()?;
            parse_yaml(&text, &name).ok()
        };
        if image.contains("opentelemetry-collector") {
            let (cfg, p) = collector_config(&svc, root, "compose");
            problems.extend(p);
            collector_listeners(&mut l, &name, &cfg);
        } else if image.contains("prometheus/prometheus") {
            let args = command_args(&svc);
            let addr = flag_values(&args, "web.listen-address")
                .pop()
                .unwrap_or_else(|| "0.0.0.0:9090".to_owned());
            add_listener(&mut l, &name, &addr, None);
        } else if image.contains("grafana/tempo") {
            let Some(cfg) = cfg() else {
                problems.push(format!("service `{name}`: Tempo config not found"));
                continue;
            };
            let port = get(&cfg, &["server", "http_listen_port"])
                .and_then(Value::as_u64)
                .unwrap_or(3200) as u16;
            l.entry(name.clone()).or_default().insert(port, true);
            for (proto, settings) in get(&cfg, &["distributor", "receivers", "otlp", "protocols"])
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                // Tempo 2.7+ binds its receivers to localhost unless told otherwise.
                let default = match proto.as_str() {
                    Some("grpc") => "localhost:4317",
                    _ => "localhost:4318",
                };
                let e = get_str(settings, &["endpoint"]).unwrap_or(default);
                add_listener(&mut l, &name, e, None);
            }
        } else if image.contains("grafana/loki") {
            let port = cfg()
                .and_then(|c| get(&c, &["server", "http_listen_port"]).and_then(Value::as_u64))
                .unwrap_or(3100) as u16;
            l.entry(name.clone()).or_default().insert(port, true);
        } else if image.contains("grafana/grafana") {
            l.entry(name.clone()).or_default().insert(3000, true);
        } else if image.contains("jaeger") {
            if let Some(cfg) = cfg() {
                collector_listeners(&mut l, &name, &cfg);
            }
            l.entry(name.clone()).or_default().insert(16686, true);
        }
    }
    (l, problems)
}

/// `host:port` of an endpoint must be a compose service listening there on all
/// interfaces.
pub fn check_endpoint_target(
    what: &str,
    endpoint: &str,
    listeners: &Listeners,
    file: &str,
) -> Option<String> {
    let Some(ep) = Endpoint::parse(endpoint) else {
        return Some(format!(
            "{file}: {what}: cannot parse endpoint `{endpoint}`"
        ));
    };
    let Some(ports) = listeners.get(&ep.host) else {
        return Some(format!(
            "{file}: {what} sends to `{endpoint}`, but `{}` is not a service of the compose file",
            ep.host
        ));
    };
    let Some(port) = ep.port else {
        return Some(format!("{file}: {what}: endpoint `{endpoint}` has no port"));
    };
    match ports.get(&port) {
        None => Some(format!(
            "{file}: {what} sends to `{endpoint}`, but `{}` listens on {:?}, not on {port}",
            ep.host,
            ports.keys().collect::<Vec<_>>()
        )),
        Some(false) => Some(format!(
            "{file}: {what} sends to `{endpoint}`, but `{}` binds port {port} to localhost only (unreachable from other containers)",
            ep.host
        )),
        Some(true) => None,
    }
}

// ---------------------------------------------------------------------------------------
// Collector
// ---------------------------------------------------------------------------------------

/// The component type of an id: `otlp_grpc/tempo` -> `otlp_grpc`.
pub fn component_type(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// Every pipeline names only receivers, processors, exporters (and connectors) that
/// are defined; every defined pipeline has a receiver and an exporter; every extension
/// in `service.extensions` is defined.
pub fn check_collector_pipelines(cfg: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let receivers: BTreeSet<String> = keys(cfg.get("receivers")).into_iter().collect();
    let processors: BTreeSet<String> = keys(cfg.get("processors")).into_iter().collect();
    let exporters: BTreeSet<String> = keys(cfg.get("exporters")).into_iter().collect();
    let connectors: BTreeSet<String> = keys(cfg.get("connectors")).into_iter().collect();
    let extensions: BTreeSet<String> = keys(cfg.get("extensions")).into_iter().collect();
    for ext in strings(get(cfg, &["service", "extensions"])) {
        if !extensions.contains(&ext) {
            problems.push(format!(
                "{file}: service.extensions names `{ext}`, which is not defined under extensions"
            ));
        }
    }
    let pipelines = get(cfg, &["service", "pipelines"]).and_then(Value::as_mapping);
    let Some(pipelines) = pipelines.filter(|p| !p.is_empty()) else {
        problems.push(format!("{file}: no service.pipelines"));
        return problems;
    };
    for (name, p) in pipelines {
        let name = name.as_str().unwrap_or("?");
        let signal = component_type(name);
        if !matches!(signal, "traces" | "metrics" | "logs" | "profiles") {
            problems.push(format!(
                "{file}: pipeline `{name}` is not traces, metrics, logs or profiles"
            ));
        }
        for (kind, defined, extra) in [
            ("receivers", &receivers, Some(&connectors)),
            ("processors", &processors, None),
            ("exporters", &exporters, Some(&connectors)),
        ] {
            let ids = strings(p.get(kind));
            if kind != "processors" && ids.is_empty() {
                problems.push(format!("{file}: pipeline `{name}` has no {kind}"));
            }
            for id in ids {
                if !defined.contains(&id) && !extra.is_some_and(|c| c.contains(&id)) {
                    problems.push(format!(
                        "{file}: pipeline `{name}` uses {kind} `{id}`, which is not defined under {kind}"
                    ));
                }
            }
        }
        let procs = strings(p.get("processors"));
        if procs.first().map(|s| component_type(s)) != Some("memory_limiter") {
            problems.push(format!(
                "{file}: pipeline `{name}` does not start with the memory_limiter processor"
            ));
        }
    }
    problems
}

/// The exporters that some pipeline uses.
pub fn used_exporters(cfg: &Value) -> BTreeSet<String> {
    get(cfg, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .flat_map(|(_, p)| strings(p.get("exporters")))
        .collect()
}

/// Every used exporter with an endpoint sends to a compose service on a port it
/// listens on; gRPC exporters to plain-text backends say so (`tls.insecure` or
/// `http://`); receivers are reachable from outside the container.
pub fn check_collector_endpoints(cfg: &Value, listeners: &Listeners, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let used = used_exporters(cfg);
    for (id, exporter) in cfg
        .get("exporters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
    {
        let Some(id) = id.as_str() else { continue };
        let Some(endpoint) = get_str(exporter, &["endpoint"]) else {
            if matches!(
                component_type(id),
                "otlp_grpc" | "otlp_http" | "otlp" | "otlphttp"
            ) {
                problems.push(format!("{file}: exporter `{id}` has no endpoint"));
            }
            continue;
        };
        if !used.contains(id) {
            continue;
        }
        if let Some(p) =
            check_endpoint_target(&format!("exporter `{id}`"), endpoint, listeners, file)
        {
            problems.push(p);
        }
        let ty = component_type(id);
        if matches!(ty, "otlp" | "otlphttp") {
            problems.push(format!(
                "{file}: exporter `{id}` uses the deprecated type name `{ty}` (otlp_grpc / otlp_http since v0.144)"
            ));
        }
        if ty == "otlp_grpc" || ty == "otlp" {
            let insecure =
                get(exporter, &["tls", "insecure"]).and_then(Value::as_bool) == Some(true);
            if !insecure && !endpoint.starts_with("http://") {
                problems.push(format!(
                    "{file}: exporter `{id}` would use TLS towards `{endpoint}`: set tls.insecure: true or an http:// endpoint"
                ));
            }
        }
        if ty == "otlp_http"
            && !endpoint.starts_with("http://")
            && !endpoint.starts_with("https://")
        {
            problems.push(format!(
                "{file}: exporter `{id}`: `{endpoint}` needs a scheme"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// PromQL
// ---------------------------------------------------------------------------------------

const PROMQL_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    "inf",
    "nan",
    "start",
    "end",
];

/// The metric names a PromQL expression selects (`foo{...}`, `foo[5m]`, bare `foo`),
/// skipping functions, keywords, label names in `by (...)`, strings, label matchers,
/// ranges and Grafana variables. Grafana's `label_values(metric, label)` yields `metric`.
pub fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let skip_ws = |mut j: usize| {
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        j
    };
    let skip_group = |j: usize, open: char, close: char| {
        let mut depth = 0;
        let mut k = j;
        while k < chars.len() {
            if chars[k] == open {
                depth += 1;
            } else if chars[k] == close {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            k += 1;
        }
        k
    };
    let mut label_values_arg = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '{' {
            i = skip_group(i, '{', '}');
        } else if c == '[' {
            i = skip_group(i, '[', ']');
        } else if c == '$' {
            // Grafana variable: $name, ${name}, ${name:format}, $__rate_interval
            i += 1;
            if i < chars.len() && chars[i] == '{' {
                i = skip_group(i, '{', '}');
            } else {
                while i < chars.len() && is_part(chars[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit()
            || (c == '.' && i + 1 < chars.len() && chars[i + 1].is_ascii_digit())
        {
            // number or duration (5m, 1e3)
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_start(c) {
            let start = i;
            while i < chars.len() && is_part(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = skip_ws(i);
            let lower = word.to_ascii_lowercase();
            // `sum by (x) (...)`: an aggregation followed by its grouping clause.
            let next_word: String = chars[next..]
                .iter()
                .take_while(|c| is_part(**c))
                .collect::<String>()
                .to_ascii_lowercase();
            if matches!(next_word.as_str(), "by" | "without") {
                // the aggregation's name; the clause is skipped when reached
            } else if next < chars.len() && chars[next] == '(' {
                if matches!(
                    lower.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    i = skip_group(next, '(', ')');
                } else if word == "label_values" {
                    label_values_arg = true;
                    i = next + 1;
                }
                // a function call: its arguments are scanned normally
            } else if PROMQL_KEYWORDS.contains(&lower.as_str()) {
                // keyword without a list
            } else if label_values_arg {
                // label_values(metric, label): the first word is the metric, the
                // second a label name.
                names.insert(word);
                let mut k = next;
                while k < chars.len() && chars[k] != ')' {
                    k += 1;
                }
                i = k;
                label_values_arg = false;
            } else {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

// ---------------------------------------------------------------------------------------
// Grafana
// ---------------------------------------------------------------------------------------

/// Datasource uids that links in the provisioned datasources refer to, with where.
pub fn datasource_link_uids(ds: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let name = get_str(ds, &["name"]).unwrap_or("?").to_owned();
    let json = ds.get("jsonData");
    let Some(json) = json else { return out };
    for key in [
        "tracesToLogsV2",
        "tracesToLogs",
        "tracesToMetrics",
        "tracesToProfiles",
        "serviceMap",
        "lokiSearch",
    ] {
        if let Some(uid) = get_str(json, &[key, "datasourceUid"]) {
            out.push((
                format!("datasource `{name}` jsonData.{key}"),
                uid.to_owned(),
            ));
        }
    }
    for key in ["derivedFields", "exemplarTraceIdDestinations"] {
        for (i, item) in json
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(uid) = get_str(item, &["datasourceUid"]) {
                out.push((
                    format!("datasource `{name}` jsonData.{key}[{i}]"),
                    uid.to_owned(),
                ));
            }
        }
    }
    out
}

/// Datasource references in a dashboard: (where, uid). Variables (`${ds}`) and
/// Grafana's built-in datasources are skipped.
pub fn dashboard_datasource_uids(dash: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(v: &serde_json::Value, at: String, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(ds) = m.get("datasource") {
                    let uid = match ds {
                        serde_json::Value::Object(d) => d.get("uid").and_then(|u| u.as_str()),
                        serde_json::Value::String(s) => Some(s.as_str()),
                        _ => None,
                    };
                    if let Some(uid) = uid
                        && !uid.starts_with('$')
                        && !uid.starts_with("-- ")
                        && uid != "grafana"
                    {
                        out.push((at.clone(), uid.to_owned()));
                    }
                }
                for (k, child) in m {
                    if k != "datasource" {
                        let title = child
                            .get("title")
                            .and_then(|t| t.as_str())
                            .map(|t| format!(" \"{t}\""))
                            .unwrap_or_default();
                        walk(child, format!("{at}.{k}{title}"), out);
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let title = child
                        .get("title")
                        .and_then(|t| t.as_str())
                        .map(|t| format!(" \"{t}\""))
                        .unwrap_or_default();
                    walk(child, format!("{at}[{i}]{title}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(dash, String::from("dashboard"), &mut out);
    out
}

/// PromQL expressions in a dashboard (targets of Prometheus panels and query
/// variables): (where, expression).
pub fn dashboard_promql(
    dash: &serde_json::Value,
    prometheus_uids: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let is_prom = |v: &serde_json::Value| {
        v.get("datasource")
            .and_then(|d| d.get("uid"))
            .and_then(|u| u.as_str())
            .is_some_and(|u| prometheus_uids.contains(u))
    };
    fn panels(v: &serde_json::Value) -> Vec<&serde_json::Value> {
        let mut out = Vec::new();
        for p in v
            .get("panels")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            out.push(p);
            out.extend(panels(p));
        }
        out
    }
    for p in panels(dash) {
        let title = p.get("title").and_then(|t| t.as_str()).unwrap_or("?");
        for t in p
            .get("targets")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            if (is_prom(t) || (t.get("datasource").is_none() && is_prom(p)))
                && let Some(expr) = t.get("expr").and_then(|e| e.as_str())
            {
                out.push((format!("panel \"{title}\""), expr.to_owned()));
            }
        }
    }
    for var in dash
        .pointer("/templating/list")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
    {
        if !is_prom(var) {
            continue;
        }
        let name = var.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let query = match var.get("query") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(q) => q.get("query").and_then(|s| s.as_str()).map(str::to_owned),
            None => None,
        };
        if let Some(q) = query {
            out.push((format!("variable `{name}`"), q));
        }
    }
    out
}

/// Problems of the `histogram_quantile(q, …)` calls in a PromQL expression: what it reads
/// must be a histogram's `_bucket` series, and every aggregation inside must keep the `le`
/// label (`sum by (le, service_name) (…)`): without `le` there are no buckets left, and
/// the quantile is NaN or nothing.
pub fn histogram_quantile_problems(expr: &str) -> Vec<String> {
    const CALL: &str = "histogram_quantile(";
    const AGGREGATIONS: [&str; 6] = ["sum", "avg", "min", "max", "count", "group"];
    let mut problems = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find(CALL) {
        let inside = &rest[at + CALL.len()..];
        let end = closing_paren(inside).unwrap_or(inside.len());
        let argument = &inside[..end];
        for name in promql_metric_names(argument) {
            if !name.ends_with("_bucket") {
                problems.push(format!(
                    "histogram_quantile reads `{name}`, not a histogram's `_bucket` series"
                ));
            }
        }
        let words: Vec<(usize, &str)> = promql_words(argument);
        for (i, (position, word)) in words.iter().enumerate() {
            if !AGGREGATIONS.contains(word) {
                continue;
            }
            let after = argument[position + word.len()..].trim_start();
            // `sum by (…) (…)`, or `sum (…) by (…)`.
            let grouping = if after.starts_with("by") || after.starts_with("without") {
                Some(after)
            } else if let Some(group) = after.strip_prefix('(') {
                let body = closing_paren(group).map_or(group.len(), |e| e + 1);
                let tail = group[body.min(group.len())..].trim_start();
                (tail.starts_with("by") || tail.starts_with("without")).then_some(tail)
            } else {
                // `sum` as a label or metric name, not the aggregation.
                continue;
            };
            let keeps_le = grouping.is_some_and(|g| {
                let without = g.starts_with("without");
                let list = g
                    .find('(')
                    .and_then(|open| {
                        let l = &g[open + 1..];
                        closing_paren(l).map(|close| &l[..close])
                    })
                    .unwrap_or("");
                let has_le = list.split(',').any(|label| label.trim() == "le");
                has_le != without
            });
            if !keeps_le {
                problems.push(format!(
                    "`{}` inside histogram_quantile drops the `le` label: group by (le, …)",
                    words[i].1
                ));
            }
        }
        rest = &inside[end..];
    }
    problems
}

/// The index of the `)` that closes a group whose `(` was just before `text`.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The identifiers of a PromQL expression outside strings and label matchers, with their
/// byte positions.
fn promql_words(expr: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    let mut braces = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c == b'{' {
            braces += 1;
        } else if c == b'}' {
            braces = braces.saturating_sub(1);
        }
        if braces == 0 && (c.is_ascii_alphabetic() || c == b'_') {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let preceded = start > 0 && (bytes[start - 1] == b'$' || bytes[start - 1] == b':');
            if !preceded {
                words.push((start, &expr[start..i]));
            }
            continue;
        }
        i += 1;
    }
    words
}

/// What the dashboard's Collector row must show of the collector's own metrics: what it
/// takes in, refuses, sends on, and holds in its exporters' queues.
pub const COLLECTOR_ROW_METRICS: [&str; 4] = [
    "otelcol_receiver_accepted_spans",
    "otelcol_receiver_refused_spans",
    "otelcol_exporter_sent_spans",
    "otelcol_exporter_queue_size",
];

/// The ports on which the collector serves its own metrics for scraping
/// (`service.telemetry.metrics.readers[].pull.exporter.prometheus.port`).
pub fn collector_telemetry_ports(cfg: &Value) -> Vec<String> {
    get(cfg, &["service", "telemetry", "metrics", "readers"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|reader| get(reader, &["pull", "exporter", "prometheus", "port"]))
        .filter_map(|port| match port {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The dashboard's panels about the collector (`dashboard_promql`'s expressions) show the
/// metrics of [`COLLECTOR_ROW_METRICS`], and those metrics reach Prometheus: the collector
/// (`collector`, its merged config; `host`, its compose service) serves them on a port,
/// and a scrape job of `prometheus` (prometheus.yaml) reads that port. The job must ask for
/// underscore names: some of the collector's own names and labels hold dots
/// (`otelcol_processor_filter_spans.filtered`, `otel.signal`), which Prometheus 3 would
/// otherwise store as they are, while the dashboard and chapters query underscores.
/// `files` names the dashboard, the collector's config and prometheus.yaml in the messages.
pub fn check_collector_self_metrics(
    dashboard_promql: &[(String, String)],
    collector: &Value,
    host: &str,
    prometheus: &Value,
    files: (&str, &str, &str),
) -> Vec<String> {
    let (dashboard, collector_file, prometheus_file) = files;
    let mut problems = Vec::new();
    let queried: BTreeSet<String> = dashboard_promql
        .iter()
        .flat_map(|(_, expr)| promql_metric_names(expr))
        .filter(|name| name.starts_with("otelcol_"))
        .collect();
    for metric in COLLECTOR_ROW_METRICS {
        if !queried.contains(metric) {
            problems.push(format!(
                "{dashboard}: no panel shows the collector's `{metric}`"
            ));
        }
    }
    if queried.is_empty() {
        return problems;
    }
    let ports = collector_telemetry_ports(collector);
    if ports.is_empty() {
        problems.push(format!(
            "{collector_file}: the collector serves no metrics of its own to scrape (service.telemetry.metrics.readers: pull, prometheus), yet {dashboard} queries {}",
            queried.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        return problems;
    }
    let targets: Vec<String> = ports.iter().map(|port| format!("{host}:{port}")).collect();
    let jobs = get(prometheus, &["scrape_configs"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let job = jobs.iter().find(|job| {
        get(job, &["static_configs"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .flat_map(|config| strings(get(config, &["targets"])))
            .any(|target| targets.contains(&target))
    });
    match job {
        None => problems.push(format!(
            "{prometheus_file}: no scrape job reads the collector's own metrics at {}, which {dashboard} queries",
            targets.join(" or ")
        )),
        Some(job) => {
            if get_str(job, &["metric_name_escaping_scheme"]) != Some("underscores") {
                problems.push(format!(
                    "{prometheus_file}: scrape job `{}` keeps the collector's dotted names and labels; {dashboard} queries underscore names: set `metric_name_escaping_scheme: underscores`",
                    get_str(job, &["job_name"]).unwrap_or("?")
                ));
            }
        }
    }
    problems
}
