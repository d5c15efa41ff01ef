//! The room board, defined once: for each section, the PromQL that says an attendee's
//! telemetry shows it, and the attendee's request rate, error rate and last sample. Both
//! `workshop room status` and the Grafana dashboard "Room"
//! (platform/grafana/dashboards/room.json, whose queries a test compares with these) ask
//! Prometheus exactly these queries.
//!
//! Every query groups `by (workshop_attendee)`, the label the room's collector sets from
//! the attendee's token, and selects `workshop_attendee=~"$attendee"` (Grafana's variable;
//! `room status` puts `.+` there). A section's query returns a series for an attendee whose
//! telemetry shows that section within Prometheus' lookback (5 min): no series, no tick.
//!
//! What the board cannot tell: it reads what reaches Prometheus. Logs live in Loki, which
//! neither Prometheus nor `room status` can ask, so section 2 has no column (Grafana's
//! Explore on Loki: `{workshop_attendee="alice"}`). And it sees results, not work: a
//! section done in the code but whose services are stopped shows nothing.

/// The four services, as their resources name them.
const SERVICES: &str = "frontend|gateway|geolocator|iss-distance";

/// The dashboard's variable; `room status` replaces it.
pub const ATTENDEE: &str = "$attendee";

/// How a column's value is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ✓ when the query returns a series for the attendee, · when not.
    Seen,
    /// Requests per second.
    Rate,
    /// A fraction of the requests, 0 to 1.
    Ratio,
    /// Seconds since the attendee's last sample.
    Ago,
}

/// One column of the board.
#[derive(Clone, Debug)]
pub struct Column {
    /// The key in `room status --json` and the dashboard's field name.
    pub key: &'static str,
    /// The heading.
    pub title: &'static str,
    pub kind: Kind,
    /// The PromQL, with [`ATTENDEE`] where the attendee's regex goes.
    pub promql: String,
}

/// The board's columns, in order: sections 0, 1, 3, 4 and 5, request rate, error rate,
/// last seen.
pub fn columns() -> Vec<Column> {
    let a = format!("workshop_attendee=~\"{ATTENDEE}\"");
    let mut columns = sections(&a);
    columns.extend(activity(&a));
    columns
}

/// A column per section whose telemetry reaches Prometheus.
fn sections(a: &str) -> Vec<Column> {
    vec![
        // Section 0 · resource: the services' resource, as section 0 builds it, on
        // `target_info` (Prometheus keeps every resource attribute there): one of the four
        // names, an environment and an instance id. Section 0 exports nothing: this
        // column fills in once something is exported (section 1 on). Before section 0 is
        // done, a resource has the SDK's `unknown_service` name and neither attribute.
        Column {
            key: "section_0",
            title: "0 resource",
            kind: Kind::Seen,
            promql: format!(
                "count by (workshop_attendee) (target_info{{{a}, service_name=~\"{SERVICES}\", deployment_environment_name!=\"\", service_instance_id!=\"\"}})"
            ),
        },
        // Section 1 · metrics: iss-distance's own counter of the requests it receives
        // (`incoming.requests`), which section 1 adds. It counts from the first request:
        // an attendee who has sent none shows nothing here yet.
        Column {
            key: "section_1",
            title: "1 metrics",
            kind: Kind::Seen,
            promql: format!(
                "count by (workshop_attendee) (incoming_requests_total{{{a}, service_name=\"iss-distance\"}})"
            ),
        },
        // Section 2 · logs: none. Log records go to Loki; Prometheus sees nothing of them
        // (the collector at 0.159.0 has no connector here that counts them).

        // Section 3 · traces: spans from each of the four services, as the span metrics
        // the room's collector computes from every span (`service_name` from the span's
        // resource). Whether their log records carry the span's ids is in Loki: not seen.
        Column {
            key: "section_3",
            title: "3 spans",
            kind: Kind::Seen,
            promql: format!(
                "count by (workshop_attendee) (group by (workshop_attendee, service_name) (traces_span_metrics_calls_total{{{a}, service_name=~\"{SERVICES}\"}})) == 4"
            ),
        },
        // Section 4 · distributed tracing: one trace across the four services, as the
        // service graph's edges, which pair a CLIENT span with the SERVER span it called
        // (in the same trace): frontend → gateway, gateway → geolocator, gateway →
        // iss-distance. The edges carry the attendee as `client_workshop_attendee` (the
        // connector's dimension in platform/room/collector.yaml). Without propagation each
        // service starts its own trace and there is no edge.
        Column {
            key: "section_4",
            title: "4 one trace",
            kind: Kind::Seen,
            promql: format!(
                "count by (workshop_attendee) (group by (workshop_attendee, client, server) (label_replace(traces_service_graph_request_total{{client_workshop_attendee=~\"{ATTENDEE}\", client=\"frontend\", server=\"gateway\"}} or traces_service_graph_request_total{{client_workshop_attendee=~\"{ATTENDEE}\", client=\"gateway\", server=~\"geolocator|iss-distance\"}}, \"workshop_attendee\", \"$1\", \"client_workshop_attendee\", \"(.*)\"))) == 3"
            ),
        },
        // Section 5 · instrumentation libraries: `http.server.request.duration`, the HTTP
        // semantic conventions' histogram, from each of the four services.
        Column {
            key: "section_5",
            title: "5 HTTP metrics",
            kind: Kind::Seen,
            promql: format!(
                "count by (workshop_attendee) (group by (workshop_attendee, service_name) (http_server_request_duration_seconds_count{{{a}, service_name=~\"{SERVICES}\"}})) == 4"
            ),
        },
    ]
}

