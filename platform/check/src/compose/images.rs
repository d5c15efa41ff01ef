//! Image references: every image pinned to an exact version, so that every laptop runs the
//! same software as the chapters describe.

use serde_yaml_ng::Value;

use super::compose_services;
use crate::yaml::get_str;

/// The tag of an image reference (`None` when it has none, which means `latest`).
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, t)| t)
}

/// Every `image:` must carry an exact version tag: `1.2.3`, `v1.2.3`, optionally with a
/// suffix (`1.2.3-alpine`) or a digest. `latest`, a missing tag and floating tags like
/// `3` or `3.7` are problems.
pub fn check_images_pinned(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        let Some(image) = get_str(&svc, &["image"]) else {
            if svc.get("build").is_none() {
                problems.push(format!(
                    "{file}: service `{name}` has neither image nor build"
                ));
            }
            continue;
        };
        if let Some(p) = image_version_problem(image) {
            problems.push(format!("{file}: service `{name}`: image `{image}` {p}"));
        }
    }
    problems
}

/// Why an image reference is not pinned to an exact version, if it isn't.
pub fn image_version_problem(image: &str) -> Option<&'static str> {
    match image_tag(image) {
        None => Some("has no tag (that means `latest`)"),
        Some("latest") => Some("uses the tag `latest`"),
        Some(tag) => {
            let core = tag.trim_start_matches('v');
            let version: Vec<&str> = core
                .split(['-', '+'])
                .next()
                .unwrap_or("")
                .split('.')
                .collect();
            let exact = version.len() >= 3
                && version
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if exact || image.contains("@sha256:") {
                None
            } else {
                Some("is not pinned to an exact version (major.minor.patch)")
            }
        }
    }
}

/// Checks that no image (and, for services built here, no `image:` name) uses `latest`.
pub fn check_no_latest(doc: &Value, file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, svc) in compose_services(doc) {
        if let Some(image) = get_str(&svc, &["image"]) {
            match image_tag(image) {
                Some("latest") => problems.push(format!(
                    "{file}: service `{name}`: image `{image}` uses the tag `latest`"
                )),
                None => problems.push(format!(
                    "{file}: service `{name}`: image `{image}` has no tag (that means `latest`)"
                )),
                _ => {}
            }
        }
    }
    problems
}
