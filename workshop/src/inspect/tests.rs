//! The view's pieces on fixture data: trees, durations, filters, one-line forms, layout.

use otlp_receiver::proto::collector::logs::v1::ExportLogsServiceRequest;
use otlp_receiver::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_receiver::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use otlp_receiver::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_receiver::proto::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric::Data, number_data_point,
};
use otlp_receiver::proto::resource::v1::Resource;
use otlp_receiver::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status};
use otlp_receiver::{Protocol, Store};

use super::lines::{duration, log_line, metric_lines, span_line};
use super::model::{self, Filter, Sieve};
use super::render::{self, Focus, Line, ViewState, share};

const T0: u64 = 1_763_800_000_000_000_000;
const TRACE: [u8; 16] = [0xab; 16];

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(text: &str) -> any_value::Value {
    any_value::Value::StringValue(text.into())
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", s(service))],
        ..Default::default()
    })
}

/// A span of `TRACE` with id `[id; 8]`, parent `[parent; 8]` (0: root), from `start` µs
/// after T0 for `micros` µs.
fn span(id: u8, parent: u8, name: &str, start: u64, micros: u64) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: T0 + start * 1_000,
        end_time_unix_nano: T0 + (start + micros) * 1_000,
        ..Default::default()
    }
}

fn ingest_spans(store: &Store, service: &str, spans: Vec<Span>) {
    store.ingest_traces(
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: resource(service),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        },
        Protocol::Http,
    );
}

/// frontend GET / (1) → frontend GET (2) → gateway GET /distance (3), which calls
/// geolocator (4, failing) and then iss-distance (5); 4 is sent after 5 on purpose.
fn seeded() -> Store {
    let store = Store::default();
    let mut root = span(1, 0, "GET /", 0, 12_300);
    root.attributes = vec![
        kv("http.route", s("/")),
        kv("http.response.status_code", any_value::Value::IntValue(200)),
        kv("code.line.number", any_value::Value::IntValue(7)),
    ];
    let mut client = span(2, 1, "GET", 100, 12_000);
    client.kind = span::SpanKind::Client as i32;
    ingest_spans(&store, "frontend", vec![client, root]);
    ingest_spans(
        &store,
        "gateway",
        vec![span(3, 2, "GET /distance", 200, 11_000)],
    );
    let mut distance = span(5, 3, "GET /distance", 5_000, 900);
    distance.attributes = vec![kv("iss.latitude", any_value::Value::DoubleValue(10.5))];
    ingest_spans(&store, "iss-distance", vec![distance]);
    let mut failing = span(4, 3, "GET /coordinates", 300, 450);
    failing.status = Some(Status {
        code: status::StatusCode::Error as i32,
        message: "no place called \"Atlantis\"".into(),
    });
    ingest_spans(&store, "geolocator", vec![failing]);

    let log = LogRecord {
        time_unix_nano: T0,
        severity_number: 13,
        severity_text: "WARN".into(),
        body: Some(AnyValue {
            value: Some(s("slow\nISS API")),
        }),
        trace_id: TRACE.to_vec(),
        span_id: vec![3; 8],
        ..Default::default()
    };
    store.ingest_logs(
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource("gateway"),
                scope_logs: vec![ScopeLogs {
                    log_records: vec![log],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        },
        Protocol::Grpc,
    );
    for value in [3, 4] {
        let point = NumberDataPoint {
            attributes: vec![kv(
                "http.response.status_code",
                any_value::Value::IntValue(200),
            )],
            time_unix_nano: T0 + value,
            value: Some(number_data_point::Value::AsInt(value as i64)),
            ..Default::default()
        };
        let metric = Metric {
            name: "iss.requests".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![point],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        };
        store.ingest_metrics(
            ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: resource("iss-distance"),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(InstrumentationScope {
                            name: "iss-distance".into(),
                            ..Default::default()
                        }),
                        metrics: vec![metric],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            Protocol::Http,
        );
    }
    store
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| text(l).trim_end().to_owned())
        .collect()
}

