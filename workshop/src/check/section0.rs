//! Section 0 · resource. Nothing is exported yet, so the check reads what every service
//! prints at start-up: `OpenTelemetry resource: {…}` with the resource as JSON. Besides the
//! four services, it starts geolocator a second time (the replica), with the standard
//! variables set as an operator would: its resource must take the name `OTEL_SERVICE_NAME`
//! gives, and an instance id of its own.

use std::collections::BTreeMap;

use otlp_receiver::{AttrValue, Attributes};

use super::evidence::hint;
use super::evidence::{
    Evidence, RESOURCE_MARKER, ResourceProblems, SERVICES, instance_id, ok_unless,
};
use super::report::{Check, list};
use super::scenario::{REPLICA_NAME, REPLICA_NAME_IN_ATTRIBUTES, REPLICA_OF};

pub const TITLE: &str = "Section 0 · resource";

pub fn check(evidence: &Evidence) -> Vec<Check> {
    let (mut printed, mut silent, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for service in SERVICES {
        match evidence.console_resource(service) {
            Ok(resource) => printed.push((service, resource)),
            Err(problem) if problem.contains("printed no") => silent.push(service),
            Err(problem) => missing.push(problem),
        }
    }
    if !silent.is_empty() {
        missing.insert(0, format!("no such line from {}", list(&silent)));
    }
    let absent: Vec<&str> = SERVICES
        .into_iter()
        .filter(|s| !printed.iter().any(|(p, _)| p == s))
        .collect();
    let absent = (!absent.is_empty()).then(|| format!("no resource printed by {}", list(&absent)));
    let printed_by = |pick: fn(&ResourceProblems) -> &Option<String>| -> Result<(), String> {
        let problems = printed.iter().filter_map(|(service, resource)| {
            let problems = ResourceProblems::of(resource, Some(service), &evidence.run_id);
            Some(format!("{service}: {}", pick(&problems).as_ref()?))
        });
        ok_unless(
            &problems.chain(absent.clone()).collect::<Vec<_>>(),
            usize::MAX,
        )
    };
    let replica = evidence.replica_resource();
    let checks = [
        (
            format!("every service prints `{RESOURCE_MARKER}{{…}}` at start-up"),
            ok_unless(&missing, usize::MAX),
        ),
        (
            "service.name is each service's own name".to_owned(),
            printed_by(|p| &p.name),
        ),
        (
            "service.version is set".to_owned(),
            printed_by(|p| &p.version),
        ),
        (
            "deployment.environment.name = dev (not the deprecated deployment.environment)"
                .to_owned(),
            printed_by(|p| &p.environment),
        ),
        (
            "service.instance.id is a UUID, a different one in each service".to_owned(),
            printed_by(|p| &p.instance).and_then(|()| distinct(&printed)),
        ),
        (
            format!(
                "workshop.check.run = {} (OTEL_RESOURCE_ATTRIBUTES is honoured)",
                evidence.run_id
            ),
            printed_by(|p| &p.run),
        ),
        // The second geolocator: an instance id of its own, and the name
        // `OTEL_SERVICE_NAME` gives it.
        (
            format!(
                "service.instance.id is new at every start: {REPLICA_OF} started a second time has another"
            ),
            new_at_every_start(evidence, &replica),
        ),
        (
            format!(
                "OTEL_SERVICE_NAME is honoured: the second {REPLICA_OF}, started with OTEL_SERVICE_NAME={REPLICA_NAME}, is named so"
            ),
            named_by_the_variable(&replica),
        ),
    ];
    let checks = checks.map(|(what, result)| Check::new(what, hint::RESOURCE, result));
    checks.into()
}

/// No two services share an instance id (a constant would be the same in all four).
fn distinct(printed: &[(&str, Attributes)]) -> Result<(), String> {
    let mut by_id: BTreeMap<uuid::Uuid, Vec<&str>> = BTreeMap::new();
    for (service, resource) in printed {
        if let Ok(id) = instance_id(resource) {
            by_id.entry(id).or_default().push(service);
        }
    }
    let shared = by_id.into_iter().filter(|(_, services)| services.len() > 1);
    let shared = shared.map(|(id, services)| {
        format!(
            "{} have the same service.instance.id {id}: make it at every start, not once",
            list(&services)
        )
    });
    ok_unless(&shared.collect::<Vec<_>>(), usize::MAX)
}

/// The replica's instance id differs from the first geolocator's: an id made once (a
/// constant) or from something fixed (the service's name) would be the same. Whether it is
/// a UUID is the line before's business.
fn new_at_every_start(
    evidence: &Evidence,
    replica: &Result<Attributes, String>,
) -> Result<(), String> {
    let id = |resource: &Result<Attributes, String>, who: &str| match resource
        .as_ref()
        .map_err(Clone::clone)?
        .get("service.instance.id")
    {
        Some(AttrValue::Empty) | None => Err(format!("{who} has no service.instance.id")),
        Some(id) => Ok(id.to_string()),
    };
    let first = id(&evidence.console_resource(REPLICA_OF), REPLICA_OF)?;
    match first == id(replica, &format!("the second {REPLICA_OF}"))? {
        true => Err(format!(
            "both have service.instance.id {first}: make a new one at every start (a random UUID)"
        )),
        false => Ok(()),
    }
}

/// The replica's `service.name` is its `OTEL_SERVICE_NAME`, over the name it gives itself
/// and over `service.name` in its `OTEL_RESOURCE_ATTRIBUTES` (the specification:
/// `OTEL_SERVICE_NAME` takes precedence).
fn named_by_the_variable(replica: &Result<Attributes, String>) -> Result<(), String> {
    let resource = replica.as_ref().map_err(Clone::clone)?;
    match resource.get("service.name") {
        Some(AttrValue::String(name)) if name == REPLICA_NAME => Ok(()),
        Some(AttrValue::String(name)) if name == REPLICA_NAME_IN_ATTRIBUTES => Err(format!(
            "it is {name:?}, from OTEL_RESOURCE_ATTRIBUTES: OTEL_SERVICE_NAME must win over it (read it last)"
        )),
        Some(AttrValue::String(name)) if name == REPLICA_OF => Err(format!(
            "it kept its own name {name:?}: OTEL_SERVICE_NAME must win over it (read it last)"
        )),
        Some(other) => Err(format!("its service.name is {other}")),
        None => Err("its resource has no service.name".to_owned()),
    }
}
