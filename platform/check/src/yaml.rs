//! Reading the repository's YAML files and walking what they hold.
//!
//! Every check starts from a parsed file, so these helpers are shared by all of them: where
//! the repository is, parsing with compose's merge keys applied, merging the way the
//! collector merges its `--config` files, and looking up a path of keys without a chain of
//! `Option`s at every call site.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

/// The repository root (two levels above this crate): the one helper every crate of the
/// workspace and its tests ask (`workshop`'s `build::workspace_root` is this one).
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

/// The entries of the mapping at a path of map keys (none for anything else).
pub fn entries<'a>(v: &'a Value, path: &[&str]) -> impl Iterator<Item = (&'a Value, &'a Value)> {
    get(v, path)
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
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
