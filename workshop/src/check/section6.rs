//! Section 6: the collector at work. Pure functions of what `check 6` observed at the
//! backends' stand-ins and in the collector's own metrics (see [`super::pipeline`]): what
//! people typed never reaches a backend, the stylesheet's spans are dropped and counted,
//! every trace with an error and every slow one is kept whole, about the configured share
//! of the others is kept, and the RED metrics still count every request.

use std::collections::BTreeSet;

use super::evidence::hint;
use super::evidence::{Evidence, ok_unless};
use super::pipeline::scenario::Kind;
use super::pipeline::{Backend, Observed};
use super::report::{Check, list};

pub const TITLE: &str = "Section 6 · the collector at work";

/// The filter processor's own count of the spans it dropped, as the collector names it.
pub const FILTERED_SPANS: &str = "otelcol_processor_filter_spans_filtered";
/// Spans the collector took in, and spans an exporter sent on.
pub const ACCEPTED_SPANS: &str = "otelcol_receiver_accepted_spans";
pub const SENT_SPANS: &str = "otelcol_exporter_sent_spans";
/// How many standard deviations from the expected number of kept ordinary traces still
/// count as "about the share configured": at 4, a correct config fails about once in
/// 15,000 runs, and 10 % is still told from 0 % and from 25 % with 200 traces.
const SIGMAS: f64 = 4.0;

pub fn check(evidence: &Evidence) -> Vec<Check> {
    match &evidence.collector {
        Some(observed) => judge(observed),
        None => vec![Check::new(
            "traffic goes through the collector",
            hint::COLLECTOR,
            Err("not run".into()),
        )],
    }
}

/// The checks of one run through the collector.
pub fn judge(observed: &Observed) -> Vec<Check> {
    let started = Check::new(
        format!("the collector starts on {}", observed.config),
        hint::COLLECTOR,
        observed.collector.clone(),
    );
    if !started.passed() {
        return vec![started];
    }
    vec![
        started,
        answers(observed),
        nothing_typed_leaves(observed),
        no_stylesheet_spans(observed),
        stylesheets_counted(observed),
        all_kept(observed, Kind::Error),
        all_kept(observed, Kind::Slow),
        share_kept(observed),
        counters_add_up(observed),
        red_metrics_count_everything(observed),
    ]
}

fn answers(observed: &Observed) -> Check {
    let wrong: Vec<String> = observed
        .requests
        .iter()
        .filter(|(request, answer)| answer.as_ref() != Ok(&request.expected_status()))
        .map(|(request, answer)| {
            let got = answer
                .as_ref()
                .map_or_else(Clone::clone, |status| format!("answered {status}"));
            format!(
                "GET {} {}: {got}, expected {}",
                request.entry(),
                request.path(),
                request.expected_status()
            )
        })
        .collect();
    Check::new(
        format!(
            "the {} requests sent through the collector get the expected answers",
            observed.requests.len()
        ),
        "the services' output (run with --verbose)",
        ok_unless(&wrong, 2),
    )
}

/// Every text at every backend that contains something a person typed.
fn nothing_typed_leaves(observed: &Observed) -> Check {
    let typed: BTreeSet<&str> = observed
        .requests
        .iter()
        .flat_map(|(r, _)| r.typed())
        .collect();
    let spans = observed.backends.iter().flat_map(|backend| {
        let spans = backend.spans.iter();
        spans.map(move |span| ((backend.name, span.describe()), &span.texts))
    });
    let logs = observed.logs.iter().map(|log| {
        (
            ("Loki", format!("a log record of {}", log.service)),
            &log.texts,
        )
    });
    let typed = &typed;
    let found: Vec<String> = spans
        .chain(logs)
        .flat_map(|((backend, item), texts)| {
            texts.iter().filter_map(move |(place, text)| {
                let value = typed.iter().find(|v| text.contains(**v))?;
                Some(format!(
                    "{value:?} at {backend}, in the {place} of {item}: {text:?}"
                ))
            })
        })
        .collect();
    Check::new(
        format!(
            "nothing people typed ({} places and coordinates) reaches {}",
            typed.len(),
            backend_names(observed, true)
        ),
        hint::REDACT,
        ok_unless(&found, 2),
    )
}

