//! docker-compose-services.yml and services/Dockerfile, checked without Docker.

use platform_check::*;

const SERVICES: &str = "docker-compose-services.yml";
const PLATFORM: &str = "docker-compose.yml";

#[test]
fn services_compose_parses_and_builds_the_four_services() {
    let doc = load_yaml(SERVICES);
    let names: Vec<String> = compose_services(&doc).into_keys().collect();
    assert_eq!(
        names,
        ["frontend", "gateway", "geolocator", "iss-distance"],
        "{SERVICES}: expected exactly the four services"
    );
    // Same project as the platform, so the services reach the collector by name.
    assert_eq!(
        get_str(&doc, &["name"]),
        get_str(&load_yaml(PLATFORM), &["name"]),
        "{SERVICES} and {PLATFORM} must have the same project name"
    );
}

#[test]
fn every_build_context_dockerfile_and_package_exists() {
    let root = repo_root();
    let mut problems = Vec::new();
    for (name, svc) in compose_services(&load_yaml(SERVICES)) {
        let Some(build) = svc.get("build") else {
            problems.push(format!("{SERVICES}: service `{name}` is not built here"));
            continue;
        };
        let context = get_str(build, &["context"]).unwrap_or(".");
        let ctx = root.join(context);
        if !ctx.is_dir() {
            problems.push(format!(
                "{SERVICES}: service `{name}`: build context {context} does not exist"
            ));
        }
        let dockerfile = get_str(build, &["dockerfile"]).unwrap_or("Dockerfile");
        let df = ctx.join(dockerfile);
        if !df.is_file() {
            problems.push(format!(
                "{SERVICES}: service `{name}`: Dockerfile {} does not exist",
                df.display()
            ));
        }
        match get_str(build, &["args", "PACKAGE"]) {
            None => problems.push(format!(
                "{SERVICES}: service `{name}` passes no PACKAGE build argument"
            )),
            Some(pkg) => {
                let manifest = root.join("services").join(pkg).join("Cargo.toml");
                match std::fs::read_to_string(&manifest) {
                    Err(_) => problems.push(format!(
                        "{SERVICES}: service `{name}` builds package `{pkg}` but {} does not exist",
                        manifest.display()
                    )),
                    Ok(text) => {
                        if !text.contains(&format!("name = \"{pkg}\"")) {
                            problems.push(format!(
                                "{}: package is not named `{pkg}`",
                                manifest.display()
                            ));
                        }
                    }
                }
            }
        }
        for w in get(&svc, &["develop", "watch"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(p) = get_str(w, &["path"])
                && !root.join(p.trim_start_matches("./")).exists()
            {
                problems.push(format!(
                    "{SERVICES}: service `{name}` watches {p}, which does not exist"
                ));
            }
        }
        if get(&svc, &["develop", "watch"]).is_none() {
            problems.push(format!("{SERVICES}: service `{name}` has no develop.watch"));
        }
        if svc.get("healthcheck").is_none() {
            problems.push(format!("{SERVICES}: service `{name}` has no healthcheck"));
        }
    }
    assert_no_problems("builds", &problems);
}

#[test]
fn every_url_names_a_service_of_the_project() {
    let doc = load_yaml(SERVICES);
    let mut known: Vec<String> = compose_services(&doc).into_keys().collect();
    known.extend(compose_services(&load_yaml(PLATFORM)).into_keys());
    let mut problems = Vec::new();
    let mut urls = 0;
    for (name, svc) in compose_services(&doc) {
        for (key, value) in environment(&svc) {
            if !(key.ends_with("_URL") || key.ends_with("_ENDPOINT")) {
                continue;
            }
            urls += 1;
            match Endpoint::parse(&value) {
                Some(ep) if ep.scheme.is_some() => {
                    if !known.contains(&ep.host) {
                        problems.push(format!(
                            "{SERVICES}: service `{name}`: {key}={value} names `{}`, which is not a service of {SERVICES} or {PLATFORM}",
                            ep.host
                        ));
                    }
                }
                _ => problems.push(format!(
                    "{SERVICES}: service `{name}`: {key}={value} is not a URL with a scheme"
                )),
            }
        }
        if environment(&svc).get("BIND_ADDR").map(String::as_str) != Some("0.0.0.0") {
            problems.push(format!("{SERVICES}: service `{name}` does not set BIND_ADDR=0.0.0.0 (it would listen on the container's loopback only)"));
        }
    }
    assert!(
        urls >= 6,
        "{SERVICES}: expected URL variables (upstreams and the collector), found {urls}"
    );
    assert_no_problems("service URLs", &problems);
}

#[test]
fn only_the_frontend_is_published_and_only_on_loopback() {
    let doc = load_yaml(SERVICES);
    let mut problems = check_ports_loopback(&doc, SERVICES);
    for (name, svc) in compose_services(&doc) {
        let ports = published_ports(&svc);
        if name == "frontend" {
            if ports
                .iter()
                .map(|p| p.host_port.as_deref())
                .collect::<Vec<_>>()
                != [Some("5000")]
            {
                problems.push(format!(
                    "{SERVICES}: the frontend is not published on port 5000"
                ));
            }
        } else if !ports.is_empty() {
            problems.push(format!(
                "{SERVICES}: service `{name}` is published, only the frontend should be"
            ));
        }
    }
    problems.extend(check_depends_on(&doc, SERVICES));
    assert_no_problems("services ports", &problems);
}

#[test]
fn no_image_is_latest_and_the_dockerfile_pins_its_base_images() {
    let mut problems = check_no_latest(&load_yaml(SERVICES), SERVICES);
    let dockerfile = "services/Dockerfile";
    let text = std::fs::read_to_string(repo_root().join(dockerfile))
        .unwrap_or_else(|e| panic!("{dockerfile}: {e}"));
    let froms: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FROM "))
        .map(|l| {
            l.split_whitespace()
                .find(|w| !w.starts_with("--"))
                .unwrap_or("")
        })
        .collect();
    if froms.len() < 2 {
        problems.push(format!(
            "{dockerfile}: expected a build stage and a runtime stage"
        ));
    }
    for image in froms {
        // `nonroot@sha256:` pins by digest; anything else needs an exact version.
        if let Some(p) = image_version_problem(image) {
            problems.push(format!("{dockerfile}: base image `{image}` {p}"));
        }
    }
    if !text.contains("USER nonroot") {
        problems.push(format!(
            "{dockerfile}: the runtime stage does not run as non-root"
        ));
    }
    if !text.contains("--mount=type=cache") {
        problems.push(format!(
            "{dockerfile}: no BuildKit cache mount: every build would recompile the dependencies"
        ));
    }
    let ignore = std::fs::read_to_string(repo_root().join(".dockerignore")).unwrap_or_default();
    if !ignore
        .lines()
        .any(|l| l.trim().trim_start_matches("**/") == "target")
    {
        problems.push(
            ".dockerignore: target/ is not ignored (the build context would be gigabytes)"
                .to_owned(),
        );
    }
    assert_no_problems("base images", &problems);
}

/// The OTLP endpoint's port must match the protocol: gRPC is 4317, HTTP 4318. (The SDK's
/// default protocol is http/protobuf: an endpoint on 4317 without `grpc` exports nothing.)
#[test]
fn the_otlp_protocol_matches_the_endpoint_port() {
    let doc = load_yaml(SERVICES);
    let mut problems = Vec::new();
    for (name, svc) in compose_services(&doc) {
        let env = environment(&svc);
        let Some(endpoint) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else {
            problems.push(format!(
                "{SERVICES}: service `{name}` sets no OTEL_EXPORTER_OTLP_ENDPOINT"
            ));
            continue;
        };
        let protocol = env
            .get("OTEL_EXPORTER_OTLP_PROTOCOL")
            .map_or("http/protobuf", String::as_str);
        let port = Endpoint::parse(endpoint).and_then(|ep| ep.port);
        let expected = match protocol {
            "grpc" => Some(4317),
            "http/protobuf" | "http/json" => Some(4318),
            _ => None,
        };
        if port != expected {
            problems.push(format!(
                "{SERVICES}: service `{name}`: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint} with protocol {protocol} (port {port:?}, expected {expected:?})"
            ));
        }
    }
    assert_no_problems("OTLP protocol and port", &problems);
}
