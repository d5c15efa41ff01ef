//! What the attendee's collector config says about tail sampling: the share of ordinary
//! traces to keep, what counts as slow, and how long the processor waits for a trace's
//! spans. Section 6's checks judge the collector's behaviour against these numbers, so
//! that a config with other numbers than the chapter's passes when it does what it says.

use std::path::Path;
use std::time::Duration;

use platform_check::{
    Value, collector_env_defaults, component_type, get, merge, parse_yaml, strings,
};

/// The tail sampler's settings, each `Err` saying why it could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The probabilistic policy's `sampling_percentage`.
    pub share_percent: Result<f64, String>,
    /// The latency policy's `threshold_ms`.
    pub slow_ms: Result<u64, String>,
    /// Whether a status_code policy keeps traces with an ERROR span.
    pub keeps_errors: Result<(), String>,
    /// `decision_wait` (the processor's default is 30 s).
    pub decision_wait: Duration,
}

/// The trace exporter whose pipeline must sample (the one to Tempo).
pub const TEMPO_EXPORTER: &str = "otlp_grpc/tempo";
/// The processor type that samples the tail.
const TAIL_SAMPLING: &str = "tail_sampling";
/// Its default `decision_wait`.
const DEFAULT_DECISION_WAIT: Duration = Duration::from_secs(30);

impl Settings {
    /// The threshold to test with when the config names none: the chapter's.
    pub const CHAPTER_SLOW_MS: u64 = 500;

    /// What to wait for when nothing could be read.
    pub fn unreadable(why: &str) -> Settings {
        Settings {
            share_percent: Err(why.to_owned()),
            slow_ms: Err(why.to_owned()),
            keeps_errors: Err(why.to_owned()),
            decision_wait: Duration::ZERO,
        }
    }
}

/// Reads the files the collector is started with (the config and its overlays, merged as
/// the collector merges them; `${env:…}` read as their defaults).
pub fn read(files: &[impl AsRef<Path>]) -> Settings {
    let mut merged = Value::Mapping(Default::default());
    for file in files {
        let file = file.as_ref();
        let name = file.display().to_string();
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {name}: {e}"))
            .and_then(|text| collector_env_defaults(&text, &name))
            .and_then(|text| parse_yaml(&text, &name));
        match parsed {
            Ok(doc) => merge(&mut merged, &doc),
            Err(why) => return Settings::unreadable(&why),
        }
    }
    from_config(&merged)
}

/// The settings of the tail_sampling processor in the pipeline that exports to Tempo.
pub fn from_config(config: &Value) -> Settings {
    let sampler = match tempo_sampler(config) {
        Ok(sampler) => sampler,
        Err(why) => return Settings::unreadable(&why),
    };
    let settings = get(config, &["processors", &sampler]);
    let policies: Vec<&Value> = settings
        .and_then(|s| s.get("policies"))
        .and_then(Value::as_sequence)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let of_type = |kind: &str| {
        policies
            .iter()
            .copied()
            .find(|p| p.get("type").and_then(Value::as_str) == Some(kind))
    };
    let missing = |kind: &str| format!("`{sampler}` has no `{kind}` policy");

    let share_percent = of_type("probabilistic")
        .ok_or_else(|| missing("probabilistic"))
        .and_then(|p| {
            number(get(p, &["probabilistic", "sampling_percentage"]))
                .filter(|n| (0.0..=100.0).contains(n))
                .ok_or_else(|| {
                    format!("`{sampler}`'s probabilistic policy needs a sampling_percentage from 0 to 100")
                })
        });
    let slow_ms = of_type("latency")
        .ok_or_else(|| missing("latency"))
        .and_then(|p| {
            number(get(p, &["latency", "threshold_ms"]))
                .filter(|n| *n >= 1.0)
                .map(|n| n as u64)
                .ok_or_else(|| format!("`{sampler}`'s latency policy needs a threshold_ms"))
        });
    let keeps_errors = of_type("status_code")
        .ok_or_else(|| missing("status_code"))
        .and_then(|p| {
            let codes = strings(get(p, &["status_code", "status_codes"]));
            if codes.iter().any(|c| c == "ERROR") {
                Ok(())
            } else {
                Err(format!(
                    "`{sampler}`'s status_code policy keeps {codes:?}, not ERROR"
                ))
            }
        });
    let decision_wait = match settings.and_then(|s| s.get("decision_wait")) {
        None => Ok(DEFAULT_DECISION_WAIT),
        Some(wait) => wait
            .as_str()
            .ok_or_else(|| "decision_wait is not a duration".to_owned())
            .and_then(crate::duration::parse),
    };
    let decision_wait = match decision_wait {
        Ok(wait) => wait,
        Err(why) => {
            let why = format!("`{sampler}`: {why}");
            return Settings {
                decision_wait: DEFAULT_DECISION_WAIT,
                ..Settings::unreadable(&why)
            };
        }
    };
    Settings {
        share_percent,
        slow_ms,
        keeps_errors,
        decision_wait,
    }
}