fn backend_names(observed: &Observed, with_loki: bool) -> String {
    let mut names: Vec<String> = observed
        .backends
        .iter()
        .map(|b| b.name.to_owned())
        .collect();
    if with_loki {
        names.push("Loki".into());
    }
    list(&names)
}

/// Traces of `kind` at `backend`: (complete, incomplete).
fn traces_of(backend: &Backend, slow_ms: u64, kind: Kind) -> (usize, usize) {
    let traces = backend.traces(slow_ms);
    let (complete, partial): (Vec<_>, Vec<_>) = traces
        .iter()
        .filter(|trace| trace.kind == kind)
        .partition(|trace| trace.complete);
    (complete.len(), partial.len())
}

fn no_stylesheet_spans(observed: &Observed) -> Check {
    let found: Vec<String> = observed
        .backends
        .iter()
        .filter_map(|backend| {
            let (complete, partial) = traces_of(backend, observed.slow_ms, Kind::Stylesheet);
            let n = complete + partial;
            (n > 0).then(|| format!("{} has {n} traces of GET /style.css", backend.name))
        })
        .collect();
    Check::new(
        format!(
            "no span of the {} stylesheet fetches reaches {}",
            observed.sent(Kind::Stylesheet),
            backend_names(observed, false)
        ),
        hint::FILTER,
        ok_unless(&found, usize::MAX),
    )
}

fn stylesheets_counted(observed: &Observed) -> Check {
    let sent = observed.sent(Kind::Stylesheet);
    Check::new(
        format!("the collector counts the stylesheet spans it drops ({FILTERED_SPANS})"),
        hint::FILTER,
        match observed.own_total(FILTERED_SPANS, &[]) {
            None => Err(format!(
                "its own metrics have no {FILTERED_SPANS}: no filter processor dropped a span"
            )),
            Some(n) if n < sent as f64 => Err(format!(
                "it counts {n} dropped spans, fewer than the {sent} stylesheet fetches"
            )),
            Some(_) => Ok(()),
        },
    )
}

/// Every trace of `kind` (errors, slow) reaches every trace backend, whole.
fn all_kept(observed: &Observed, kind: Kind) -> Check {
    let sent = observed.sent(kind);
    let requirement = match kind {
        Kind::Error => observed.settings.keeps_errors.clone(),
        _ => observed.settings.slow_ms.clone().map(|_| ()),
    };
    let mut problems: Vec<String> = requirement.err().into_iter().collect();
    for backend in &observed.backends {
        let (complete, partial) = traces_of(backend, observed.slow_ms, kind);
        // Ordinary requests may happen to be slow on a loaded machine: they count as slow,
        // so there may be more slow traces than slow requests, never fewer.
        if complete < sent {
            problems.push(format!(
                "{} has {complete} of the {sent} whole",
                backend.name
            ));
        }
        if partial > 0 {
            problems.push(format!(
                "{} has {partial} with spans missing (a parent that never arrived)",
                backend.name
            ));
        }
    }
    let backends = backend_names(observed, false);
    let what = match kind {
        Kind::Slow => format!(
            "every slow trace ({sent}, over {} ms) reaches {backends} whole",
            observed.slow_ms
        ),
        _ => format!("every trace {kind} ({sent}) reaches {backends} whole"),
    };
    Check::new(what, hint::SAMPLE, ok_unless(&problems, usize::MAX))
}

/// The range of kept traces that counts as "about `percent` % of `n`": the binomial
/// mean plus or minus [`SIGMAS`] standard deviations.
pub fn band(n: usize, percent: f64) -> (usize, usize) {
    let p = (percent / 100.0).clamp(0.0, 1.0);
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let low = (mean - SIGMAS * sigma).floor().max(0.0) as usize;
    let high = ((mean + SIGMAS * sigma).ceil() as usize).min(n);
    (low, high)
}

