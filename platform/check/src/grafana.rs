//! What Grafana's provisioned files refer to: the datasource uids that datasource links and
//! dashboards name, and the PromQL of the dashboards' Prometheus panels and variables.
//!
//! Grafana is AGPL and never runs here, so its files are read, not served.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use crate::yaml::get_str;

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
    // A panel's or row's title in the path, so that a problem names what a reader sees.
    fn titled(v: &serde_json::Value) -> String {
        v.get("title")
            .and_then(|t| t.as_str())
            .map(|t| format!(" \"{t}\""))
            .unwrap_or_default()
    }
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
                        walk(child, format!("{at}.{k}{}", titled(child)), out);
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    walk(child, format!("{at}[{i}]{}", titled(child)), out);
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
