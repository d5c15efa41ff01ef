//! The checks are only worth something if they can fail: feed them deliberately broken
//! input and assert that they report each problem, naming the file.

use platform_check::*;

const BROKEN_COMPOSE: &str = r#"
services:
  otel-collector:
    image: ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib:latest
    ports:
      - "4317:4317"
      - "0.0.0.0:4318:4318"
    volumes:
      - ./platform/does-not-exist.yaml:/etc/otelcol/config.yaml:ro
    depends_on:
      tempo:
        condition: service_healthy
      nowhere:
        condition: service_started
  tempo:
    image: grafana/tempo:3
  prometheus:
    image: quay.io/prometheus/prometheus
"#;

const BROKEN_COLLECTOR: &str = r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
exporters:
  otlp_grpc/tempo:
    endpoint: tempo:4317
  otlp_http/loki:
    endpoint: http://loki:3100/otlp
  otlp_http/prometheus:
    endpoint: http://prometheus:9999/api/v1/otlp
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_grpc/tempo]
    logs:
      receivers: [otlp, filelog]
      processors: [memory_limiter]
      exporters: [otlp_http/loki, otlp_http/nowhere]
    metrics:
      receivers: [otlp]
      exporters: [otlp_http/prometheus]
"#;

fn assert_reports(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "expected a problem mentioning `{needle}`, got:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn compose_checks_report_a_broken_compose_file() {
    let doc = parse_yaml(BROKEN_COMPOSE, "broken.yml").unwrap();
    let root = repo_root();

    let mounts = check_mounts_exist(&doc, "broken.yml", &root);
    assert_reports(
        &mounts,
        "broken.yml: service `otel-collector` mounts `./platform/does-not-exist.yaml`",
    );

    let images = check_images_pinned(&doc, "broken.yml");
    assert_reports(&images, "uses the tag `latest`");
    assert_reports(
        &images,
        "`grafana/tempo:3` is not pinned to an exact version",
    );
    assert_reports(&images, "`quay.io/prometheus/prometheus` has no tag");
    assert_eq!(images.len(), 3, "{images:?}");

    let ports = check_ports_loopback(&doc, "broken.yml");
    assert_reports(&ports, "container port 4317 on every interface");
    assert_reports(&ports, "container port 4318 on 0.0.0.0");

    let deps = check_depends_on(&doc, "broken.yml");
    assert_reports(&deps, "depends on `nowhere`");
    assert_reports(
        &deps,
        "waits for `tempo` to be healthy but `tempo` has no healthcheck",
    );
}

#[test]
fn collector_checks_report_a_broken_collector_config() {
    let cfg = parse_yaml(BROKEN_COLLECTOR, "broken-collector.yaml").unwrap();
    let pipelines = check_collector_pipelines(&cfg, "broken-collector.yaml");
    assert_reports(
        &pipelines,
        "broken-collector.yaml: service.extensions names `health_check`",
    );
    assert_reports(
        &pipelines,
        "pipeline `traces` uses processors `batch`, which is not defined",
    );
    assert_reports(&pipelines, "pipeline `logs` uses receivers `filelog`");
    assert_reports(
        &pipelines,
        "pipeline `logs` uses exporters `otlp_http/nowhere`",
    );
    assert_reports(
        &pipelines,
        "pipeline `metrics` does not start with the memory_limiter",
    );

    // Listeners as the real compose file would give them, with Tempo bound to localhost.
    let mut listeners = Listeners::new();
    listeners
        .entry("tempo".into())
        .or_default()
        .insert(4317, false);
    listeners
        .entry("prometheus".into())
        .or_default()
        .insert(9090, true);
    let endpoints = check_collector_endpoints(&cfg, &listeners, "broken-collector.yaml");
    assert_reports(&endpoints, "`tempo` binds port 4317 to localhost only");
    assert_reports(&endpoints, "`loki` is not a service of the compose file");
    assert_reports(&endpoints, "listens on [9090], not on 9999");
    assert_reports(&endpoints, "exporter `otlp_grpc/tempo` would use TLS");
}

