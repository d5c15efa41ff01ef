//! Section 0 · resource. Nothing is exported yet, so the check reads what every service
//! prints at start-up: `OpenTelemetry resource: {…}` with the resource as JSON.

use super::evidence::{Evidence, RESOURCE_MARKER, ResourceProblems, SERVICES};
use super::report::{Check, list};

pub const TITLE: &str = "Section 0 · resource";
const HINT: &str = "services/telemetry/src/resource.rs";

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let mut printed = Vec::new();
    let mut silent = Vec::new();
    let mut garbled = Vec::new();
    for service in SERVICES {
        match evidence.console_resource(service) {
            Ok(resource) => printed.push((
                service,
                ResourceProblems::of(&resource, Some(service), &evidence.run_id),
            )),
            Err(problem) if problem.contains("printed no") => silent.push(service.to_string()),
            Err(problem) => garbled.push(problem),
        }
    }
    let mut missing = garbled;
    if !silent.is_empty() {
        missing.insert(0, format!("no such line from {}", list(&silent)));
    }
    let printed_by = |pick: fn(&ResourceProblems) -> &Option<String>| -> Result<(), String> {
        let mut problems: Vec<String> = printed
            .iter()
            .filter_map(|(service, p)| pick(p).as_ref().map(|p| format!("{service}: {p}")))
            .collect();
        let absent: Vec<String> = SERVICES
            .iter()
            .filter(|s| !printed.iter().any(|(p, _)| p == *s))
            .map(|s| s.to_string())
            .collect();
        if !absent.is_empty() {
            problems.push(format!("no resource printed by {}", list(&absent)));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    };
    vec![
        Check::new(
            format!(
                "every service prints `{}{{…}}` at start-up",
                RESOURCE_MARKER
            ),
            HINT,
            if missing.is_empty() {
                Ok(())
            } else {
                Err(missing.join("; "))
            },
        ),
        Check::new(
            "service.name is each service's own name",
            HINT,
            printed_by(|p| &p.name),
        ),
        Check::new("service.version is set", HINT, printed_by(|p| &p.version)),
        Check::new(
            "deployment.environment.name = dev (not the deprecated deployment.environment)",
            HINT,
            printed_by(|p| &p.environment),
        ),
        Check::new(
            format!(
                "workshop.check.run = {} (OTEL_RESOURCE_ATTRIBUTES is honoured)",
                evidence.run_id
            ),
            HINT,
            printed_by(|p| &p.run),
        ),
    ]
}