/// The tail_sampling processor of the pipeline that exports to Tempo.
fn tempo_sampler(config: &Value) -> Result<String, String> {
    let pipelines = get(config, &["service", "pipelines"]).and_then(Value::as_mapping);
    let to_tempo: Vec<Vec<String>> = pipelines
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.as_str().is_some_and(|n| component_type(n) == "traces"))
        .filter(|(_, p)| {
            strings(p.get("exporters"))
                .iter()
                .any(|e| e == TEMPO_EXPORTER)
        })
        .map(|(_, p)| strings(p.get("processors")))
        .collect();
    if to_tempo.is_empty() {
        return Err(format!("no traces pipeline exports to `{TEMPO_EXPORTER}`"));
    }
    to_tempo
        .iter()
        .flatten()
        .find(|p| component_type(p) == TAIL_SAMPLING)
        .cloned()
        .ok_or_else(|| {
            format!("the traces pipeline that exports to `{TEMPO_EXPORTER}` has no `{TAIL_SAMPLING}` processor")
        })
}

/// A YAML number (integer or float).
fn number(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> Settings {
        from_config(&parse_yaml(yaml, "test").unwrap())
    }

    const CHAPTER: &str = r#"
processors:
  memory_limiter: {}
  tail_sampling:
    decision_wait: 5s
    policies:
      - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
      - {name: slow, type: latency, latency: {threshold_ms: 500}}
      - {name: rest, type: probabilistic, probabilistic: {sampling_percentage: 10}}
service:
  pipelines:
    traces:
      processors: [memory_limiter]
      exporters: [span_metrics]
    traces/sampled:
      processors: [memory_limiter, tail_sampling]
      exporters: [otlp_grpc/tempo]
"#;

    #[test]
    fn the_chapters_settings_are_read() {
        let s = settings(CHAPTER);
        assert_eq!(s.share_percent, Ok(10.0));
        assert_eq!(s.slow_ms, Ok(500));
        assert_eq!(s.keeps_errors, Ok(()));
        assert_eq!(s.decision_wait, Duration::from_secs(5));
    }

    #[test]
    fn a_missing_sampler_or_policy_says_what_is_missing() {
        let main = CHAPTER.replace(", tail_sampling]", "]");
        let s = settings(&main);
        assert!(
            s.share_percent
                .unwrap_err()
                .contains("exports to `otlp_grpc/tempo` has no `tail_sampling`")
        );
        let no_latency = CHAPTER.replace("type: latency", "type: span_count");
        assert_eq!(
            settings(&no_latency).slow_ms,
            Err("`tail_sampling` has no `latency` policy".into())
        );
        let unset = CHAPTER.replace("[ERROR]", "[UNSET]");
        assert!(
            settings(&unset)
                .keeps_errors
                .unwrap_err()
                .contains("not ERROR")
        );
        let default_wait = CHAPTER.replace("decision_wait: 5s", "num_traces: 100");
        assert_eq!(
            settings(&default_wait).decision_wait,
            Duration::from_secs(30)
        );
        let share = CHAPTER.replace("sampling_percentage: 10", "sampling_percentage: 120");
        assert!(settings(&share).share_percent.is_err());
    }

    #[test]
    fn no_pipeline_to_tempo_is_named() {
        let s = settings("service: {pipelines: {traces: {exporters: [debug]}}}");
        assert_eq!(
            s.slow_ms,
            Err("no traces pipeline exports to `otlp_grpc/tempo`".into())
        );
    }
}