#[test]
fn the_real_platform_listeners_catch_a_tempo_bound_to_localhost() {
    // Tempo 2.7+ binds its OTLP receivers to localhost unless an address is given:
    // a config without endpoints must be reported as unreachable.
    let dir = std::env::temp_dir().join(format!("platform-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("tempo.yaml"),
        "distributor:\n  receivers:\n    otlp:\n      protocols:\n        grpc:\n",
    )
    .unwrap();
    let compose = parse_yaml(
        &format!(
            "services:\n  tempo:\n    image: grafana/tempo:3.0.3\n    command: [\"-config.file=/etc/tempo.yaml\"]\n    volumes:\n      - {}/tempo.yaml:/etc/tempo.yaml:ro\n",
            dir.display()
        ),
        "inline",
    )
    .unwrap();
    let (listeners, problems) = platform_listeners(&compose, &dir);
    assert!(problems.is_empty(), "{problems:?}");
    let p = check_endpoint_target("exporter", "tempo:4317", &listeners, "x.yaml");
    assert!(
        p.as_deref().is_some_and(|p| p.contains("localhost only")),
        "{p:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn promql_metric_names_are_extracted() {
    let q = r#"histogram_quantile(0.95, sum by (le, service) (rate(traces_spanmetrics_latency_bucket{service=~"$service", span_kind="SPAN_KIND_SERVER"}[$__rate_interval]))) / ignoring(x) rate(bogus_metric_total[5m]) or on() vector(0) + up"#;
    let names = promql_metric_names(q).unwrap();
    let expected: std::collections::BTreeSet<String> = [
        "traces_spanmetrics_latency_bucket",
        "bogus_metric_total",
        "up",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, expected);
    assert_eq!(
        promql_metric_names("label_values(traces_spanmetrics_calls_total, service)").unwrap(),
        ["traces_spanmetrics_calls_total".to_string()]
            .into_iter()
            .collect()
    );
    assert!(
        promql_metric_names("label_values(service)")
            .unwrap()
            .is_empty()
    );
    let broken = promql_metric_names("sum(rate(x_total[5m])").unwrap_err();
    assert!(broken.contains("does not parse as PromQL"), "{broken}");
}

#[test]
fn grafanas_variables_become_promql() {
    assert_eq!(
        substitute_grafana(r#"rate(x{service=~"${service:regex}", a="$a"}[$__rate_interval])"#),
        r#"rate(x{service=~"x", a="x"}[1m])"#
    );
    assert_eq!(
        substitute_grafana("increase(y[${__range}])"),
        "increase(y[1m])"
    );
    assert_eq!(
        substitute_grafana("label_values(up{job=\"$job\"}, instance)"),
        "up{job=\"x\"}"
    );
}

#[test]
fn interpolation_and_endpoints_parse_as_compose_and_the_collector_mean_them() {
    assert_eq!(
        interpolate_defaults("--config=/x/${OTELCOL_OVERLAY:-quiet}.yaml"),
        "--config=/x/quiet.yaml"
    );
    assert_eq!(interpolate_defaults("$${x} ${UNSET}"), "${x} ");
    let e = Endpoint::parse("http://prometheus:9090/api/v1/otlp").unwrap();
    assert_eq!(
        (e.host.as_str(), e.port, e.path.as_str()),
        ("prometheus", Some(9090), "/api/v1/otlp")
    );
    let e = Endpoint::parse("0.0.0.0:4317").unwrap();
    assert!(e.binds_all_interfaces("x"));
    assert!(
        !Endpoint::parse("localhost:4317")
            .unwrap()
            .binds_all_interfaces("x")
    );
    assert_eq!(
        collector_env_defaults(
            "a: ${env:TEMPO_ADDRESS:-tempo:4317}\nb: http://${PROM:-prometheus:9090}/x",
            "c.yaml"
        )
        .unwrap(),
        "a: tempo:4317\nb: http://prometheus:9090/x"
    );
    let no_default = collector_env_defaults("a: ${env:TEMPO_ADDRESS}", "c.yaml").unwrap_err();
    assert!(
        no_default.contains("c.yaml") && no_default.contains("no default"),
        "{no_default}"
    );
    assert_eq!(image_version_problem("grafana/loki:3.7.6"), None);
    assert!(image_version_problem("grafana/loki:3.7").is_some());
}

#[test]
fn histogram_quantiles_that_lose_their_buckets_are_reported() {
    let good = "histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket{service_name=~\"$service\"}[5m])))";
    assert_eq!(histogram_quantile_problems(good), Vec::<String>::new());
    let postfix = "histogram_quantile(0.5, sum(rate(x_bucket[5m])) by (le))";
    assert_eq!(histogram_quantile_problems(postfix), Vec::<String>::new());

    let no_le = "histogram_quantile(0.95, sum by (service_name) (rate(http_server_request_duration_seconds_bucket[5m])))";
    let problems = histogram_quantile_problems(no_le);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("`sum` inside histogram_quantile drops the `le` label"));

    let no_grouping = "histogram_quantile(0.95, sum(rate(x_bucket[5m])))";
    assert_eq!(histogram_quantile_problems(no_grouping).len(), 1);

    let without_le = "histogram_quantile(0.95, sum without (le) (rate(x_bucket[5m])))";
    assert_eq!(histogram_quantile_problems(without_le).len(), 1);

    let count = "histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_count[5m])))";
    let problems = histogram_quantile_problems(count);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("not a histogram's `_bucket` series"));
}

#[test]
fn collector_self_metrics_checks_report_a_missing_panel_port_scrape_or_escaping() {
    let files = ("dash.json", "otelcol.yaml", "prom.yaml");
    let promql = |exprs: &[&str]| -> Vec<(String, String)> {
        exprs
            .iter()
            .map(|e| ("panel \"x\"".to_owned(), (*e).to_owned()))
            .collect()
    };
    let row = promql(&[
        "sum(rate(otelcol_receiver_accepted_spans[5m]))",
        "sum(rate(otelcol_receiver_refused_spans[5m]))",
        "sum by (exporter) (rate(otelcol_exporter_sent_spans[5m]))",
        "max(otelcol_exporter_queue_size)",
    ]);
    let collector = parse_yaml(
        "service:\n  telemetry:\n    metrics:\n      readers:\n        - pull:\n            exporter:\n              prometheus:\n                host: 0.0.0.0\n                port: 8888\n",
        "otelcol.yaml",
    )
    .unwrap();
    let scraped = |extra: &str| {
        parse_yaml(
            &format!(
                "scrape_configs:\n  - job_name: otel-collector\n{extra}    static_configs:\n      - targets: [\"otel-collector:8888\"]\n"
            ),
            "prom.yaml",
        )
        .unwrap()
    };
    let good = scraped("    metric_name_escaping_scheme: underscores\n");
    assert_eq!(
        check_collector_self_metrics(&row, &collector, "otel-collector", &good, files),
        Vec::<String>::new()
    );

    // A panel short.
    let problems =
        check_collector_self_metrics(&row[..3], &collector, "otel-collector", &good, files);
    assert_reports(
        &problems,
        "dash.json: no panel shows the collector's `otelcol_exporter_queue_size`",
    );
    // The collector serves nothing to scrape.
    let silent = parse_yaml(
        "service:\n  telemetry:\n    logs:\n      level: info\n",
        "otelcol.yaml",
    )
    .unwrap();
    let problems = check_collector_self_metrics(&row, &silent, "otel-collector", &good, files);
    assert_reports(
        &problems,
        "otelcol.yaml: the collector serves no metrics of its own",
    );
    // Prometheus scrapes another host.
    let problems = check_collector_self_metrics(&row, &collector, "collector", &good, files);
    assert_reports(
        &problems,
        "prom.yaml: no scrape job reads the collector's own metrics at collector:8888",
    );
    // Prometheus keeps the dotted names.
    let problems =
        check_collector_self_metrics(&row, &collector, "otel-collector", &scraped(""), files);
    assert_reports(&problems, "set `metric_name_escaping_scheme: underscores`");
}

/// Section 6 gone wrong: the sampler in front of the service graph, no span metrics at all,
/// a service graph whose metrics go nowhere, and an overlay's pipeline without the redaction.
const SAMPLED_GRAPH: &str = r#"
receivers:
  otlp: {}
processors:
  memory_limiter: {}
  transform/redact: {}
  tail_sampling: {}
connectors:
  service_graph: {}
exporters:
  debug: {}
  otlp_http/prometheus:
    endpoint: http://prometheus:9090/api/v1/otlp
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, transform/redact, tail_sampling]
      exporters: [service_graph]
    traces/debug:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [debug]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, transform/redact]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [otlp_http/prometheus]
"#;

#[test]
fn metrics_from_sampled_spans_and_unredacted_pipelines_are_reported() {
    let cfg = parse_yaml(SAMPLED_GRAPH, "sampled.yaml").unwrap();
    let problems = check_span_metrics_before_sampling(&cfg, "sampled.yaml");
    assert_reports(
        &problems,
        "sampled.yaml: pipeline `traces` samples (tail_sampling) before `service_graph`",
    );
    assert_reports(&problems, "sampled.yaml: no `span_metrics` connector");
    assert_reports(
        &problems,
        "sampled.yaml: no metrics pipeline receives from `service_graph`",
    );
    let problems = check_every_pipeline_redacts(&cfg, "sampled.yaml");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_reports(
        &problems,
        "sampled.yaml: pipeline `traces/debug` sends to [\"debug\"] without `transform/redact`",
    );
}
