//! Grafana provisioning: datasource uids, links between signals, the dashboard.

use std::collections::BTreeSet;

use platform_check::*;

const DATASOURCES: &str = "platform/grafana/provisioning/datasources/datasources.yaml";
const JAEGER_DATASOURCE: &str = "platform/jaeger/grafana-datasource.yaml";
const DASHBOARD: &str = "platform/grafana/dashboards/iss-workshop.json";

fn datasources(file: &str) -> Vec<Value> {
    get(&load_yaml(file), &["datasources"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_else(|| panic!("{file}: no datasources list"))
}

fn all_datasources() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = datasources(DATASOURCES)
        .into_iter()
        .map(|d| (DATASOURCES.to_owned(), d))
        .collect();
    out.extend(
        datasources(JAEGER_DATASOURCE)
            .into_iter()
            .map(|d| (JAEGER_DATASOURCE.to_owned(), d)),
    );
    out
}

fn uids(ds: &[(String, Value)]) -> BTreeSet<String> {
    ds.iter()
        .filter_map(|(_, d)| get_str(d, &["uid"]).map(str::to_owned))
        .collect()
}

fn dashboard() -> serde_json::Value {
    let path = repo_root().join(DASHBOARD);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD}: not valid JSON: {e}"))
}

#[test]
fn every_datasource_has_a_fixed_uid_and_a_name_that_says_what_it_holds() {
    let ds = all_datasources();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (file, d) in &ds {
        let name = get_str(d, &["name"]).unwrap_or("?");
        match get_str(d, &["uid"]) {
            None => problems.push(format!("{file}: datasource `{name}` has no uid")),
            Some(uid) => {
                if !seen.insert(uid.to_owned()) {
                    problems.push(format!("{file}: uid `{uid}` is used twice"));
                }
            }
        }
        let ty = get_str(d, &["type"]).unwrap_or("");
        let what = match ty {
            "prometheus" => "Metrics",
            "tempo" | "jaeger" => "Traces",
            "loki" => "Logs",
            _ => "",
        };
        if !name.starts_with(what) {
            problems.push(format!("{file}: datasource `{name}` ({ty}) should be named after what it holds (`{what} (...)`)"));
        }
    }
    assert_no_problems("datasources", &problems);
}

