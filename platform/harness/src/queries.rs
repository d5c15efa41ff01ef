//! The queries users run, read from the files they come from: the dashboards' panels and
//! variables, the chapters' ```promql / ```logql / ```traceql blocks, and the Grafana
//! datasources' trace-to-metrics and trace-to-logs links. Then: which of them only Tempo's
//! metrics-generator can answer, how a query's Grafana variables are filled in, and what a
//! query's result must hold.

use std::collections::BTreeSet;
use std::path::Path;

use platform_check::{Value, get, get_str, promql_metric_names};

use crate::prometheus::Series;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    PromQL,
    LogQL,
    TraceQL,
    /// A Tempo panel's service map: Tempo reads its service-graph metrics itself.
    ServiceMap,
}

/// One query, with where it was found and what its display groups by.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `platform/grafana/dashboards/x.json: panel "Request rate"`, `…md:390`.
    pub origin: String,
    pub language: Language,
    /// As written (Grafana variables and all).
    pub expr: String,
    /// The panel's legend (`{{service_name}}`): the labels it shows must exist.
    pub legend: Option<String>,
}

impl Query {
    /// Labels the query's display relies on: those of `by (…)` clauses (except `le`,
    /// which `histogram_quantile` consumes) and of the legend's `{{label}}`s.
    pub fn grouping_labels(&self) -> BTreeSet<String> {
        let mut labels = by_clause_labels(&self.expr);
        if let Some(legend) = &self.legend {
            labels.extend(legend_labels(legend));
        }
        labels.remove("le");
        labels
    }
}

/// Every query of the dashboards in `dir` (`*.json`): Prometheus and Loki panel targets,
/// Prometheus query variables, and Tempo panels (which only Tempo answers).
pub fn dashboard_queries(repo: &Path, dir: &str) -> Result<Vec<Query>, String> {
    let mut out = Vec::new();
    for file in files(repo, dir, "json")? {
        let text = std::fs::read_to_string(repo.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        let dash: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
        out.extend(queries_of_dashboard(&file, &dash));
    }
    Ok(out)
}

/// The queries of one dashboard (see [`dashboard_queries`]).
pub fn queries_of_dashboard(file: &str, dash: &serde_json::Value) -> Vec<Query> {
    let mut out = Vec::new();
    let mut panels = Vec::new();
    collect_panels(dash, &mut panels);
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("?");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let datasource = target
                .get("datasource")
                .filter(|d| !d.is_null())
                .unwrap_or(&panel["datasource"]);
            let origin = format!("{file}: panel \"{title}\"");
            let legend = target["legendFormat"].as_str().map(str::to_owned);
            match datasource["type"].as_str() {
                Some("prometheus") => {
                    if let Some(expr) = target["expr"].as_str() {
                        out.push(Query {
                            origin,
                            language: Language::PromQL,
                            expr: expr.to_owned(),
                            legend,
                        });
                    }
                }
                Some("loki") => {
                    if let Some(expr) = target["expr"].as_str() {
                        out.push(Query {
                            origin,
                            language: Language::LogQL,
                            expr: expr.to_owned(),
                            legend: None,
                        });
                    }
                }
                Some("tempo") => {
                    let (language, expr) = match target["queryType"].as_str() {
                        Some("serviceMap") => (
                            Language::ServiceMap,
                            target["serviceMapQuery"].as_str().unwrap_or_default(),
                        ),
                        _ => (
                            Language::TraceQL,
                            target["query"].as_str().unwrap_or_default(),
                        ),
                    };
                    out.push(Query {
                        origin,
                        language,
                        expr: expr.to_owned(),
                        legend: None,
                    });
                }
                _ => {}
            }
        }
    }
    for var in dash
        .pointer("/templating/list")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
    {
        if var["datasource"]["type"] != "prometheus" {
            continue;
        }
        let query = var["query"]["query"].as_str().or(var["query"].as_str());
        if let Some((metric, label)) = query.and_then(label_values) {
            // What Grafana asks Prometheus for: the values of `label` on `metric`.
            out.push(Query {
                origin: format!("{file}: variable `{}`", var["name"].as_str().unwrap_or("?")),
                language: Language::PromQL,
                expr: format!("group by ({label}) ({metric})"),
                legend: None,
            });
        }
    }
    out
}

