//! The room's platform, checked without Docker: docker-compose.room.yml on top of
//! docker-compose.yml (what it publishes on the network, and how), the room's collector
//! overlay (every OTLP request authenticated, every resource labelled from the token), and
//! the backends' settings for the label (Prometheus promotes it, Loki indexes it).
//! Loki and Grafana are AGPL: only their files are read, never run.

use platform_check::*;

use crate::platform::{
    COMPOSE, ROOM_COMPOSE, collector_service_name, compose, compose_with_room, service,
};

/// Where the room's own files (the token file, the TLS files) are mounted in the collector.
const ROOM_MOUNT: &str = "/etc/otelcol/room";

fn room_collector() -> (Value, Value) {
    let doc = compose_with_room();
    let svc = service(&doc, &collector_service_name(&doc));
    let (cfg, problems) = collector_config(&svc, &repo_root(), ROOM_COMPOSE);
    assert_no_problems("the room's collector config", &problems);
    (svc, cfg)
}

/// The bind mount of the room's directory: required from ROOM_DIR, read-only.
#[test]
fn the_room_directory_is_mounted_read_only_from_room_dir() {
    let (svc, _) = room_collector();
    let mounts: Vec<&Value> = svc
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter(|v| get_str(v, &["target"]) == Some(ROOM_MOUNT))
        .collect();
    assert_eq!(mounts.len(), 1, "{ROOM_COMPOSE}: one mount at {ROOM_MOUNT}");
    let mount = mounts[0];
    let source = get_str(mount, &["source"]).unwrap_or_default();
    assert!(
        source.starts_with("${ROOM_DIR:?"),
        "{ROOM_COMPOSE}: the room's directory comes from ROOM_DIR, which compose then requires: {source}"
    );
    assert_eq!(
        get(mount, &["read_only"]).and_then(Value::as_bool),
        Some(true)
    );
    // Every other bind mount is of a file of the repository that exists.
    for m in bind_mounts(&svc).iter().filter(|m| m.target != ROOM_MOUNT) {
        let path = repo_root().join(m.source.trim_start_matches("./"));
        assert!(path.exists(), "{ROOM_COMPOSE}: {} does not exist", m.source);
    }
}