#[test]
fn every_link_between_signals_points_at_an_existing_datasource() {
    let ds = all_datasources();
    let known = uids(&ds);
    let mut problems = Vec::new();
    for (file, d) in &ds {
        for (at, uid) in datasource_link_uids(d) {
            if !known.contains(&uid) {
                problems.push(format!(
                    "{file}: {at} refers to uid `{uid}`, which no datasource has"
                ));
            }
        }
    }
    // Every link the workshop promises is there.
    let base = datasources(DATASOURCES);
    let by_type = |t: &str| {
        base.iter()
            .find(|d| get_str(d, &["type"]) == Some(t))
            .cloned()
            .unwrap_or_else(|| panic!("{DATASOURCES}: no {t} datasource"))
    };
    let tempo = by_type("tempo");
    let loki = by_type("loki");
    let prom = by_type("prometheus");
    for (d, path, what) in [
        (
            &tempo,
            &["jsonData", "tracesToLogsV2", "datasourceUid"][..],
            "trace to logs",
        ),
        (
            &tempo,
            &["jsonData", "tracesToMetrics", "datasourceUid"][..],
            "trace to metrics",
        ),
        (
            &tempo,
            &["jsonData", "serviceMap", "datasourceUid"][..],
            "service map",
        ),
    ] {
        if get_str(d, path).is_none() {
            problems.push(format!(
                "{DATASOURCES}: no {what} link ({})",
                path.join(".")
            ));
        }
    }
    if get(&tempo, &["jsonData", "nodeGraph", "enabled"]).and_then(Value::as_bool) != Some(true) {
        problems.push(format!("{DATASOURCES}: Tempo's node graph is not enabled"));
    }
    let derived = get(&loki, &["jsonData", "derivedFields"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    if !derived.iter().any(|f| {
        get_str(f, &["matcherRegex"]) == Some("trace_id")
            && get_str(f, &["datasourceUid"]) == get_str(&tempo, &["uid"])
    }) {
        problems.push(format!(
            "{DATASOURCES}: Loki has no derived field from trace_id to Tempo"
        ));
    }
    let exemplars = get(&prom, &["jsonData", "exemplarTraceIdDestinations"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    // Exemplars arrive over OTLP from the collector's span_metrics connector, labelled
    // `trace_id` (the live test sees them). The service graph (the collector's
    // service_graph connector) has none.
    for label in ["trace_id"] {
        if !exemplars.iter().any(|e| {
            get_str(e, &["name"]) == Some(label)
                && get_str(e, &["datasourceUid"]) == get_str(&tempo, &["uid"])
        }) {
            problems.push(format!(
                "{DATASOURCES}: Prometheus exemplars labelled {label} do not link to Tempo"
            ));
        }
    }
    // The trace-to-logs query uses the label Loki really has.
    let tags = get(&tempo, &["jsonData", "tracesToLogsV2", "tags"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    if !tags.iter().any(|t| {
        get_str(t, &["key"]) == Some("service.name")
            && get_str(t, &["value"]) == Some("service_name")
    }) {
        problems.push(format!(
            "{DATASOURCES}: tracesToLogsV2 does not map service.name to Loki's service_name label"
        ));
    }
    assert_no_problems("links between signals", &problems);
}

#[test]
fn dashboard_parses_and_refers_only_to_existing_datasources() {
    let dash = dashboard();
    let known = uids(&all_datasources());
    let mut problems = Vec::new();
    if dash.get("title").and_then(|t| t.as_str()) != Some("ISS workshop") {
        problems.push(format!("{DASHBOARD}: the title is not \"ISS workshop\""));
    }
    let refs = dashboard_datasource_uids(&dash);
    if refs.is_empty() {
        problems.push(format!("{DASHBOARD}: no datasource references at all"));
    }
    for (at, uid) in refs {
        if !known.contains(&uid) {
            problems.push(format!(
                "{DASHBOARD}: {at} uses datasource uid `{uid}`, which no datasource has"
            ));
        }
    }
    // The promised panels: rate, errors, latency, service graph, logs; filterable by service.
    let panels: Vec<&serde_json::Value> = dash["panels"].as_array().into_iter().flatten().collect();
    let types: Vec<&str> = panels.iter().filter_map(|p| p["type"].as_str()).collect();
    for t in ["nodeGraph", "logs", "timeseries"] {
        if !types.contains(&t) {
            problems.push(format!("{DASHBOARD}: no `{t}` panel"));
        }
    }
    let titles: Vec<String> = panels
        .iter()
        .filter_map(|p| p["title"].as_str())
        .map(str::to_lowercase)
        .collect();
    for t in ["request rate", "error rate", "latency"] {
        if !titles.iter().any(|x| x.contains(t)) {
            problems.push(format!("{DASHBOARD}: no panel titled with `{t}`"));
        }
    }
    let has_service_var = dash
        .pointer("/templating/list")
        .and_then(|l| l.as_array())
        .is_some_and(|l| l.iter().any(|v| v["name"] == "service"));
    if !has_service_var {
        problems.push(format!("{DASHBOARD}: no `service` variable"));
    }
    for p in &panels {
        if p["type"] == "row" {
            continue;
        }
        let text = p["targets"].to_string();
        // The collector's own metrics (`otelcol_*`) describe the platform, not a service.
        let about_the_collector = p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|t| t["expr"].as_str().is_some_and(|e| e.contains("otelcol_")));
        if about_the_collector {
            continue;
        }
        if !text.contains("$service") && !text.contains("${service") {
            problems.push(format!(
                "{DASHBOARD}: panel \"{}\" is not filtered by $service",
                p["title"].as_str().unwrap_or("?")
            ));
        }
    }
    assert_no_problems("dashboard", &problems);
}

#[test]
fn every_histogram_quantile_reads_buckets_and_keeps_le() {
    let prom_uids: BTreeSet<String> = all_datasources()
        .iter()
        .filter(|(_, d)| get_str(d, &["type"]) == Some("prometheus"))
        .filter_map(|(_, d)| get_str(d, &["uid"]).map(str::to_owned))
        .collect();
    let queries = dashboard_promql(&dashboard(), &prom_uids);
    let quantiles = queries
        .iter()
        .filter(|(_, q)| q.contains("histogram_quantile("))
        .count();
    assert!(
        quantiles >= 8,
        "only {quantiles} histogram_quantile queries"
    );
    let problems: Vec<String> = queries
        .iter()
        .flat_map(|(at, q)| {
            histogram_quantile_problems(q)
                .into_iter()
                .map(move |p| format!("{DASHBOARD}: {at}: {p}"))
        })
        .collect();
    assert_no_problems("histogram quantiles", &problems);
}

/// Section 5 of the workshop promises a row of panels from the services' own HTTP
/// histograms, next to the span-derived ones: request rate, error rate and latency of the
/// servers, and the latency of the calls between services.
#[test]
fn the_http_metrics_row_reads_the_services_own_histograms() {
    let dash = dashboard();
    let panels: Vec<&serde_json::Value> = dash["panels"].as_array().into_iter().flatten().collect();
    let row = panels
        .iter()
        .position(|p| {
            p["type"] == "row"
                && p["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("HTTP metrics"))
        })
        .unwrap_or_else(|| panic!("{DASHBOARD}: no row titled `HTTP metrics`"));
    let in_row: Vec<&serde_json::Value> = panels[row + 1..]
        .iter()
        .take_while(|p| p["type"] != "row")
        .copied()
        .collect();
    let exprs = |p: &serde_json::Value| -> Vec<String> {
        p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str().map(str::to_owned))
            .collect()
    };
    let reads = |title: &str, metric: &str, also: &str| {
        in_row.iter().any(|p| {
            p["title"]
                .as_str()
                .is_some_and(|t| t.to_lowercase().contains(title))
                && exprs(p)
                    .iter()
                    .any(|e| e.contains(metric) && e.contains(also))
        })
    };
    let mut problems = Vec::new();
    for (title, metric, also) in [
        (
            "request rate",
            "http_server_request_duration_seconds_count",
            "rate(",
        ),
        (
            "error rate",
            "http_server_request_duration_seconds_count",
            "error_type",
        ),
        (
            "latency",
            "http_server_request_duration_seconds_bucket",
            "histogram_quantile(0.95",
        ),
        (
            "calls",
            "http_client_request_duration_seconds_bucket",
            "server_address",
        ),
    ] {
        if !reads(title, metric, also) {
            problems.push(format!(
                "{DASHBOARD}: the HTTP metrics row has no panel titled with `{title}` whose query reads {metric} with {also}"
            ));
        }
    }
    // Only the services' histograms: the span-derived panels are the other rows.
    for p in &in_row {
        for e in exprs(p) {
            if e.contains("traces_") {
                problems.push(format!(
                    "{DASHBOARD}: panel \"{}\" of the HTTP metrics row reads span metrics",
                    p["title"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    assert_no_problems("HTTP metrics row", &problems);
}

/// Every dashboard can show one attendee of a room (platform/README.md, "A room"): an
/// `attendee` variable over the label the room's collector sets, whose "All" also matches
/// the series outside a room, which have no such label (`.*` matches the empty value), and
/// every query of the services' telemetry selects by it. The collector's own metrics
/// (`otelcol_*`) describe the platform, not an attendee: they have no such label.
#[test]
fn every_dashboard_selects_by_attendee() {
    let dir = repo_root().join("platform/grafana/dashboards");
    let mut problems = Vec::new();
    let mut dashboards = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        dashboards += 1;
        let file = path.display().to_string();
        let dash: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let variable = dash
            .pointer("/templating/list")
            .and_then(|l| l.as_array())
            .and_then(|l| l.iter().find(|v| v["name"] == "attendee"));
        match variable {
            None => problems.push(format!("{file}: no `attendee` variable")),
            Some(v) => {
                let query = v["query"]["query"].as_str().or(v["query"].as_str());
                if query != Some("label_values(target_info, workshop_attendee)")
                    || v["includeAll"] != true
                    || v["allValue"] != ".*"
                {
                    problems.push(format!(
                        "{file}: the `attendee` variable should be label_values(target_info, workshop_attendee), with All as `.*`: {v}"
                    ));
                }
            }
        }
        for (at, expr) in dashboard_promql(&dash, &BTreeSet::from(["prometheus".to_owned()])) {
            if at.starts_with("variable") || expr.contains("otelcol_") {
                continue;
            }
            if !expr.contains("=~\"$attendee\"") {
                problems.push(format!("{file}: {at} does not select by $attendee: {expr}"));
            }
        }
        let logs = dash.to_string();
        if logs.contains("\"uid\":\"loki\"")
            && !logs.contains("workshop_attendee=~\\\"$attendee\\\"")
        {
            problems.push(format!("{file}: its logs are not selected by $attendee"));
        }
    }
    assert!(
        dashboards >= 2,
        "{dashboards} dashboards in {}",
        dir.display()
    );
    assert_no_problems("attendee variable", &problems);
}
