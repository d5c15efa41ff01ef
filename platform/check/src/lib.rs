//! Static checks of the telemetry platform (`docker-compose.yml`, `platform/**`) and of
//! the services' compose file (`docker-compose-services.yml`).
//!
//! No Docker engine is needed: the checks read the files and compare them with each
//! other. Every check returns a list of problems (empty = fine), each naming the file
//! and what is wrong, so a test can print all of them at once and so the checks can be
//! fed deliberately broken input (see `tests/checks_can_fail.rs`).
//!
//! One module per concern; this file only lists them and re-exports what they offer, so
//! that callers name everything as `platform_check::…`.

// Shared by every check: reading YAML, walking it, and reporting problems.
mod problems;
mod yaml;

// What the configs point at, and where the configs are.
mod compose;
mod configs;
mod endpoint;
mod listeners;

// The checks of one component or language each.
mod collector;
mod collector_self_metrics;
mod grafana;
#[cfg(feature = "promql")]
mod promql;

pub use serde_yaml_ng::Value;

pub use collector::{
    check_collector_endpoints, check_collector_pipelines, check_every_pipeline_redacts,
    check_span_metrics_before_sampling, component_type, used_exporters,
};
#[cfg(feature = "promql")]
pub use collector_self_metrics::check_collector_self_metrics;
pub use collector_self_metrics::{COLLECTOR_ROW_METRICS, collector_telemetry_ports};
pub use compose::{
    BindMount, PublishedPort, bind_mounts, check_depends_on, check_images_pinned,
    check_mounts_exist, check_no_latest, check_ports_loopback, command_args, compose_services,
    depends_on, environment, flag_values, host_path_of, image_tag, image_version_problem,
    interpolate_defaults, merge_compose, published_ports,
};
pub use configs::{
    collector_config, collector_config_files, collector_env_defaults, config_file_of,
};
pub use endpoint::Endpoint;
pub use grafana::{dashboard_datasource_uids, dashboard_promql, datasource_link_uids};
pub use listeners::{Listeners, check_endpoint_target, platform_listeners};
pub use problems::assert_no_problems;
#[cfg(feature = "promql")]
pub use promql::{histogram_quantile_problems, promql_metric_names, substitute_grafana};
pub use yaml::{get, get_str, keys, load_yaml, merge, parse_yaml, repo_root, strings};

/// The resource attributes Loki 3.7 turns into index labels when its config does not list
/// them (`pkg/loghttp/push/otlp_config.go`, `DefaultOTLPResourceAttributesAsIndexLabels`;
/// `distributor.otlp_config.default_resource_attributes_as_index_labels`);
/// everything else becomes structured metadata.
pub const LOKI_DEFAULT_INDEX_LABELS: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];
