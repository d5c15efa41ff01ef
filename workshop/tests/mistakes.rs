//! What `check` catches: realistic mistakes of an attendee, as variants of the sections'
//! code. Each is its section done right with one change: a line left out, two lines in the
//! wrong order, a value made once instead of at every start. On a clone of this repository,
//! the sections are applied one by one; `check N` passes on section N done right, then fails
//! on each of its mistakes alone, on exactly the lines that say what is wrong.
//!
//! The fixtures' tests (`src/check/tests.rs`) break one promise at a time in the evidence;
//! these break the code, and show that a real run turns each into the right ✗.

use std::path::Path;

use crate::common::{RepoClone, patch_of, text, workshop_in};

/// One mistake: where, what the section typed, what the attendee typed instead, and which
/// checks (the start of their lines) must fail, no more, no fewer.
struct Mistake {
    what: &'static str,
    section: usize,
    file: &'static str,
    right: &'static str,
    wrong: &'static str,
    fails: &'static [&'static str],
}

const RESOURCE: &str = "services/telemetry/src/resource.rs";
const INSTANCE_ID: &str = "KeyValue::new(SERVICE_INSTANCE_ID, Uuid::new_v4().to_string()),";
const UUID_LINE: &str = "service.instance.id is a UUID, a different one in each service";
const NEW_LINE: &str = "service.instance.id is new at every start";
const SERVICE_NAME_LINE: &str = "OTEL_SERVICE_NAME is honoured";

const MISTAKES: [Mistake; 10] = [
    Mistake {
        what: "OTEL_SERVICE_NAME never read",
        section: 0,
        file: RESOURCE,
        right: "        .with_attributes(service_name_from_env())\n",
        wrong: "",
        fails: &[SERVICE_NAME_LINE],
    },
    Mistake {
        what: "OTEL_SERVICE_NAME read before OTEL_RESOURCE_ATTRIBUTES, which then wins",
        section: 0,
        file: RESOURCE,
        right: "        .with_detector(Box::new(EnvResourceDetector::new()))
        .with_attributes(service_name_from_env())\n",
        wrong: "        .with_attributes(service_name_from_env())
        .with_detector(Box::new(EnvResourceDetector::new()))\n",
        fails: &[SERVICE_NAME_LINE],
    },
    Mistake {
        what: "the instance id copied from the conventions' example",
        section: 0,
        file: RESOURCE,
        right: INSTANCE_ID,
        wrong: r#"KeyValue::new(SERVICE_INSTANCE_ID, "627cc493-f310-47de-96bd-71410b7dec09"),"#,
        fails: &[UUID_LINE, NEW_LINE],
    },
    Mistake {
        what: "the process id as instance id: unique, but no UUID",
        section: 0,
        file: RESOURCE,
        right: INSTANCE_ID,
        wrong: "KeyValue::new(SERVICE_INSTANCE_ID, std::process::id().to_string()),",
        fails: &[UUID_LINE],
    },
    Mistake {
        what: "a counter's unit written like a Prometheus suffix",
        section: 1,
        file: "services/iss-distance/src/metrics.rs",
        right: "        .with_description(\"Requests received by iss-distance\")
        .with_unit(\"{request}\")\n",
        wrong: "        .with_description(\"Requests received by iss-distance\")
        .with_unit(\"requests\")\n",
        fails: &["incoming.requests and iss.requests have the unit `{request}`"],
    },
    Mistake {
        what: "a counter without a unit",
        section: 1,
        file: "services/iss-distance/src/metrics.rs",
        right: "        .with_description(\"Requests made to the ISS position API\")
        .with_unit(\"{request}\")\n",
        wrong: "        .with_description(\"Requests made to the ISS position API\")\n",
        fails: &["incoming.requests and iss.requests have the unit `{request}`"],
    },
    Mistake {
        what: "the tracer named after the service",
        section: 3,
        file: "services/telemetry/src/lib.rs",
        right: r#".with_tracer(provider.tracer("tracing-opentelemetry"))"#,
        wrong: ".with_tracer(provider.tracer(service_name))",
        fails: &["spans come from the tracer `tracing-opentelemetry`"],
    },
    Mistake {
        what: "W3C Trace Context alone, without the Baggage propagator",
        section: 4,
        file: "services/telemetry/src/propagation.rs",
        right: "    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()) as Box<dyn TextMapPropagator + Send + Sync>,
        Box::new(BaggagePropagator::new()),
    ]));\n",
        wrong: "    global::set_text_map_propagator(TraceContextPropagator::new());\n",
        fails: &[
            "our own baggage (`workshop.check.ours=from-inside`, sent to the gateway) travels on",
        ],
    },
    Mistake {
        what: "the context injected after the boundary released the headers",
        section: 4,
        file: "services/service-kit/src/upstream.rs",
        right: "        telemetry::propagation::inject_current(&mut headers);
        self.boundary.release(&mut headers);\n",
        wrong: "        self.boundary.release(&mut headers);
        telemetry::propagation::inject_current(&mut headers);\n",
        fails: &["nothing else of the context leaves for the ISS API"],
    },
    Mistake {
        what: "the edge's line deleted while filling in the SERVER span's parent",
        section: 4,
        file: "services/service-kit/src/spans.rs",
        right: "    callers.admit(request.headers_mut());\n",
        wrong: "",
        fails: &[
            "a stranger's baggage (`workshop.check=from-outside`, sent to the frontend) goes no further",
        ],
    },
];