/// A line's text, without styles.
fn text(line: &Line) -> String {
    line.segments.iter().map(|(t, _)| t.as_str()).collect()
}

/// What the screen shows on a terminal without colours, as one text, with the local
/// wall-clock times (`12:03:04.567`, which depend on the time zone) as `hh:mm:ss.mmm`.
fn shown(lines: &[Line], width: usize) -> String {
    let mut out = String::new();
    for line in lines {
        let mut text: Vec<char> = line.render(width, false).chars().collect();
        for at in 0..text.len().saturating_sub(11) {
            let clock = &text[at..at + 12];
            let digit = |i: usize| clock[i].is_ascii_digit();
            if [0, 1, 3, 4, 6, 7, 9, 10, 11].into_iter().all(digit)
                && clock[2] == ':'
                && clock[5] == ':'
                && clock[8] == '.'
            {
                text.splice(at..at + 12, "hh:mm:ss.mmm".chars());
            }
        }
        out.extend(text);
        out.push('\n');
    }
    out
}

#[test]
fn a_trace_is_an_indented_tree_with_children_by_start_time() {
    let store = seeded();
    let traces = model::traces(&store.spans(), &Filter::default());
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    let drawn: Vec<(String, &str)> = trace
        .rows
        .iter()
        .map(|r| (r.prefix.clone(), r.span.name()))
        .collect();
    assert_eq!(
        drawn,
        [
            ("".into(), "GET /"),
            ("└─ ".into(), "GET"),
            ("   └─ ".into(), "GET /distance"),
            ("      ├─ ".into(), "GET /coordinates"),
            ("      └─ ".into(), "GET /distance"),
        ]
    );
    assert_eq!(
        trace.services,
        ["frontend", "gateway", "geolocator", "iss-distance"]
    );
    assert!(trace.has_error);
    assert_eq!(trace.duration, std::time::Duration::from_micros(12_300));

    let lines = render::trace_lines(trace, &store.logs(), &Filter::default(), 120);
    // The summary (root, services, duration, log, error), the tree, the attributes that
    // matter (no `code.line.number`), the failed span's status message.
    insta::assert_snapshot!(shown(&lines, 120));
}

#[test]
fn a_span_whose_parent_has_not_arrived_is_drawn_as_an_orphan_root() {
    let store = Store::default();
    ingest_spans(
        &store,
        "gateway",
        vec![span(3, 9, "GET /distance", 0, 10), span(4, 3, "GET", 1, 5)],
    );
    // A cycle (a span claiming its own child as parent) is drawn, not lost.
    ingest_spans(
        &store,
        "odd",
        vec![span(7, 8, "x", 20, 1), span(8, 7, "y", 21, 1)],
    );
    let trace = &model::traces(&store.spans(), &Filter::default())[0];
    assert_eq!(trace.rows.len(), 4);
    assert!(trace.rows[0].orphan);
    assert_eq!(trace.rows[1].prefix, "└─ ");
    assert!(!trace.rows[1].orphan);
    let lines = render::trace_lines(trace, &[], &Filter::default(), 120);
    insta::assert_snapshot!(shown(&lines, 120));
}

#[test]
fn durations_read_naturally() {
    use std::time::Duration;
    assert_eq!(duration(Duration::from_nanos(412_400)), "412 µs");
    assert_eq!(duration(Duration::from_micros(12_345)), "12.3 ms");
    assert_eq!(duration(Duration::from_millis(1_250)), "1.25 s");
    assert_eq!(duration(Duration::ZERO), "0 µs");
}