fn collect_panels<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    for panel in v["panels"].as_array().into_iter().flatten() {
        out.push(panel);
        collect_panels(panel, out);
    }
}

/// `label_values(metric, label)` → (metric, label).
fn label_values(query: &str) -> Option<(String, String)> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (metric, label) = inner.split_once(',')?;
    Some((metric.trim().to_owned(), label.trim().to_owned()))
}

/// The fenced ```promql, ```logql and ```traceql blocks of the chapters in `dir`.
pub fn chapter_queries(repo: &Path, dir: &str) -> Result<Vec<Query>, String> {
    let mut out = Vec::new();
    for file in files(repo, dir, "md")? {
        let text = std::fs::read_to_string(repo.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        out.extend(queries_of_markdown(&file, &text));
    }
    Ok(out)
}

/// The line before a query block that shows what an optional exercise adds:
/// `<!-- optional: section-2-structured-fields.patch -->` names its patch in
/// `workshop/steps/optional/`. The finished workshop does not answer such a query (the
/// exercise is not part of it); the test of that exercise asks it instead.
const OPTIONAL_MARKER: &str = "<!-- optional: ";

/// The query blocks of one Markdown text; a block is one query (its lines joined). Blocks
/// of an optional exercise are left out (see [`optional_queries_of_markdown`]).
pub fn queries_of_markdown(file: &str, text: &str) -> Vec<Query> {
    query_blocks(file, text)
        .into_iter()
        .filter_map(|(optional, query)| optional.is_none().then_some(query))
        .collect()
}

/// The query blocks of one Markdown text that show what the optional exercise of `patch`
/// adds.
pub fn optional_queries_of_markdown(file: &str, text: &str, patch: &str) -> Vec<Query> {
    query_blocks(file, text)
        .into_iter()
        .filter_map(|(optional, query)| (optional.as_deref() == Some(patch)).then_some(query))
        .collect()
}

/// Every query block, with the optional exercise it belongs to, if any.
fn query_blocks(file: &str, text: &str) -> Vec<(Option<String>, Query)> {
    let mut out = Vec::new();
    let mut open: Option<(Language, usize, Vec<&str>)> = None;
    let mut previous = "";
    let mut optional = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match &mut open {
            None => {
                let language = match fence.strip_prefix("```").map(str::trim) {
                    Some("promql") => Some(Language::PromQL),
                    Some("logql") => Some(Language::LogQL),
                    Some("traceql") => Some(Language::TraceQL),
                    _ => None,
                };
                if let Some(language) = language {
                    open = Some((language, i + 1, Vec::new()));
                    optional = previous
                        .trim()
                        .strip_prefix(OPTIONAL_MARKER)
                        .and_then(|rest| rest.strip_suffix("-->"))
                        .map(|patch| patch.trim().to_owned());
                }
            }
            Some((language, start, lines)) => {
                if fence.starts_with("```") {
                    let expr = lines.join(" ").trim().to_owned();
                    if !expr.is_empty() {
                        let query = Query {
                            origin: format!("{file}:{start}"),
                            language: *language,
                            expr,
                            legend: None,
                        };
                        out.push((optional.take(), query));
                    }
                    open = None;
                } else {
                    lines.push(line.trim());
                }
            }
        }
        previous = line;
    }
    out
}

