//! docker-compose.yml and the configs under platform/, checked without Docker.

use platform_check::*;

pub(crate) const COMPOSE: &str = "docker-compose.yml";
const JAEGER_COMPOSE: &str = "platform/jaeger/compose.yml";
pub(crate) const ROOM_COMPOSE: &str = "docker-compose.room.yml";

pub(crate) fn compose() -> Value {
    load_yaml(COMPOSE)
}

/// docker-compose.yml with platform/jaeger/compose.yml merged on top.
fn compose_with_jaeger() -> Value {
    merge_compose(&compose(), &load_yaml(JAEGER_COMPOSE))
}

/// docker-compose.yml with docker-compose.room.yml merged on top (the room's platform).
pub(crate) fn compose_with_room() -> Value {
    merge_compose(&compose(), &load_yaml(ROOM_COMPOSE))
}

pub(crate) fn service(doc: &Value, name: &str) -> Value {
    compose_services(doc)
        .remove(name)
        .unwrap_or_else(|| panic!("{COMPOSE}: no service `{name}`"))
}

pub(crate) fn collector_service_name(doc: &Value) -> String {
    compose_services(doc)
        .into_iter()
        .find(|(_, s)| {
            get_str(s, &["image"]).is_some_and(|i| i.contains("opentelemetry-collector-contrib"))
        })
        .map(|(n, _)| n)
        .unwrap_or_else(|| panic!("{COMPOSE}: no service runs the collector contrib image"))
}

#[test]
fn compose_files_parse_and_have_the_five_components() {
    let doc = compose();
    let images: Vec<String> = compose_services(&doc)
        .values()
        .filter_map(|s| get_str(s, &["image"]).map(str::to_owned))
        .collect();
    for wanted in [
        "opentelemetry-collector-contrib",
        "prometheus/prometheus:v3.",
        "grafana/loki:3.",
        "grafana/tempo:",
        "grafana/grafana:",
    ] {
        assert!(
            images.iter().any(|i| i.contains(wanted)),
            "{COMPOSE}: no service runs an image matching `{wanted}` (images: {images:?})"
        );
    }
    let jaeger = load_yaml(JAEGER_COMPOSE);
    assert!(
        compose_services(&jaeger).contains_key("jaeger"),
        "{JAEGER_COMPOSE}: no `jaeger` service"
    );
}