/// How busy the attendee is, and since when silent.
fn activity(a: &str) -> Vec<Column> {
    let frontend_requests = format!(
        "traces_span_metrics_calls_total{{{a}, service_name=\"frontend\", span_kind=\"SPAN_KIND_SERVER\"}}"
    );
    vec![
        // Page requests: the frontend's SERVER spans per second (span metrics: from
        // section 3 on).
        Column {
            key: "requests_per_second",
            title: "req/s",
            kind: Kind::Rate,
            promql: format!("sum by (workshop_attendee) (rate({frontend_requests}[1m]))"),
        },
        // The share of those that failed (span status ERROR); 0 when none did.
        Column {
            key: "error_ratio",
            title: "errors",
            kind: Kind::Ratio,
            promql: format!(
                "(sum by (workshop_attendee) (rate({errors}[1m])) or sum by (workshop_attendee) (rate({frontend_requests}[1m])) * 0) / sum by (workshop_attendee) (rate({frontend_requests}[1m]))",
                errors = frontend_requests.replace('}', ", status_code=\"STATUS_CODE_ERROR\"}")
            ),
        },
        // Seconds since the attendee's newest `target_info` sample (one per metrics export
        // of any resource), over the last hour.
        Column {
            key: "last_seen_seconds_ago",
            title: "last seen",
            kind: Kind::Ago,
            promql: format!(
                "time() - max by (workshop_attendee) (max_over_time(timestamp(target_info{{{a}}})[1h:15s]))"
            ),
        },
    ]
}

/// A column's query for `room status`: every attendee's series, and only attendees'.
pub fn for_every_attendee(promql: &str) -> String {
    promql.replace(ATTENDEE, ".+")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard that shows the board.
    const DASHBOARD: &str = "platform/grafana/dashboards/room.json";

    #[test]
    fn every_query_groups_by_attendee_and_selects_by_the_variable_only() {
        for column in columns() {
            let q = &column.promql;
            assert!(q.contains("by (workshop_attendee)"), "{}: {q}", column.key);
            assert!(q.contains(ATTENDEE), "{}: {q}", column.key);
            let everyone = for_every_attendee(q);
            assert!(!everyone.contains("$attendee"), "{everyone}");
            assert!(everyone.contains("=~\".+\""), "{everyone}");
        }
    }

    /// The dashboard "Room" asks Prometheus exactly these queries, in this order, under
    /// these titles, and nothing else.
    #[test]
    fn the_room_dashboard_asks_exactly_the_boards_queries() {
        let path = crate::build::workspace_root().join(DASHBOARD);
        let text = std::fs::read_to_string(&path).unwrap();
        let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
        let panels: Vec<&serde_json::Value> = dashboard["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "table")
            .collect();
        assert_eq!(panels.len(), 1, "one table in {DASHBOARD}");
        let table = panels[0];
        let asked: Vec<(&str, &str)> = table["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["datasource"]["uid"], "prometheus", "{t}");
                assert_eq!(t["instant"], true, "a table of now: {t}");
                (t["refId"].as_str().unwrap(), t["expr"].as_str().unwrap())
            })
            .collect();
        let columns = columns();
        assert_eq!(
            asked.iter().map(|(_, expr)| *expr).collect::<Vec<_>>(),
            columns
                .iter()
                .map(|c| c.promql.as_str())
                .collect::<Vec<_>>(),
            "{DASHBOARD}'s queries are the board's (workshop/src/room/board.rs)"
        );
        // Each query's value column is renamed to the column's title.
        let renamed = table["transformations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == "organize")
            .map(|t| &t["options"]["renameByName"])
            .unwrap();
        for ((ref_id, _), column) in asked.iter().zip(&columns) {
            assert_eq!(
                renamed[format!("Value #{ref_id}")],
                column.title,
                "{DASHBOARD}: the heading of {}",
                column.key
            );
        }
        // The attendee variable the queries select by.
        let variables = dashboard["templating"]["list"].as_array().unwrap();
        assert!(
            variables.iter().any(|v| v["name"] == "attendee"
                && v["includeAll"] == true
                && v["allValue"] == ".*"),
            "{DASHBOARD}: {variables:?}"
        );
    }

    #[test]
    fn keys_are_unique_and_sections_come_in_order() {
        let keys: Vec<&str> = columns().iter().map(|c| c.key).collect();
        let unique: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
        let sections: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| k.starts_with("section_"))
            .collect();
        assert_eq!(
            sections,
            [
                "section_0",
                "section_1",
                "section_3",
                "section_4",
                "section_5"
            ]
        );
    }
}