/// The Tempo datasources' links as queries: trace → metrics (PromQL) and trace → logs
/// (LogQL), with `$$` (a literal `$` in provisioning files) undone.
pub fn datasource_queries(file: &str, doc: &Value) -> Vec<Query> {
    let mut out = Vec::new();
    for ds in get(doc, &["datasources"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = get_str(ds, &["name"]).unwrap_or("?");
        for q in get(ds, &["jsonData", "tracesToMetrics", "queries"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(expr) = get_str(q, &["query"]) {
                out.push(Query {
                    origin: format!(
                        "{file}: `{name}` trace-to-metrics \"{}\"",
                        get_str(q, &["name"]).unwrap_or("?")
                    ),
                    language: Language::PromQL,
                    expr: expr.replace("$$", "$"),
                    legend: None,
                });
            }
        }
        if let Some(expr) = get_str(ds, &["jsonData", "tracesToLogsV2", "query"]) {
            out.push(Query {
                origin: format!("{file}: `{name}` trace-to-logs"),
                language: Language::LogQL,
                expr: expr.replace("$$", "$"),
                legend: None,
            });
        }
    }
    out
}

/// The value Grafana gives each variable when the test runs a query.
#[derive(Clone, Debug)]
pub struct Variables {
    /// `$__tags` of a trace link: `service_name="gateway"`.
    pub tags: String,
    /// `${__span.name}`.
    pub span_name: String,
    /// `${__trace.traceId}`.
    pub trace_id: String,
}

/// Fills in Grafana's variables: the dashboard's `$service` takes its "All" value (`.+`),
/// `$attendee` its own (`.*`: outside a room no series has a `workshop_attendee` label, and
/// a matcher that matches the empty string selects series without the label),
/// `$__rate_interval` one minute (Grafana's floor: four scrape intervals of 15 s), and the
/// trace links' variables those of a real span.
pub fn instantiate(expr: &str, vars: &Variables) -> String {
    expr.replace("${service:regex}", ".+")
        .replace("${service}", ".+")
        .replace("$service", ".+")
        .replace("${attendee:regex}", ".*")
        .replace("${attendee}", ".*")
        .replace("$attendee", ".*")
        .replace("$__rate_interval", "1m")
        .replace("${__tags}", &vars.tags)
        .replace("$__tags", &vars.tags)
        .replace("${__span.name}", &vars.span_name)
        .replace("${__trace.traceId}", &vars.trace_id)
}

/// The metric-name prefixes of what Tempo's metrics-generator makes, for the processors
/// `tempo.yaml` enables (`traces_service_graph_` for `service-graphs`). Tempo does not run
/// here (AGPL): queries of those metrics are listed as not run.
pub fn tempo_generated_prefixes(tempo: &Value) -> Vec<(&'static str, String)> {
    platform_check::strings(get(
        tempo,
        &["overrides", "defaults", "metrics_generator", "processors"],
    ))
    .into_iter()
    .filter_map(|processor| {
        let prefix = match processor.as_str() {
            "service-graphs" => "traces_service_graph_",
            "span-metrics" => "traces_spanmetrics_",
            _ => return None,
        };
        Some((prefix, processor))
    })
    .collect()
}

/// Why a query cannot be run here, if it can't: it reads Tempo (a Tempo panel, TraceQL is
/// checked against the spans instead) or metrics only Tempo's metrics-generator makes.
pub fn only_tempo_answers(
    query: &Query,
    tempo_prefixes: &[(&'static str, String)],
) -> Option<String> {
    if query.language != Language::PromQL {
        return None;
    }
    // One that does not parse is run all the same: Prometheus says why it fails.
    promql_metric_names(&query.expr)
        .unwrap_or_default()
        .into_iter()
        .find_map(|metric| {
            tempo_prefixes
                .iter()
                .find(|(prefix, _)| metric.starts_with(prefix))
                .map(|(_, processor)| {
                    format!("`{metric}` comes from Tempo's metrics-generator ({processor})")
                })
        })
}

/// What is wrong with a PromQL query's result: no data at all, or a label the display
/// groups by that no series has (a typo, or a label the data never carries).
pub fn judge(query: &Query, run: &str, result: &[Series]) -> Vec<String> {
    if result.is_empty() {
        return vec![format!("{}: `{run}` returns no data", query.origin)];
    }
    let mut problems = Vec::new();
    // Outside a room, where this runs, no series has `workshop_attendee`: a room's collector
    // sets it (workshop/tests/live_room.rs checks the room board's queries there).
    for label in query
        .grouping_labels()
        .into_iter()
        .filter(|l| l != "workshop_attendee")
    {
        let present = result
            .iter()
            .any(|s| s.labels.get(&label).is_some_and(|v| !v.is_empty()));
        if !present {
            let seen: BTreeSet<&String> = result.iter().flat_map(|s| s.labels.keys()).collect();
            problems.push(format!(
                "{}: groups by `{label}`, but no series of `{run}` has that label (labels: {seen:?})",
                query.origin
            ));
        }
    }
    problems
}

/// Labels of the `by (…)` clauses whose result the query returns: not those of an
/// aggregation nested in another's argument (`count by (a) (group by (a, b) (x))` returns
/// only `a`). Quoted strings are skipped (`label_replace`'s `"(.*)"`).
fn by_clause_labels(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // For each open parenthesis: whether it holds an aggregation's argument.
    let mut open: Vec<bool> = Vec::new();
    let mut next_is_argument = false;
    let mut i = 0;
    while i < expr.len() {
        let rest = &expr[i..];
        let c = rest.chars().next().unwrap_or(' ');
        if c == '"' {
            let mut escaped = false;
            let close = rest[1..].char_indices().find(|&(_, ch)| {
                let end = ch == '"' && !escaped;
                escaped = ch == '\\' && !escaped;
                end
            });
            i += close.map_or(rest.len(), |(j, _)| j + 2);
            continue;
        }
        if c == '(' {
            open.push(next_is_argument);
            next_is_argument = false;
        } else if c == ')' {
            open.pop();
        } else if find_word(rest, "by") == Some(0)
            && let Some(list) = rest[2..].trim_start().strip_prefix('(')
        {
            let end = list.find(')').unwrap_or(list.len());
            if !open.contains(&true) {
                out.extend(
                    list[..end]
                        .split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
            }
            let after = &list[(end + 1).min(list.len())..];
            next_is_argument = after.trim_start().starts_with('(');
            i = expr.len() - after.len();
            continue;
        }
        i += c.len_utf8();
    }
    out
}

/// Index of `word` standing alone (not part of a longer name).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = text[from..].find(word).map(|i| i + from) {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        if !before.is_some_and(is_name) && !after.is_some_and(is_name) {
            return Some(i);
        }
        from = i + word.len();
    }
    None
}

/// `{{service_name}} p95` → `service_name`.
fn legend_labels(legend: &str) -> BTreeSet<String> {
    legend
        .split("{{")
        .skip(1)
        .filter_map(|part| {
            part.split_once("}}")
                .map(|(label, _)| label.trim().to_owned())
        })
        .collect()
}

/// Files with extension `ext` in `dir` (relative to the repository), sorted.
fn files(repo: &Path, dir: &str, ext: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = std::fs::read_dir(repo.join(dir))
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == ext))
        .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_query_of_an_optional_exercise_is_asked_by_its_test_not_of_the_finished_workshop() {
        let text = "Finished:\n\n```logql\n{a=\"1\"}\n```\n\n\
                    <!-- optional: x.patch -->\n```logql\n{b=\"2\"}\n```\n";
        let all: Vec<String> = queries_of_markdown("c.md", text)
            .into_iter()
            .map(|q| q.expr)
            .collect();
        assert_eq!(all, ["{a=\"1\"}"]);
        let optional = optional_queries_of_markdown("c.md", text, "x.patch");
        assert_eq!(optional.len(), 1);
        assert_eq!(optional[0].expr, "{b=\"2\"}");
        assert_eq!(optional[0].origin, "c.md:8");
        assert!(optional_queries_of_markdown("c.md", text, "y.patch").is_empty());
    }

    fn query(expr: &str, legend: Option<&str>) -> Query {
        Query {
            origin: "d.json: panel \"p\"".into(),
            language: Language::PromQL,
            expr: expr.into(),
            legend: legend.map(str::to_owned),
        }
    }

    fn series(labels: &[(&str, &str)]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            value: 1.0,
        }
    }

    #[test]
    fn grouping_labels_come_from_by_clauses_and_the_legend_but_not_le() {
        let q = query(
            r#"histogram_quantile(0.95, sum by (le, service_name) (rate(x_bucket{a="by"}[1m]))) / sum by(span_name) (y)"#,
            Some("{{service_name}} {{ http_route }} p95"),
        );
        let labels: Vec<_> = q.grouping_labels().into_iter().collect();
        assert_eq!(labels, ["http_route", "service_name", "span_name"]);
        let nested = query(
            r#"count by (a) (group by (a, b) (label_replace(x, "c", "$1", "d", "(by)"))) == 4"#,
            None,
        );
        assert_eq!(
            nested.grouping_labels().into_iter().collect::<Vec<_>>(),
            ["a"]
        );
        assert!(
            query("sum(rate(standby_total[1m]))", None)
                .grouping_labels()
                .is_empty()
        );
    }

    #[test]
    fn no_data_and_a_missing_label_are_problems_and_one_series_with_it_is_enough() {
        let q = query("sum by (service_name, error_type) (rate(x[1m]))", None);
        assert_eq!(
            judge(&q, "e", &[]),
            ["d.json: panel \"p\": `e` returns no data"]
        );
        let fine = [
            series(&[("service_name", "a")]),
            series(&[("service_name", "a"), ("error_type", "timeout")]),
        ];
        assert!(judge(&q, "e", &fine).is_empty());
        let missing = judge(&q, "e", &[series(&[("service_name", "a")])]);
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("groups by `error_type`"), "{missing:?}");
        let empty_value = judge(
            &q,
            "e",
            &[series(&[("service_name", ""), ("error_type", "x")])],
        );
        assert!(empty_value[0].contains("`service_name`"), "{empty_value:?}");
    }

    #[test]
    fn dashboards_yield_panel_targets_variables_and_tempo_panels() {
        let dash = serde_json::json!({
            "panels": [
                {"type": "row", "title": "r", "panels": [
                    {"title": "Rate", "datasource": {"type": "prometheus", "uid": "prometheus"},
                     "targets": [{"expr": "sum by (service_name) (rate(a_total[$__rate_interval]))", "legendFormat": "{{service_name}}"}]}
                ]},
                {"title": "Graph", "targets": [{"datasource": {"type": "tempo", "uid": "tempo"}, "queryType": "serviceMap", "serviceMapQuery": "{}"}]},
                {"title": "Logs", "targets": [{"datasource": {"type": "loki", "uid": "loki"}, "expr": "{service_name=~\"$service\"}"}]}
            ],
            "templating": {"list": [{"name": "service", "datasource": {"type": "prometheus"},
                "query": {"query": "label_values(a_total, service_name)"}}]}
        });
        let queries = queries_of_dashboard("d.json", &dash);
        let summary: Vec<_> = queries
            .iter()
            .map(|q| (q.language, q.expr.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Language::PromQL,
                    "sum by (service_name) (rate(a_total[$__rate_interval]))"
                ),
                (Language::ServiceMap, "{}"),
                (Language::LogQL, "{service_name=~\"$service\"}"),
                (Language::PromQL, "group by (service_name) (a_total)"),
            ]
        );
        assert_eq!(queries[0].origin, "d.json: panel \"Rate\"");
        assert_eq!(queries[0].legend.as_deref(), Some("{{service_name}}"));
    }

    #[test]
    fn markdown_blocks_of_the_three_languages_are_queries() {
        let md = "text\n```promql\nsum by (a) (\n  rate(x[1m]))\n```\n```sh\nnot a query\n```\n```logql\n{a=\"b\"}\n```\n";
        let queries = queries_of_markdown("c.md", md);
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[0].expr, "sum by (a) ( rate(x[1m]))");
        assert_eq!(queries[0].origin, "c.md:2");
        assert_eq!(queries[1].language, Language::LogQL);
    }

    #[test]
    fn variables_are_filled_in_as_grafana_does() {
        let vars = Variables {
            tags: "service_name=\"gateway\"".into(),
            span_name: "GET /distance".into(),
            trace_id: "abc".into(),
        };
        assert_eq!(
            instantiate(
                "rate(x{service_name=~\"$service\", $__tags, span_name=\"${__span.name}\"}[$__rate_interval])",
                &vars
            ),
            "rate(x{service_name=~\".+\", service_name=\"gateway\", span_name=\"GET /distance\"}[1m])"
        );
        assert_eq!(
            instantiate("{${__tags}} | trace_id=\"${__trace.traceId}\"", &vars),
            "{service_name=\"gateway\"} | trace_id=\"abc\""
        );
    }

    #[test]
    fn tempo_generated_metrics_are_recognised_from_tempos_config() {
        let tempo = platform_check::parse_yaml(
            "overrides:\n  defaults:\n    metrics_generator:\n      processors: [service-graphs]\n",
            "t",
        )
        .unwrap();
        let prefixes = tempo_generated_prefixes(&tempo);
        let graph = query(
            "sum by (client, server) (rate(traces_service_graph_request_total[5m]))",
            None,
        );
        assert!(
            only_tempo_answers(&graph, &prefixes)
                .unwrap()
                .contains("service-graphs")
        );
        assert_eq!(
            only_tempo_answers(
                &query("rate(traces_span_metrics_calls_total[1m])", None),
                &prefixes
            ),
            None
        );
    }
}