#[test]
fn the_filter_keeps_traces_that_touch_a_service_whole_and_narrows_metrics_and_logs() {
    let store = seeded();
    let geolocator = Filter::new(["geolocator"]);
    let traces = model::traces(&store.spans(), &geolocator);
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].rows.len(), 5, "the whole trace, for context");
    let lines = render::trace_lines(&traces[0], &[], &geolocator, 120);
    let styles =
        |i: usize| -> Vec<render::Style> { lines[i].segments.iter().map(|s| s.1).collect() };
    assert!(
        styles(1).iter().all(|s| *s == render::DIM),
        "other services are dimmed"
    );
    assert!(styles(4).contains(&render::RED), "the filtered span is not");

    assert!(model::traces(&store.spans(), &Filter::new(["python-check"])).is_empty());
    assert!(model::metric_streams(&store.metrics(), &geolocator).is_empty());
    assert_eq!(model::latest_logs(&store.logs(), &geolocator, 10).len(), 0);
    assert_eq!(
        model::latest_logs(&store.logs(), &Filter::new(["iss-distance", "gateway"]), 10).len(),
        1
    );
    assert!(Filter::default().matches(None));
    assert!(!geolocator.matches(None));
    assert_eq!(Filter::new(["a", "b"]).describe(), "a, b");
}

#[test]
fn a_metric_stream_shows_its_latest_value() {
    let store = seeded();
    let streams = model::metric_streams(&store.metrics(), &Filter::default());
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].value, otlp_receiver::PointValue::Int(4));
    let line = text(&render::metric_line(&streams[0], 120));
    assert!(line.contains("iss.requests"), "{line}");
    assert!(line.contains("iss-distance"));
    assert!(line.contains("counter"));
    assert!(
        line.contains(" 4  {http.response.status_code=200}"),
        "{line}"
    );
}

#[test]
fn one_line_forms_are_stable_and_single_lines() {
    let store = seeded();
    let spans = store.spans();
    let failing = spans
        .iter()
        .find(|s| s.name() == "GET /coordinates")
        .unwrap();
    assert_eq!(
        span_line(failing),
        "span trace=abababababababababababababababab span=0404040404040404 \
         parent=0303030303030303 service=geolocator kind=server name=\"GET /coordinates\" \
         duration_ms=0.450 status=error status_message=\"no place called \\\"Atlantis\\\"\" attrs={}"
    );
    let root = spans.iter().find(|s| s.name() == "GET /").unwrap();
    assert!(
        span_line(root).contains(
            "parent=- service=frontend kind=server name=\"GET /\" duration_ms=12.300 status=unset \
             attrs={code.line.number=7, http.response.status_code=200, http.route=\"/\"}"
        ),
        "{}",
        span_line(root)
    );
    let metrics = store.metrics();
    assert_eq!(
        metric_lines(&metrics[1]),
        [
            "metric service=iss-distance scope=iss-distance name=iss.requests kind=sum \
             monotonic=true temporality=cumulative value=4 attrs={http.response.status_code=200}"
        ]
    );
    assert_eq!(
        log_line(&store.logs()[0]),
        "log service=gateway severity=WARN trace=abababababababababababababababab \
         span=0303030303030303 body=\"slow\\nISS API\" attrs={}"
    );
}

#[test]
fn the_screen_fits_the_terminal_and_logs_link_to_traces() {
    let store = seeded();
    let state = ViewState {
        filter: Filter::default(),
        sieve: Sieve::default(),
        focus: Focus::All,
        source: "gRPC 127.0.0.1:4317  HTTP 127.0.0.1:4318".into(),
        endpoint: "http://127.0.0.1:4318".into(),
        link: None,
    };
    let full = render::screen(&store, &state, 120, 40);
    assert!(full.len() <= 40);
    // The header, then each section; the log line links to its trace by the id's start.
    insta::assert_snapshot!("full", shown(&full, 120));

    let small = render::screen(&store, &state, 80, 9);
    assert!(small.len() <= 9, "{:#?}", texts(&small));
    for line in &small {
        assert!(line.render(80, false).chars().count() <= 80);
    }
    insta::assert_snapshot!("small", shown(&small, 80));
    let logs_only = ViewState {
        focus: Focus::Logs,
        ..state.clone()
    };
    let logs_only = render::screen(&store, &logs_only, 120, 40);
    insta::assert_snapshot!("logs_only", shown(&logs_only, 120));

    let elsewhere = ViewState {
        endpoint: "http://127.0.0.1:40691".into(),
        ..state.clone()
    };
    // The hint names the port it listens on.
    let empty = render::screen(&Store::default(), &elsewhere, 120, 40);
    insta::assert_snapshot!("empty", shown(&empty, 120));
}