fn share_kept(observed: &Observed) -> Check {
    let percent = match &observed.settings.share_percent {
        Ok(percent) => *percent,
        Err(why) => {
            return Check::new(
                "a share of the ordinary traces reaches the trace backends",
                hint::SAMPLE,
                Err(why.clone()),
            );
        }
    };
    let sent = observed.sent(Kind::Ordinary);
    let mut kept = Vec::new();
    let mut problems = Vec::new();
    for backend in &observed.backends {
        // Ordinary requests that happened to be slow were kept as slow ones.
        let (slow, _) = traces_of(backend, observed.slow_ms, Kind::Slow);
        let n = sent.saturating_sub(slow.saturating_sub(observed.sent(Kind::Slow)));
        let (complete, partial) = traces_of(backend, observed.slow_ms, Kind::Ordinary);
        let (low, high) = band(n, percent);
        kept.push(format!("{} {complete}", backend.name));
        if !(low..=high).contains(&complete) {
            problems.push(format!(
                "{} keeps {complete} of {n}, expected {low} to {high}",
                backend.name
            ));
        }
        if partial > 0 {
            problems.push(format!("{} has {partial} with spans missing", backend.name));
        }
    }
    let (low, high) = band(sent, percent);
    Check::new(
        format!(
            "about {percent} % of the {sent} ordinary traces reach the trace backends ({low} to {high}): {}",
            kept.join(", ")
        ),
        hint::SAMPLE,
        ok_unless(&problems, usize::MAX),
    )
}

/// The collector's own counters tell what sampling did: spans in, spans sent to Tempo.
fn counters_add_up(observed: &Observed) -> Check {
    let accepted = observed.own_total(ACCEPTED_SPANS, &[]);
    let tempo = [("exporter", super::pipeline::settings::TEMPO_EXPORTER)];
    let sent = observed.own_total(SENT_SPANS, &tempo);
    let at_tempo = observed
        .backends
        .iter()
        .find(|b| b.name == "Tempo")
        .map_or(0, |b| b.spans.len());
    let (Some(accepted), Some(sent)) = (accepted, sent) else {
        return Check::new(
            format!(
                "the collector's own metrics count spans in ({ACCEPTED_SPANS}) and out to Tempo ({SENT_SPANS})"
            ),
            hint::COLLECTOR,
            Err("its own metrics lack one of them".into()),
        );
    };
    let result = if sent as usize != at_tempo {
        Err(format!(
            "it says it sent {sent} spans to Tempo, but Tempo's stand-in got {at_tempo}"
        ))
    } else if sent >= accepted {
        Err(format!(
            "it sent all {sent} of the {accepted} spans it took in: nothing was sampled out"
        ))
    } else {
        Ok(())
    };
    Check::new(
        format!(
            "the collector's own metrics show what sampling did: {accepted} spans in, {sent} sent to Tempo ({:.0} %)",
            100.0 * sent / accepted.max(1.0)
        ),
        hint::SAMPLE,
        result,
    )
}

