//! What the chapters and the platform's docs say about the tools stays true at the versions
//! the repository pins: each fact is read from the pinned source of truth (Cargo.lock, the
//! collector config, the doctor), and the sentences that state it are held to it. The
//! behaviour behind each fact is checked live elsewhere (named at each test).

use std::path::Path;

use crate::common::workspace;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text with line breaks and Markdown emphasis folded, so that a sentence is found
/// wherever the lines of its paragraph break.
fn flat(text: &str) -> String {
    text.replace(['\n', '*'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const CHAPTER_00: &str = "workshop/chapters/00-before-you-start.md";
const CHAPTER_03: &str = "workshop/chapters/03-section-1-metrics.md";
const CHAPTER_08: &str = "workshop/chapters/08-section-6-collector.md";
const PLATFORM: &str = "platform/README.md";

/// The version of a package in Cargo.lock.
fn locked(package: &str) -> (u64, u64) {
    let lock = read("Cargo.lock");
    let at = lock
        .find(&format!("name = \"{package}\"\nversion = \""))
        .unwrap_or_else(|| panic!("{package} is not in Cargo.lock"));
    let version = lock[at..].lines().nth(1).unwrap();
    let version = version
        .trim_start_matches("version = \"")
        .trim_end_matches('"');
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// opentelemetry-otlp retries failed exports by default since 0.33.0 (its CHANGELOG,
/// `retry_policy.rs`: 3 retries after 100, 200, 400 ms and jitter). Seen live:
/// `live_outage::`.
#[test]
fn the_chapters_say_the_sdk_retries_as_the_locked_exporter_does() {
    assert!(
        locked("opentelemetry-otlp") >= (0, 33),
        "opentelemetry-otlp before 0.33 does not retry: change what the chapters say"
    );
    for path in [CHAPTER_08, PLATFORM] {
        let text = flat(&read(path));
        for wrong in ["does not retry", "doesn't retry", "never retries"] {
            assert!(
                !text.contains(wrong),
                "{path} says the SDK {wrong:?}; opentelemetry-otlp {:?} retries",
                locked("opentelemetry-otlp")
            );
        }
        assert!(
            text.contains("retries"),
            "{path} does not say what the SDK's retries do"
        );
    }
}

/// Prometheus 3.14's OTLP receiver refuses delta sums and histograms unless a feature flag
/// converts or keeps them (`storage/remote/otlptranslator/prometheusremotewrite`; seen
/// live: `live_platform::prometheus_refuses_delta_temporality_as_chapter_03_says`).
#[test]
fn chapter_03_says_prometheus_refuses_delta_temporality() {
    let text = flat(&read(CHAPTER_03));
    assert!(
        !text.contains("With delta, it would take each interval's count for the total"),
        "{CHAPTER_03}: Prometheus does not count deltas differently, it refuses them"
    );
    for needed in [
        "invalid temporality and type combination",
        "otlp-deltatocumulative",
    ] {
        assert!(
            text.contains(needed),
            "{CHAPTER_03} does not say {needed:?}"
        );
    }
}

/// The collector expands only `${…}` (and `$$` into `$`): an OTTL capture group `$1` is
/// left alone at 0.159.0 (seen live: `live_platform::an_ottl_replacement_takes_dollar_one_as_written`).
#[test]
fn chapter_08_does_not_ask_for_an_escaped_capture_group() {
    let text = flat(&read(CHAPTER_08));
    assert!(
        !text.contains("write `$$1`"),
        "{CHAPTER_08}: `$1` needs no escaping in the collector's config"
    );
    assert!(text.contains("`$1`, is left alone"));
}

/// The redaction processor reaches log bodies since contrib v0.126 (`processLogBody` at
/// v0.159.0) but not span status messages; OTTL reaches both.
#[test]
fn chapter_08_says_what_the_redaction_processor_reaches() {
    let text = flat(&read(CHAPTER_08));
    assert!(
        !text.contains("which only OTTL reaches"),
        "{CHAPTER_08}: the redaction processor reaches log bodies too"
    );
    assert!(text.contains("since contrib v0.126, log bodies, but not span status messages"));
}

/// `check 6` checks sections 0 to 6 (`check N` runs every section up to N), and `up
/// --collector` runs the attendee's own services.
#[test]
fn chapter_08_says_what_check_6_and_up_collector_run() {
    let text = flat(&read(CHAPTER_08));
    assert!(
        !text.contains("It runs sections 0 to 4"),
        "{CHAPTER_08}: check 6 runs sections 0 to 5 before section 6"
    );
    assert!(text.contains("It runs sections 0 to 5 as before"));
    assert!(
        !text.contains("with the finished services"),
        "{CHAPTER_08}: `up --collector` runs your services, not the finished ones (that is --solution)"
    );
}

/// The minimum Go version is the one `doctor` asks for (the collector's modules at 0.159.0
/// say `go 1.25.0`); chapter 00's table and chapter 08 give it.
#[test]
fn the_chapters_give_the_go_version_the_doctor_asks_for() {
    let doctor = read("workshop/src/doctor/otelcol.rs");
    let at = doctor
        .find("needs Go ")
        .expect("the doctor names the Go version the collector build needs");
    let version: String = doctor[at + "needs Go ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let go = format!("Go {version} or newer");
    assert!(
        flat(&read(CHAPTER_08)).contains(&format!("it needs {go}")),
        "{CHAPTER_08} does not say the collector build needs {go}"
    );
    let table_row = read(CHAPTER_00)
        .lines()
        .find(|l| l.starts_with("| Go "))
        .map(str::to_owned);
    assert!(
        table_row
            .as_deref()
            .is_some_and(|row| row.contains(&format!("{version} or newer"))),
        "{CHAPTER_00}: the table of what to install has no Go row with {version} or newer: {table_row:?}"
    );
}

/// Loki 3.7's YAML key is `distributor.otlp_config.default_resource_attributes_as_index_labels`
/// (`pkg/distributor/distributor.go`: `OTLPConfig … yaml:"otlp_config"`); the command-line
/// flag is `-distributor.otlp.default_resource_attributes_as_index_labels`.
#[test]
fn the_loki_key_is_named_as_loki_3_7_reads_it() {
    for path in [
        "platform/loki/loki.yaml",
        PLATFORM,
        "platform/harness/src/logql.rs",
    ] {
        let text = flat(&read(path));
        let mut rest = text.as_str();
        while let Some(at) = rest.find("distributor.otlp.default_resource_attributes") {
            assert!(
                at > 0 && rest.as_bytes()[at - 1] == b'-',
                "{path}: `distributor.otlp.…` is the flag's name (with `-`); the YAML key is `distributor.otlp_config.…`"
            );
            rest = &rest[at + 1..];
        }
    }
    assert!(Path::new(&workspace().join("platform/loki/loki.yaml")).is_file());
}
