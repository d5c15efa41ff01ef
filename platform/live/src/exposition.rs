//! Reads the Prometheus text format that the collector serves about itself.

use std::collections::BTreeMap;

/// Sums the samples by metric name and component (`exporter` or `receiver` label):
/// `otelcol_exporter_sent_spans_total{otlp_grpc/tempo}` → 42. Comments and other labels
/// are dropped; a line that does not parse is skipped.
pub fn totals_by_component(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = match line.rsplit_once(' ') {
            Some(parts) => parts,
            None => continue,
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let component = labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| matches!(*key, "exporter" | "receiver"))
            .map(|(_, v)| v.trim_matches('"').to_owned());
        let key = match component {
            Some(c) => format!("{name}{{{c}}}"),
            None => name.to_owned(),
        };
        *out.entry(key).or_insert(0.0) += value;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_summed_by_name_and_component() {
        let text = r#"# HELP otelcol_exporter_sent_spans_total Number of spans sent.
# TYPE otelcol_exporter_sent_spans_total counter
otelcol_exporter_sent_spans_total{exporter="otlp_grpc/tempo",otel_scope_name="x"} 40
otelcol_exporter_sent_spans_total{exporter="otlp_grpc/tempo",otel_scope_name="y"} 2
otelcol_exporter_sent_spans_total{exporter="otlp_grpc/jaeger"} 7
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"} 49
otelcol_process_uptime_seconds_total 3.5
garbage line
"#;
        let totals = totals_by_component(text);
        assert_eq!(
            totals["otelcol_exporter_sent_spans_total{otlp_grpc/tempo}"],
            42.0
        );
        assert_eq!(
            totals["otelcol_exporter_sent_spans_total{otlp_grpc/jaeger}"],
            7.0
        );
        assert_eq!(totals["otelcol_receiver_accepted_spans_total{otlp}"], 49.0);
        assert_eq!(totals["otelcol_process_uptime_seconds_total"], 3.5);
        assert_eq!(totals.len(), 4);
    }
}