#[test]
fn sections_share_the_height_and_give_away_what_they_do_not_need() {
    assert_eq!(share(20, &[(100, 2), (100, 1), (100, 1)]), [10, 5, 5]);
    assert_eq!(share(20, &[(3, 2), (100, 1), (2, 1)]), [3, 15, 2]);
    assert_eq!(share(20, &[(0, 2), (0, 1), (0, 1)]), [0, 0, 0]);
    assert_eq!(
        share(2, &[(10, 2), (10, 1), (10, 1)]).iter().sum::<usize>(),
        2
    );
}

#[test]
fn lines_are_cut_to_the_width_with_an_ellipsis() {
    let line = render::Line::new()
        .plain("abcdef")
        .push("ghij", render::RED);
    assert_eq!(line.render(8, false), "abcdefg…");
    assert_eq!(line.render(8, true), "abcdef\x1b[31mg…\x1b[0m");
    assert_eq!(line.render(20, false), "abcdefghij");
}

#[test]
fn durations_and_services_on_the_command_line() {
    use std::time::Duration;
    assert_eq!(super::parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(
        super::parse_duration("500ms"),
        Ok(Duration::from_millis(500))
    );
    assert_eq!(super::parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(super::parse_duration("3"), Ok(Duration::from_secs(3)));
    assert!(super::parse_duration("0s").is_err());
    assert!(super::parse_duration("ten").is_err());
    assert!(super::parse_duration("5 parsecs").is_err());
    assert!(super::parse_service(" ").is_err());
    assert_eq!(
        super::follow::tap_url("127.0.0.1:4318"),
        "http://127.0.0.1:4318/v1/tap"
    );
    assert_eq!(
        super::follow::tap_url("http://127.0.0.1:4318/v1/tap"),
        "http://127.0.0.1:4318/v1/tap"
    );
}

// ---------------------------------------------------------------------------------------
// Histograms: count, sum and a few quantiles estimated from the buckets.

#[test]
fn quantiles_interpolate_inside_the_bucket_that_holds_the_rank() {
    let bounds = [0.005, 0.01, 0.025];
    // 10 values: 4 up to 5 ms, 4 up to 10 ms, 2 up to 25 ms, none above.
    let counts = [4, 4, 2, 0];
    let q = |q| model::quantile(&bounds, &counts, None, None, q).unwrap();
    // The 5th of 10 values is the first of the second bucket's four: a quarter into it.
    assert!((q(0.5) - 0.00625).abs() < 1e-12, "{}", q(0.5));
    // The 9th is the first of the third bucket's two: half-way.
    assert!((q(0.9) - 0.0175).abs() < 1e-12, "{}", q(0.9));
    // Without a min, the first bucket starts at 0, as in Prometheus.
    assert!((q(0.2) - 0.0025).abs() < 1e-12, "{}", q(0.2));
    // min and max, when sent, bound the estimate.
    let bounded = model::quantile(&bounds, &counts, Some(0.004), Some(0.02), 0.99).unwrap();
    assert!(bounded <= 0.02 && bounded > 0.01, "{bounded}");
    let first = model::quantile(&bounds, &counts, Some(0.004), Some(0.02), 0.1).unwrap();
    assert!((0.004..=0.005).contains(&first), "{first}");
}

#[test]
fn quantiles_of_the_open_last_bucket_and_of_nothing() {
    let bounds = [1.0, 2.0];
    // Everything above the last bound: only max says how far.
    let counts = [0, 0, 3];
    assert_eq!(
        model::quantile(&bounds, &counts, None, Some(8.0), 1.0),
        Some(8.0)
    );
    assert_eq!(
        model::quantile(&bounds, &counts, None, None, 0.5),
        Some(2.0)
    );
    assert_eq!(model::quantile(&bounds, &[0, 0, 0], None, None, 0.5), None);
    assert_eq!(
        model::quantile(&bounds, &[1, 2], None, None, 0.5),
        None,
        "malformed"
    );
}

#[test]
fn a_histogram_point_shows_count_sum_and_quantiles() {
    use otlp_receiver::proto::metrics::v1::{Histogram, HistogramDataPoint};
    let store = Store::default();
    let point = HistogramDataPoint {
        attributes: vec![kv("http.route", s("/distance"))],
        count: 10,
        sum: Some(0.1),
        min: Some(0.002),
        max: Some(0.02),
        explicit_bounds: vec![0.005, 0.01, 0.025],
        bucket_counts: vec![4, 4, 2, 0],
        ..Default::default()
    };
    store.ingest_metrics(
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: resource("gateway"),
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "http.server.request.duration".into(),
                        unit: "s".into(),
                        data: Some(Data::Histogram(Histogram {
                            data_points: vec![point],
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        },
        Protocol::Http,
    );
    let metrics = store.metrics();
    assert_eq!(
        metric_lines(&metrics[0]),
        [
            "metric service=gateway scope=- name=http.server.request.duration kind=histogram \
             temporality=cumulative unit=s count=10 sum=0.1 min=0.002 max=0.02 p50=0.00625 \
             p90=0.015 p99=0.0195 attrs={http.route=\"/distance\"}"
        ]
    );
    let streams = model::metric_streams(&metrics, &Filter::default());
    let line = text(&render::metric_line(&streams[0], 160));
    assert!(
        line.contains("count=10 sum=0.1 min=0.002 max=0.02 p50=0.00625 p90=0.015 p99=0.0195 s"),
        "{line}"
    );
}

#[test]
fn the_clock_shows_local_time_to_the_millisecond() {
    use chrono::Timelike;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_250);
    let local = chrono::DateTime::<chrono::Local>::from(time);
    assert_eq!(
        render::clock(time),
        format!(
            "{:02}:{:02}:{:02}.250",
            local.hour(),
            local.minute(),
            local.second()
        )
    );
}

#[test]
fn the_sieve_keeps_failed_or_slow_traces_and_says_so_in_the_header() {
    use std::time::Duration;
    let store = seeded();
    // A second trace: one fast span, no error.
    let mut fast = span(9, 0, "GET /", 50_000, 2_000);
    fast.trace_id = vec![0xcd; 16];
    ingest_spans(&store, "frontend", vec![fast]);
    let traces = model::traces(&store.spans(), &Filter::default());
    assert_eq!(traces.len(), 2);
    let kept = |sieve: Sieve| traces.iter().filter(|t| sieve.keeps(t)).count();
    assert_eq!(kept(Sieve::default()), 2);
    let errors = Sieve {
        errors: true,
        slower_than: None,
    };
    assert_eq!(kept(errors), 1, "the seeded trace has a failed span");
    let slow = |ms| Sieve {
        errors: false,
        slower_than: Some(Duration::from_millis(ms)),
    };
    assert_eq!(kept(slow(10)), 1, "12.3 ms and 2 ms long");
    assert_eq!(kept(slow(13)), 0);

    let failed = store
        .spans()
        .into_iter()
        .filter(|s| errors.keeps_span(s))
        .count();
    assert_eq!(failed, 1, "in lines, single spans: geolocator's");

    let state = ViewState {
        filter: Filter::default(),
        sieve: Sieve {
            errors: true,
            slower_than: Some(Duration::from_secs(1)),
        },
        focus: Focus::Traces,
        source: "test".into(),
        endpoint: "http://127.0.0.1:4318".into(),
        link: None,
    };
    // The header says what the sieve keeps.
    let screen = render::screen(&store, &state, 120, 40);
    insta::assert_snapshot!(shown(&screen, 120));
}