/// The span metrics are computed before sampling: they count every page.
fn red_metrics_count_everything(observed: &Observed) -> Check {
    let pages = observed.pages();
    let result = match observed.page_calls {
        None => {
            Err("no traces.span.metrics.calls for the frontend's GET / reached Prometheus".into())
        }
        Some(calls) if calls as usize == pages => Ok(()),
        Some(calls) => Err(format!(
            "they count {calls} (sampled before the span_metrics connector saw them?)"
        )),
    };
    Check::new(
        format!(
            "the RED metrics count all {pages} pages, sampled or not (traces_span_metrics_calls_total of the frontend's GET /)"
        ),
        hint::SPAN_METRICS,
        result,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::pipeline::SpanFact;
    use crate::check::pipeline::fixtures::{perfect, trace};
    use crate::check::pipeline::scenario::{self, Request};

    /// The failed checks, as `what — problem` lines.
    fn failures(observed: &Observed) -> Vec<String> {
        judge(observed)
            .iter()
            .filter(|c| !c.passed())
            .map(Check::to_string)
            .collect()
    }

    /// Exactly one check fails, and its line contains every one of `words`.
    #[track_caller]
    fn fails_once_with(observed: &Observed, words: &[&str]) {
        let failed = failures(observed);
        assert_eq!(failed.len(), 1, "{failed:#?}");
        for word in words {
            assert!(failed[0].contains(word), "{word:?} not in {}", failed[0]);
        }
    }

    fn tempo(observed: &mut Observed) -> &mut Vec<SpanFact> {
        &mut observed.backends[0].spans
    }

    #[test]
    fn the_chapters_config_passes_every_check() {
        let checks = judge(&perfect());
        assert_eq!(checks.len(), 10);
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.passed())
            .map(Check::to_string)
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
        let lines: Vec<String> = checks.iter().map(Check::to_string).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("about 10 % of the 202 ordinary traces")
                    && l.contains("Tempo 21")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_config_the_collector_refuses_is_one_failed_line() {
        let observed = Observed::without_collector(
            "config.yaml".into(),
            "'processors' unknown type: \"tail_sampler\"".into(),
        );
        let checks = judge(&observed);
        assert_eq!(checks.len(), 1);
        assert!(
            checks[0].to_string().contains("unknown type"),
            "{}",
            checks[0].to_string()
        );
    }

    #[test]
    fn a_typed_place_in_a_status_message_is_found_and_named() {
        let mut observed = perfect();
        let span = &mut observed.backends[1].spans[1];
        span.texts[0].1 = "no place called \"Narnia\" in the gazetteer".into();
        fails_once_with(
            &observed,
            &["\"Narnia\" at Jaeger", "status message", "transform"],
        );
    }

    #[test]
    fn a_typed_coordinate_in_a_log_body_is_found_and_named() {
        let mut observed = perfect();
        observed.logs[0].texts[0].1 =
            "rejected request: latitude must be between -90 and 90, got 94.04175".into();
        fails_once_with(&observed, &["\"94.04175\" at Loki", "body", "iss-distance"]);
    }

    #[test]
    fn stylesheet_spans_at_a_backend_fail() {
        let mut observed = perfect();
        let spans = trace(9_999, &scenario::stylesheet(), 2, None);
        tempo(&mut observed).extend(spans);
        // The spans also count against what the collector says it sent.
        observed.own[1].value += 2.0;
        fails_once_with(
            &observed,
            &["Tempo has 1 traces of GET /style.css", "filter"],
        );
    }

    #[test]
    fn no_filter_counter_fails() {
        let mut observed = perfect();
        observed.own.retain(|s| s.name != FILTERED_SPANS);
        fails_once_with(&observed, &["no otelcol_processor_filter_spans_filtered"]);
        let mut observed = perfect();
        observed.own[3].value = 5.0;
        fails_once_with(&observed, &["counts 5 dropped spans, fewer than the 20"]);
    }

    #[test]
    fn a_missing_or_broken_error_trace_fails() {
        let mut observed = perfect();
        let error = tempo(&mut observed).iter().position(|s| s.error).unwrap();
        let trace_id = tempo(&mut observed)[error].trace_id.clone();
        tempo(&mut observed).retain(|s| s.trace_id != trace_id);
        observed.own[1].value -= 2.0;
        fails_once_with(
            &observed,
            &[
                "every trace with an error (8)",
                "Tempo has 7 of the 8 whole",
            ],
        );

        let mut observed = perfect();
        let error = tempo(&mut observed).iter().position(|s| s.error).unwrap();
        // The SERVER span before it is the root: without it, the CLIENT span is an orphan.
        tempo(&mut observed).remove(error - 1);
        observed.own[1].value -= 1.0;
        let failed = failures(&observed);
        assert!(
            failed
                .iter()
                .any(|l| l.contains("Tempo has 1 with spans missing")),
            "{failed:#?}"
        );
    }

    #[test]
    fn a_missing_slow_trace_fails_and_a_slowed_ordinary_one_is_not_counted_against_the_share() {
        let mut observed = perfect();
        let slow: Vec<String> = observed.backends[0]
            .traces(500)
            .into_iter()
            .filter(|t| t.kind == Kind::Slow)
            .map(|t| t.trace_id)
            .collect();
        tempo(&mut observed).retain(|s| s.trace_id != slow[0]);
        observed.own[1].value -= 2.0;
        fails_once_with(
            &observed,
            &["every slow trace (3, over 500 ms)", "Tempo has 2 of the 3"],
        );

        // An ordinary request that took 600 ms was kept as slow: fine.
        let mut observed = perfect();
        let requests: Vec<Request> = observed.requests.iter().map(|(r, _)| r.clone()).collect();
        let extra = trace(8_888, &requests[1], 600, None);
        for backend in &mut observed.backends {
            backend.spans.extend(extra.clone());
        }
        observed.own[1].value += 2.0;
        assert!(failures(&observed).is_empty(), "{:#?}", failures(&observed));
    }

    #[test]
    fn keeping_every_ordinary_trace_or_none_is_not_the_share() {
        let requests: Vec<Request> = perfect().requests.into_iter().map(|(r, _)| r).collect();
        let mut observed = perfect();
        for backend in &mut observed.backends {
            let ordinary: Vec<String> = backend
                .traces(500)
                .into_iter()
                .filter(|t| t.kind == Kind::Ordinary)
                .map(|t| t.trace_id)
                .collect();
            backend.spans.retain(|s| !ordinary.contains(&s.trace_id));
        }
        let kept = observed.backends[0].spans.len() as f64;
        observed.own[1].value = kept;
        fails_once_with(
            &observed,
            &["Tempo keeps 0 of 202, expected 3 to 38", "Jaeger keeps 0"],
        );

        let mut observed = perfect();
        for backend in &mut observed.backends {
            backend.spans = requests
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind() != Kind::Stylesheet)
                .flat_map(|(n, r)| {
                    let millis = if r.kind() == Kind::Slow { 800 } else { 5 };
                    let message = (r.kind() == Kind::Error).then_some("<redacted>");
                    trace(n, r, millis, message)
                })
                .collect();
        }
        observed.own[1].value = observed.backends[0].spans.len() as f64;
        let failed = failures(&observed);
        assert!(
            failed.iter().any(|l| l.contains("Tempo keeps 202 of 202")),
            "{failed:#?}"
        );
        assert_eq!(failed.len(), 1, "{failed:#?}");

        // Nothing dropped at all: the counters say so too.
        observed.own[0].value = observed.own[1].value;
        let failed = failures(&observed);
        assert!(
            failed.iter().any(|l| l.contains("nothing was sampled out")),
            "{failed:#?}"
        );
    }

    #[test]
    fn a_config_without_the_sampler_says_so() {
        let mut observed = perfect();
        let why = "the traces pipeline that exports to `otlp_grpc/tempo` has no `tail_sampling` processor";
        observed.settings = crate::check::pipeline::settings::Settings::unreadable(why);
        let failed = failures(&observed);
        assert_eq!(failed.len(), 3, "{failed:#?}");
        assert!(failed.iter().all(|l| l.contains(why)), "{failed:#?}");
    }

    #[test]
    fn sampled_span_metrics_fail() {
        let mut observed = perfect();
        observed.page_calls = Some(21.0);
        fails_once_with(&observed, &["count 21", "span_metrics"]);
        observed.page_calls = None;
        fails_once_with(&observed, &["no traces.span.metrics.calls"]);
    }

    #[test]
    fn the_collectors_counters_must_match_what_tempo_got() {
        let mut observed = perfect();
        observed.own[1].value += 7.0;
        fails_once_with(&observed, &["but Tempo's stand-in got"]);
        let mut observed = perfect();
        observed
            .own
            .retain(|s| !s.name.starts_with("otelcol_receiver"));
        fails_once_with(&observed, &["lack one of them"]);
        // What Prometheus stores, with `_total`, counts too.
        let mut observed = perfect();
        observed.own[0].name.push_str("_total");
        assert!(failures(&observed).is_empty());
    }

    #[test]
    fn a_wrong_answer_is_named() {
        let mut observed = perfect();
        observed.requests[0].1 = Ok(502);
        fails_once_with(
            &observed,
            &["GET frontend /?location=Berlin: answered 502, expected 200"],
        );
    }

    #[test]
    fn the_band_is_four_standard_deviations_wide() {
        assert_eq!(band(202, 10.0), (3, 38));
        assert_eq!(band(200, 0.0), (0, 0));
        assert_eq!(band(200, 100.0), (200, 200));
        assert_eq!(band(0, 10.0), (0, 0));
        // 10 % is told from 25 % with 200 traces: 25 % keeps about 50.
        assert!(band(200, 10.0).1 < 40);
    }
}