/// OTLP on every interface, both protocols, and nothing else new; Prometheus stays on
/// loopback, Tempo and Loki stay unpublished; Grafana opens to the network.
#[test]
fn the_room_publishes_otlp_and_grafana_on_the_network_and_nothing_else() {
    let doc = compose_with_room();
    let mut published: Vec<(String, Option<String>, String)> = Vec::new();
    for (name, svc) in compose_services(&doc) {
        for p in published_ports(&svc) {
            published.push((name.clone(), p.host_ip, p.container_port));
        }
    }
    published.sort();
    let collector = collector_service_name(&doc);
    let mut expected = vec![
        ("grafana".to_owned(), None, "3000".to_owned()),
        (collector.clone(), None, "4317".to_owned()),
        (collector, None, "4318".to_owned()),
        (
            "prometheus".to_owned(),
            Some("127.0.0.1".to_owned()),
            "9090".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(
        published, expected,
        "{COMPOSE} + {ROOM_COMPOSE}: (service, host address, port) published"
    );
}

/// Grafana on the network is read-only for everyone: anonymous Viewers, no login.
#[test]
fn grafana_in_the_room_is_read_only_for_everyone() {
    let grafana = service(&compose_with_room(), "grafana");
    let env = environment(&grafana);
    for (key, value) in [
        ("GF_AUTH_ANONYMOUS_ENABLED", "true"),
        ("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer"),
        ("GF_AUTH_DISABLE_LOGIN_FORM", "true"),
        ("GF_AUTH_BASIC_ENABLED", "false"),
    ] {
        assert_eq!(
            env.get(key).map(String::as_str),
            Some(value),
            "{COMPOSE} + {ROOM_COMPOSE}: grafana's {key}"
        );
    }
    // The room changes the role only: docker-compose.yml alone stays as it was.
    let alone = environment(&service(&compose(), "grafana"));
    assert_eq!(
        alone.get("GF_AUTH_ANONYMOUS_ORG_ROLE").map(String::as_str),
        Some("Admin")
    );
}

/// Both OTLP protocols: TLS from the room's files, a token checked by the room's
/// bearertokenauth (its token file in the room's directory), and the request's headers
/// kept for the processors.
#[test]
fn the_rooms_collector_takes_otlp_only_over_tls_with_a_token() {
    let (_, cfg) = room_collector();
    let extensions = strings(get(&cfg, &["service", "extensions"]));
    for protocol in ["grpc", "http"] {
        let at = |key: &[&str]| {
            let mut path = vec!["receivers", "otlp", "protocols", protocol];
            path.extend(key);
            get(&cfg, &path).cloned()
        };
        let label = format!("{ROOM_COMPOSE}: receivers.otlp.protocols.{protocol}");
        let authenticator = at(&["auth", "authenticator"])
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("{label} has no auth.authenticator"));
        assert_eq!(component_type(&authenticator), "bearertokenauth", "{label}");
        assert!(
            extensions.contains(&authenticator),
            "{label}: {authenticator} is not among service.extensions {extensions:?}"
        );
        let tokens = get_str(&cfg, &["extensions", &authenticator, "filename"]).unwrap_or("");
        assert!(
            tokens.starts_with(&format!("{ROOM_MOUNT}/")),
            "{label}: tokens from {tokens}"
        );
        assert_eq!(
            at(&["include_metadata"]).and_then(|v| v.as_bool()),
            Some(true),
            "{label}: include_metadata"
        );
        for file in ["cert_file", "key_file"] {
            let path = at(&["tls", file]).and_then(|v| v.as_str().map(str::to_owned));
            assert!(
                path.as_deref()
                    .is_some_and(|p| p.starts_with(&format!("{ROOM_MOUNT}/"))),
                "{label}.tls.{file} is {path:?}, not a file of the room's directory"
            );
        }
    }
}

/// Every pipeline that receives OTLP sets `workshop.attendee` from the authenticated
/// header (upsert: what the sender put there is overwritten), then cuts it down to the
/// name; no exporter sends the incoming headers on.
#[test]
fn every_otlp_pipeline_labels_its_data_with_the_token_s_attendee() {
    let (_, cfg) = room_collector();
    let mut problems = Vec::new();
    let pipelines = get(&cfg, &["service", "pipelines"])
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let mut otlp_pipelines = 0;
    for (name, pipeline) in &pipelines {
        let name = name.as_str().unwrap_or_default();
        if !strings(pipeline.get("receivers"))
            .iter()
            .any(|r| r == "otlp")
        {
            continue;
        }
        otlp_pipelines += 1;
        let processors = strings(pipeline.get("processors"));
        let position = |kind: &str| {
            processors.iter().position(|p| {
                component_type(p) == kind
                    && get(&cfg, &["processors", p.as_str()])
                        .is_some_and(|c| sets_attendee(kind, c))
            })
        };
        match (position("resource"), position("transform")) {
            (Some(from_token), Some(cut)) if from_token < cut => {}
            found => problems.push(format!(
                "{ROOM_COMPOSE}: pipeline `{name}` ({processors:?}): no resource processor \
                 upserting workshop.attendee from metadata.authorization followed by a \
                 transform keeping the name ({found:?})"
            )),
        }
    }
    assert_eq!(otlp_pipelines, 3, "traces, metrics and logs from OTLP");
    for exporter in keys(cfg.get("exporters")) {
        if get(&cfg, &["exporters", &exporter, "auth"]).is_some()
            || get(&cfg, &["exporters", &exporter, "headers"]).is_some()
        {
            problems.push(format!(
                "{ROOM_COMPOSE}: exporter {exporter} sends headers on: a token must reach no backend"
            ));
        }
    }
    assert_no_problems("the attendee's label", &problems);
}

/// A resource processor upserting workshop.attendee from the request's Authorization, or a
/// transform that rewrites it (`replace_pattern` on the resource's workshop.attendee).
fn sets_attendee(kind: &str, config: &Value) -> bool {
    match kind {
        "resource" => config
            .get("attributes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .any(|a| {
                get_str(a, &["key"]) == Some("workshop.attendee")
                    && get_str(a, &["from_context"]) == Some("metadata.authorization")
                    && get_str(a, &["action"]) == Some("upsert")
            }),
        "transform" => ["trace_statements", "metric_statements", "log_statements"]
            .iter()
            .all(|signal| {
                config
                    .get(*signal)
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .flat_map(|group| strings(group.get("statements")))
                    .any(|s| {
                        s.starts_with("replace_pattern(resource.attributes[\"workshop.attendee\"]")
                    })
            }),
        _ => false,
    }
}

/// Prometheus makes the resource attribute a label of every series.
#[test]
fn prometheus_promotes_the_attendee_to_a_label() {
    const F: &str = "platform/prometheus/prometheus.yaml";
    let promoted = strings(get(&load_yaml(F), &["otlp", "promote_resource_attributes"]));
    assert!(
        promoted.iter().any(|a| a == "workshop.attendee"),
        "{F}: otlp.promote_resource_attributes {promoted:?} lacks workshop.attendee"
    );
}

/// Loki indexes the attendee, and keeps its defaults (less service.instance.id, which
/// would start a new stream at every restart of a service: loki.yaml says why).
#[test]
fn loki_indexes_the_attendee_and_keeps_its_defaults() {
    const F: &str = "platform/loki/loki.yaml";
    let labels = strings(get(
        &load_yaml(F),
        &[
            "distributor",
            "otlp_config",
            "default_resource_attributes_as_index_labels",
        ],
    ));
    assert!(
        labels.iter().any(|l| l == "workshop.attendee"),
        "{F}: the index labels {labels:?} lack workshop.attendee"
    );
    let missing: Vec<&str> = (platform_check::LOKI_DEFAULT_INDEX_LABELS.iter().copied())
        .filter(|d| *d != "service.instance.id" && !labels.iter().any(|l| l == d))
        .collect();
    assert!(
        missing.is_empty(),
        "{F}: Loki's defaults {missing:?} are no longer indexed"
    );
}