#[test]
fn every_mounted_config_file_exists() {
    let root = repo_root();
    let mut problems = check_mounts_exist(&compose(), COMPOSE, &root);
    problems.extend(check_mounts_exist(
        &load_yaml(JAEGER_COMPOSE),
        JAEGER_COMPOSE,
        &root,
    ));
    // Every config file a command names must be mounted from the repository.
    for (name, svc) in compose_services(&compose_with_jaeger()) {
        for flag in ["config", "config.file"] {
            for value in flag_values(&command_args(&svc), flag) {
                let value = value.trim_start_matches("file:");
                match host_path_of(&svc, value, &root) {
                    None => problems.push(format!(
                        "{COMPOSE}: service `{name}` reads {value}, which is not mounted from the repository"
                    )),
                    Some(p) if !p.is_file() => problems.push(format!(
                        "{COMPOSE}: service `{name}` reads {value} = {}, which does not exist",
                        p.display()
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    // Both collector overlays that OTELCOL_OVERLAY can select exist.
    for overlay in ["quiet", "debug", "jaeger"] {
        let p = root.join(format!("platform/otel-collector/overlays/{overlay}.yaml"));
        if !p.is_file() {
            problems.push(format!(
                "platform/otel-collector/overlays/{overlay}.yaml does not exist"
            ));
        }
    }
    assert_no_problems("mounted files", &problems);
}

#[test]
fn every_image_has_an_exact_version_tag() {
    let mut problems = check_images_pinned(&compose(), COMPOSE);
    // The Jaeger file only extends the collector and Grafana: check it merged.
    problems.extend(check_images_pinned(
        &compose_with_jaeger(),
        &format!("{COMPOSE} + {JAEGER_COMPOSE}"),
    ));
    assert_no_problems("image tags", &problems);
}

#[test]
fn only_grafana_prometheus_and_otlp_are_published_and_only_on_loopback() {
    let doc = compose_with_jaeger();
    let mut problems = check_ports_loopback(&compose(), COMPOSE);
    problems.extend(check_ports_loopback(
        &load_yaml(JAEGER_COMPOSE),
        JAEGER_COMPOSE,
    ));
    let mut published: Vec<(String, String)> = Vec::new();
    for (name, svc) in compose_services(&compose()) {
        for p in published_ports(&svc) {
            published.push((name.clone(), p.container_port));
        }
    }
    published.sort();
    let collector = collector_service_name(&doc);
    let mut expected = vec![
        ("grafana".to_owned(), "3000".to_owned()),
        (collector.clone(), "4317".to_owned()),
        (collector, "4318".to_owned()),
        ("prometheus".to_owned(), "9090".to_owned()),
    ];
    expected.sort();
    if published != expected {
        problems.push(format!(
            "{COMPOSE}: published ports are {published:?}, expected exactly {expected:?}"
        ));
    }
    assert_no_problems("published ports", &problems);
}

#[test]
fn depends_on_names_services_with_healthchecks() {
    let mut problems = check_depends_on(&compose(), COMPOSE);
    problems.extend(check_depends_on(
        &compose_with_jaeger(),
        &format!("{COMPOSE} + {JAEGER_COMPOSE}"),
    ));
    // The collector starts after its three backends are healthy.
    let doc = compose();
    let deps = depends_on(&service(&doc, &collector_service_name(&doc)));
    for backend in ["tempo", "prometheus", "loki"] {
        if deps.get(backend).map(String::as_str) != Some("service_healthy") {
            problems.push(format!(
                "{COMPOSE}: the collector does not wait for `{backend}` to be healthy (depends_on: {deps:?})"
            ));
        }
    }
    for backend in ["tempo", "prometheus", "loki", "grafana"] {
        if service(&doc, backend).get("healthcheck").is_none() {
            problems.push(format!("{COMPOSE}: `{backend}` has no healthcheck"));
        }
    }
    assert_no_problems("depends_on", &problems);
}

/// The collector config with each overlay the compose files can select.
fn collector_variants() -> Vec<(String, Value)> {
    let root = repo_root();
    let mut out = Vec::new();
    for (label, doc) in [
        (COMPOSE.to_owned(), compose()),
        (
            format!("{COMPOSE} + {JAEGER_COMPOSE}"),
            compose_with_jaeger(),
        ),
    ] {
        let svc = service(&doc, &collector_service_name(&doc));
        for overlay in ["quiet", "debug"] {
            // OTELCOL_OVERLAY=<overlay>: replace the compose default by hand.
            let mut svc = svc.clone();
            if let Some(Value::Sequence(cmd)) = svc.get_mut("command") {
                for arg in cmd.iter_mut() {
                    if let Value::String(s) = arg {
                        *s = s.replace("${OTELCOL_OVERLAY:-quiet}", overlay);
                    }
                }
            }
            let (cfg, problems) = collector_config(&svc, &root, &label);
            assert_no_problems(&format!("{label}, collector config"), &problems);
            out.push((format!("{label} (OTELCOL_OVERLAY={overlay})"), cfg));
        }
    }
    // The room names its overlays itself.
    let room = compose_with_room();
    let label = format!("{COMPOSE} + {ROOM_COMPOSE}");
    let (cfg, problems) = collector_config(
        &service(&room, &collector_service_name(&room)),
        &root,
        &label,
    );
    assert_no_problems(&format!("{label}, collector config"), &problems);
    out.push((label, cfg));
    out
}

#[test]
fn collector_pipelines_use_only_defined_components() {
    let mut problems = Vec::new();
    for (label, cfg) in collector_variants() {
        problems.extend(check_collector_pipelines(&cfg, &label));
    }
    assert_no_problems("collector pipelines", &problems);
}

#[test]
fn the_collector_computes_the_span_metrics_and_the_service_graph_from_every_span() {
    let mut problems = Vec::new();
    for (label, cfg) in collector_variants() {
        problems.extend(check_span_metrics_before_sampling(&cfg, &label));
        problems.extend(check_every_pipeline_redacts(&cfg, &label));
    }
    assert_no_problems("metrics from spans", &problems);
}

#[test]
fn collector_exporters_send_to_services_on_ports_they_listen_on() {
    let root = repo_root();
    let mut problems = Vec::new();
    for (label, cfg) in collector_variants() {
        let doc = if label.contains(JAEGER_COMPOSE) {
            compose_with_jaeger()
        } else if label.contains(ROOM_COMPOSE) {
            compose_with_room()
        } else {
            compose()
        };
        let (listeners, p) = platform_listeners(&doc, &root);
        problems.extend(p);
        problems.extend(check_collector_endpoints(&cfg, &listeners, &label));
    }
    assert_no_problems("collector exporter endpoints", &problems);
}

#[test]
fn collector_receives_otlp_on_4317_and_4318_for_browsers_too_and_is_quiet_by_default() {
    let (label, cfg) = collector_variants().remove(0);
    let mut problems = Vec::new();
    for (proto, port) in [("grpc", "4317"), ("http", "4318")] {
        let ep =
            get_str(&cfg, &["receivers", "otlp", "protocols", proto, "endpoint"]).unwrap_or("");
        if ep != format!("0.0.0.0:{port}") {
            problems.push(format!("{label}: receivers.otlp.protocols.{proto}.endpoint is `{ep}`, expected 0.0.0.0:{port}"));
        }
    }
    if strings(get(
        &cfg,
        &[
            "receivers",
            "otlp",
            "protocols",
            "http",
            "cors",
            "allowed_origins",
        ],
    ))
    .is_empty()
    {
        problems.push(format!(
            "{label}: OTLP/HTTP has no CORS allowed_origins (a browser page could not send)"
        ));
    }
    if get(&cfg, &["extensions", "health_check"]).is_none()
        || !strings(get(&cfg, &["service", "extensions"])).contains(&"health_check".to_owned())
    {
        problems.push(format!(
            "{label}: the health_check extension is not enabled"
        ));
    }
    if get(&cfg, &["exporters", "debug"]).is_none() {
        problems.push(format!("{label}: no debug exporter defined"));
    }
    if used_exporters(&cfg)
        .iter()
        .any(|e| component_type(e) == "debug")
    {
        problems.push(format!(
            "{label}: the debug exporter is in a pipeline by default"
        ));
    }
    // Each signal reaches its backend.
    for (signal, exporter) in [
        ("traces", "otlp_grpc/tempo"),
        ("metrics", "otlp_http/prometheus"),
        ("logs", "otlp_http/loki"),
    ] {
        if !strings(get(&cfg, &["service", "pipelines", signal, "exporters"]))
            .contains(&exporter.to_owned())
        {
            problems.push(format!(
                "{label}: the {signal} pipeline does not export with `{exporter}`"
            ));
        }
    }
    let (jlabel, jcfg) = collector_variants()
        .into_iter()
        .find(|(l, _)| l.contains(JAEGER_COMPOSE))
        .expect("a jaeger variant");
    let to_jaeger = get(&jcfg, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.as_str().map(component_type) == Some("traces"))
        .any(|(_, p)| {
            strings(p.get("exporters"))
                .iter()
                .any(|e| e == "otlp_grpc/jaeger")
        });
    if !to_jaeger {
        problems.push(format!("{jlabel}: no traces pipeline sends to Jaeger"));
    }
    assert_no_problems("collector receivers and defaults", &problems);
}

#[test]
fn prometheus_is_started_with_the_receivers_the_collector_and_tempo_write_to() {
    let root = repo_root();
    let doc = compose();
    let prom = service(&doc, "prometheus");
    let args = command_args(&prom);
    let mut problems = Vec::new();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let features: Vec<String> = flag_values(&args, "enable-feature")
        .iter()
        .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();

    // What the collector writes to Prometheus.
    let (_, cfg) = collector_variants().remove(0);
    let otlp_to_prometheus = cfg
        .get("exporters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(_, e)| get_str(e, &["endpoint"]))
        .filter_map(Endpoint::parse)
        .any(|e| e.host == "prometheus" && e.path.starts_with("/api/v1/otlp"));
    if !otlp_to_prometheus {
        problems.push(
            "platform/otel-collector/config.yaml: no exporter writes to Prometheus' /api/v1/otlp"
                .to_owned(),
        );
    }
    if otlp_to_prometheus && !has("--web.enable-otlp-receiver") {
        problems.push(format!("{COMPOSE}: the collector writes OTLP to Prometheus but Prometheus lacks --web.enable-otlp-receiver"));
    }

    // The span metrics' exemplars (trace ids) arrive over OTLP from the collector.
    if get(
        &cfg,
        &["connectors", "span_metrics", "exemplars", "enabled"],
    )
    .and_then(Value::as_bool)
        == Some(true)
        && !features.iter().any(|f| f == "exemplar-storage")
    {
        problems.push(format!("{COMPOSE}: the collector sends span metrics with exemplars but Prometheus lacks --enable-feature=exemplar-storage"));
    }

    // What Tempo's metrics-generator would write to Prometheus: nothing since the
    // collector makes the service graph; if it ever remote-writes again, Prometheus must
    // take it, and otherwise its remote-write receiver stays closed.
    let tempo = load_yaml("platform/tempo/tempo.yaml");
    let (listeners, p) = platform_listeners(&doc, &root);
    problems.extend(p);
    let remote_writes = get(&tempo, &["metrics_generator", "storage", "remote_write"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    if remote_writes.is_empty() && has("--web.enable-remote-write-receiver") {
        problems.push(format!(
            "{COMPOSE}: Prometheus opens its remote-write receiver, but nothing remote-writes to it"
        ));
    }
    for rw in &remote_writes {
        let url = get_str(rw, &["url"]).unwrap_or("");
        if let Some(p) = check_endpoint_target(
            "metrics_generator remote_write",
            url,
            &listeners,
            "platform/tempo/tempo.yaml",
        ) {
            problems.push(p);
        }
        if Endpoint::parse(url).is_some_and(|e| e.host == "prometheus") {
            if !has("--web.enable-remote-write-receiver") {
                problems.push(format!("{COMPOSE}: Tempo remote-writes to Prometheus but Prometheus lacks --web.enable-remote-write-receiver"));
            }
            if !url.ends_with("/api/v1/write") {
                problems.push(format!("platform/tempo/tempo.yaml: remote_write url `{url}` is not Prometheus' /api/v1/write"));
            }
            if get(rw, &["send_exemplars"]).and_then(Value::as_bool) == Some(true)
                && !features.iter().any(|f| f == "exemplar-storage")
            {
                problems.push(format!("{COMPOSE}: Tempo sends exemplars but Prometheus lacks --enable-feature=exemplar-storage"));
            }
        }
    }

    // The Prometheus config itself.
    let config = config_file_of(&prom, &root).expect("prometheus config mounted");
    let pcfg = load_yaml(config.strip_prefix(&root).unwrap().to_str().unwrap());
    let promoted = strings(get(&pcfg, &["otlp", "promote_resource_attributes"]));
    for attr in [
        "service.name",
        "service.namespace",
        "service.version",
        "deployment.environment.name",
    ] {
        if !promoted.iter().any(|a| a == attr) {
            problems.push(format!("platform/prometheus/prometheus.yaml: otlp.promote_resource_attributes lacks `{attr}`"));
        }
    }
    if get_str(&pcfg, &["otlp", "translation_strategy"])
        .is_some_and(|s| s != "UnderscoreEscapingWithSuffixes")
    {
        problems.push("platform/prometheus/prometheus.yaml: translation_strategy is not UnderscoreEscapingWithSuffixes, metric names in the workshop would differ".to_owned());
    }
    // Prometheus 3 deprecates the retention flags: the config file says how long.
    for flag in args
        .iter()
        .filter(|a| a.starts_with("--storage.tsdb.retention"))
    {
        problems.push(format!(
            "{COMPOSE}: `{flag}` is deprecated in Prometheus 3: set storage.tsdb.retention in the config file"
        ));
    }
    if get_str(&pcfg, &["storage", "tsdb", "retention", "time"]).is_none() {
        problems
            .push("platform/prometheus/prometheus.yaml: no storage.tsdb.retention.time".to_owned());
    }
    match get_str(&pcfg, &["storage", "tsdb", "out_of_order_time_window"]) {
        None | Some("0s") | Some("0") => problems.push(
            "platform/prometheus/prometheus.yaml: no storage.tsdb.out_of_order_time_window"
                .to_owned(),
        ),
        Some(_) => {}
    }
    assert_no_problems("prometheus receivers", &problems);
}

#[test]
fn tempo_receives_from_compose_and_generates_neither_the_service_graph_nor_span_metrics() {
    let tempo = load_yaml("platform/tempo/tempo.yaml");
    let mut problems = Vec::new();
    const F: &str = "platform/tempo/tempo.yaml";
    for key in ["ingester", "compactor"] {
        if tempo.get(key).is_some() {
            problems.push(format!("{F}: has a `{key}` block, which Tempo 3 removed"));
        }
    }
    // Tempo 3 refuses the flat legacy overrides (e.g. overrides.metrics_generator_processors).
    for k in keys(tempo.get("overrides")) {
        if !matches!(
            k.as_str(),
            "defaults"
                | "per_tenant_override_config"
                | "per_tenant_override_period"
                | "user_configurable_overrides"
        ) {
            problems.push(format!("{F}: overrides.{k} is a legacy flat override key"));
        }
    }
    // The collector's connectors make the RED metrics and the service graph from every
    // span; Tempo's processors would write a second copy of each, from the sampled traces
    // (the service graph under the very same names).
    let processors = strings(get(
        &tempo,
        &["overrides", "defaults", "metrics_generator", "processors"],
    ));
    let (_, collector) = collector_variants().remove(0);
    for (processor, connector) in [
        ("span-metrics", "span_metrics"),
        ("service-graphs", "service_graph"),
    ] {
        let in_collector = keys(collector.get("connectors"))
            .iter()
            .any(|id| component_type(id) == connector);
        if processors.iter().any(|x| x == processor) && in_collector {
            problems.push(format!(
                "{F}: Tempo's {processor} processor is on, but the collector's {connector} connector already computes it"
            ));
        }
    }
    let (listeners, p) = platform_listeners(&compose(), &repo_root());
    problems.extend(p);
    for port in [4317u16, 3200] {
        match listeners.get("tempo").and_then(|l| l.get(&port)) {
            Some(true) => {}
            Some(false) => problems.push(format!("{F}: port {port} is bound to localhost only")),
            None => problems.push(format!("{F}: Tempo does not listen on {port}")),
        }
    }
    if get(&tempo, &["stream_over_http_enabled"]).and_then(Value::as_bool) != Some(true) {
        problems.push(format!(
            "{F}: stream_over_http_enabled is not true (Grafana's streaming search)"
        ));
    }
    assert_no_problems("tempo", &problems);
}

#[test]
fn loki_takes_otlp_with_structured_metadata() {
    let loki = load_yaml("platform/loki/loki.yaml");
    let mut problems = Vec::new();
    const F: &str = "platform/loki/loki.yaml";
    if get(&loki, &["limits_config", "allow_structured_metadata"]).and_then(Value::as_bool)
        == Some(false)
    {
        problems.push(format!(
            "{F}: allow_structured_metadata is false: OTLP logs would be rejected"
        ));
    }
    let schemas = get(&loki, &["schema_config", "configs"])
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    if !schemas
        .iter()
        .any(|s| get_str(s, &["schema"]) == Some("v13") && get_str(s, &["store"]) == Some("tsdb"))
    {
        problems.push(format!(
            "{F}: no tsdb/v13 schema (structured metadata needs it)"
        ));
    }
    // If the default index labels are replaced, service.name must stay one of them.
    if get(
        &loki,
        &[
            "limits_config",
            "otlp_config",
            "resource_attributes",
            "ignore_defaults",
        ],
    )
    .and_then(Value::as_bool)
        == Some(true)
    {
        problems.push(format!(
            "{F}: otlp_config ignores the default index labels; service_name would disappear"
        ));
    }
    assert_no_problems("loki", &problems);
}

/// The collector config with overlays, read as the collector reads them (defaults of
/// `${env:…}` filled in).
fn collector_with(overlays: &[&str]) -> Value {
    let root = repo_root();
    let mut merged = Value::Mapping(Default::default());
    let files = std::iter::once("platform/otel-collector/config.yaml".to_owned()).chain(
        overlays
            .iter()
            .map(|o| format!("platform/otel-collector/overlays/{o}.yaml")),
    );
    for file in files {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        let text = collector_env_defaults(&text, &file).unwrap_or_else(|e| panic!("{e}"));
        merge(&mut merged, &parse_yaml(&text, &file).unwrap());
    }
    merged
}

/// (pipeline, exporter) pairs of a collector config.
fn pipeline_exporters(cfg: &Value) -> std::collections::BTreeSet<(String, String)> {
    get(cfg, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .flat_map(|(name, p)| {
            let name = name.as_str().unwrap_or("?").to_owned();
            strings(p.get("exporters"))
                .into_iter()
                .map(move |e| (name.clone(), e))
        })
        .collect()
}

#[test]
fn collector_overlays_combine_without_dropping_each_others_exporters() {
    // Lists are replaced when configs merge: an overlay that restates a base list drops
    // whatever another overlay added (debug + jaeger used to lose the debug exporter).
    let both = pipeline_exporters(&collector_with(&["debug", "jaeger"]));
    let mut problems = Vec::new();
    for overlay in ["debug", "jaeger", "quiet"] {
        for (pipeline, exporter) in pipeline_exporters(&collector_with(&[overlay])) {
            if !both.contains(&(pipeline.clone(), exporter.clone())) {
                problems.push(format!(
                    "with the debug and jaeger overlays together, pipeline `{pipeline}` no longer exports to `{exporter}` (as it does with {overlay}.yaml alone)"
                ));
            }
        }
    }
    assert_no_problems("collector overlays", &problems);
}

#[test]
fn the_builder_manifest_is_at_the_release_compose_runs() {
    const MANIFEST: &str = "platform/otel-collector/builder.yaml";
    let manifest = load_yaml(MANIFEST);
    let doc = compose();
    let image = get_str(&service(&doc, &collector_service_name(&doc)), &["image"])
        .unwrap_or_default()
        .to_owned();
    let release = image_tag(&image).unwrap_or_default().to_owned();
    let mut problems = Vec::new();
    if get_str(&manifest, &["dist", "version"]) != Some(release.as_str()) {
        problems.push(format!(
            "{MANIFEST}: dist.version is {:?}, but {COMPOSE} runs {image}",
            get_str(&manifest, &["dist", "version"])
        ));
    }
    // Every module at one release: v0.<release> (the stable core modules, v1.x, share one
    // version among themselves).
    let mut stable = std::collections::BTreeSet::new();
    for kind in [
        "receivers",
        "processors",
        "exporters",
        "connectors",
        "extensions",
        "providers",
    ] {
        for entry in get(&manifest, &[kind])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let gomod = get_str(entry, &["gomod"]).unwrap_or("");
            let Some((module, version)) = gomod.split_once(' ') else {
                problems.push(format!("{MANIFEST}: `{gomod}` is not `module version`"));
                continue;
            };
            if version.starts_with("v1.") {
                stable.insert(version.to_owned());
            } else if version != format!("v{release}") {
                problems.push(format!(
                    "{MANIFEST}: {module} is at {version}, not v{release} like the image"
                ));
            }
        }
    }
    if stable.len() > 1 {
        problems.push(format!(
            "{MANIFEST}: the stable modules mix versions {stable:?}"
        ));
    }
    assert_no_problems("builder manifest", &problems);
}

#[test]
fn grafana_starts_offline_without_downloading_plugins() {
    // Grafana 13 installs its Drilldown apps from grafana.com at first start; at a venue
    // without network that fails and Grafana logs errors. The pre-install is off unless
    // asked for (platform/README.md, "Grafana offline").
    let env = environment(&service(&compose(), "grafana"));
    let value = env
        .get("GF_PLUGINS_PREINSTALL_DISABLED")
        .map(|v| interpolate_defaults(v));
    assert_eq!(
        value.as_deref(),
        Some("true"),
        "{COMPOSE}: grafana's GF_PLUGINS_PREINSTALL_DISABLED must default to true (is {value:?})"
    );
    for key in env.keys() {
        assert!(
            !key.starts_with("GF_PLUGINS_PREINSTALL") || key == "GF_PLUGINS_PREINSTALL_DISABLED",
            "{COMPOSE}: grafana's {key} asks for plugins from the internet"
        );
    }
}

#[test]
fn loki_is_ready_in_about_a_second() {
    const F: &str = "platform/loki/loki.yaml";
    let loki = load_yaml(F);
    let mut problems = Vec::new();
    for path in [
        &["ingester", "lifecycler", "min_ready_duration"][..],
        &["frontend", "scheduler_dns_lookup_period"][..],
    ] {
        if get_str(&loki, path) != Some("1s") {
            problems.push(format!(
                "{F}: {} is {:?}, not 1s (the defaults make /ready wait about 25 s)",
                path.join("."),
                get_str(&loki, path)
            ));
        }
    }
    assert_no_problems("loki readiness", &problems);
}

/// The dashboard's Collector row (section 6) shows what the collector takes in, refuses,
/// sends on and queues, and those metrics reach Prometheus: compose's collector serves
/// them, prometheus.yaml scrapes it under the names the dashboard queries.
#[test]
fn the_dashboards_collector_row_reads_metrics_prometheus_scrapes_from_the_collector() {
    const DASHBOARD: &str = "platform/grafana/dashboards/iss-workshop.json";
    const PROMETHEUS: &str = "platform/prometheus/prometheus.yaml";
    let datasources = load_yaml("platform/grafana/provisioning/datasources/datasources.yaml");
    let prometheus_uids: std::collections::BTreeSet<String> = get(&datasources, &["datasources"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter(|d| get_str(d, &["type"]) == Some("prometheus"))
        .filter_map(|d| get_str(d, &["uid"]).map(str::to_owned))
        .collect();
    let text = std::fs::read_to_string(repo_root().join(DASHBOARD)).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let promql = dashboard_promql(&dashboard, &prometheus_uids);
    let doc = compose();
    let host = collector_service_name(&doc);
    let mut problems = Vec::new();
    for (label, cfg) in collector_variants() {
        problems.extend(check_collector_self_metrics(
            &promql,
            &cfg,
            &host,
            &load_yaml(PROMETHEUS),
            (DASHBOARD, &label, PROMETHEUS),
        ));
    }
    assert_no_problems("the collector's own metrics", &problems);
}