/// The checks that failed: each ✗ line's text up to its ` — `.
fn failed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("✗ "))
        .map(|l| l.split(" — ").next().unwrap_or(l).to_owned())
        .collect()
}

/// Whether the failed checks are exactly `expected`: each one line, and nothing else.
fn exactly(failed: &[String], expected: &[&str]) -> bool {
    failed.len() == expected.len()
        && expected
            .iter()
            .all(|e| failed.iter().filter(|f| f.starts_with(e)).count() == 1)
}

/// Runs `check N` on the clone: whether it passed, its checklist, and both outputs for a
/// failure's message.
fn check(clone: &RepoClone, section: usize) -> (bool, String, String) {
    let tree = clone.dir.to_string_lossy().into_owned();
    let output = workshop_in(
        "mistakes",
        &clone.dir,
        &["check", &section.to_string(), "--tree", &tree],
    );
    let stdout = text(&output.stdout);
    let both = format!("{stdout}\n{}", text(&output.stderr));
    (output.status.success(), stdout, both)
}

/// Writes `mistake` into the clone; returns the file as it was.
fn make(dir: &Path, mistake: &Mistake) -> String {
    let path = dir.join(mistake.file);
    let right = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        right.matches(mistake.right).count(),
        1,
        "{}: {:?} is not once in {} after section {}",
        mistake.what,
        mistake.right,
        mistake.file,
        mistake.section
    );
    std::fs::write(&path, right.replace(mistake.right, mistake.wrong)).unwrap();
    right
}

#[test]
fn each_mistake_fails_its_check_alone_where_the_section_done_right_passes() {
    let clone = RepoClone::new("mistakes");
    let last = MISTAKES.iter().map(|m| m.section).max().unwrap();
    let mut problems = Vec::new();
    for section in 0..=last {
        clone.apply(&patch_of(section));
        let mistakes: Vec<&Mistake> = MISTAKES.iter().filter(|m| m.section == section).collect();
        if mistakes.is_empty() {
            continue;
        }
        let (passed, _, report) = check(&clone, section);
        assert!(
            passed,
            "check {section} fails on section {section}:\n{report}"
        );
        for mistake in mistakes {
            let right = make(&clone.dir, mistake);
            let (passed, stdout, report) = check(&clone, section);
            std::fs::write(clone.dir.join(mistake.file), right).unwrap();
            let failed = failed(&stdout);
            if passed || !exactly(&failed, mistake.fails) {
                problems.push(format!(
                    "{} (section {section}): expected ✗ on {:?}, got {failed:#?}\n{report}",
                    mistake.what, mistake.fails
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

#[test]
fn failed_lines_are_read_up_to_the_hint() {
    let stdout = "Section 0 · resource\n  ✓ service.name is each service's own name\n  ✗ service.instance.id is a UUID, a different one in each service — gateway: no service.instance.id. Look at services/telemetry/src/resource.rs\n";
    let failed = failed(stdout);
    assert_eq!(failed, [UUID_LINE]);
    assert!(exactly(&failed, &[UUID_LINE]));
    assert!(!exactly(&failed, &[UUID_LINE, NEW_LINE]));
    assert!(!exactly(&failed, &[]));
}
