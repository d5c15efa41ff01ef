//! Reads the Prometheus text format that the collector serves about itself.

use std::collections::BTreeMap;

/// One sample: a metric name, its labels and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Every sample of the text. Comments are skipped, and so is a line that does not parse.
/// (The collector's own exposition has no timestamps, escaped quotes or commas inside
/// label values, so a small parser does; a Prometheus client crate would bring a whole
/// registry for this.)
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(sample)
        .collect()
}

fn sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = value.parse::<f64>().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => (name, labels.trim_end_matches('}')),
        None => (series, ""),
    };
    let labels = labels
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, v)| (key.trim().to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Sums the samples by metric name and component (`exporter` or `receiver` label):
/// `otelcol_exporter_sent_spans_total{otlp_grpc/tempo}` → 42. Other labels are dropped.
pub fn totals_by_component(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for sample in samples(text) {
        let component = sample.label("exporter").or(sample.label("receiver"));
        let key = match component {
            Some(c) => format!("{}{{{c}}}", sample.name),
            None => sample.name.clone(),
        };
        *out.entry(key).or_insert(0.0) += sample.value;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP otelcol_exporter_sent_spans_total Number of spans sent.
# TYPE otelcol_exporter_sent_spans_total counter
otelcol_exporter_sent_spans_total{exporter="otlp_grpc/tempo",otel_scope_name="x"} 40
otelcol_exporter_sent_spans_total{exporter="otlp_grpc/tempo",otel_scope_name="y"} 2
otelcol_exporter_sent_spans_total{exporter="otlp_grpc/jaeger"} 7
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"} 49
otelcol_process_uptime_seconds_total 3.5
garbage line
"#;

    #[test]
    fn samples_are_summed_by_name_and_component() {
        let totals = totals_by_component(TEXT);
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

    #[test]
    fn every_label_of_a_sample_is_kept() {
        let all = samples(TEXT);
        assert_eq!(all.len(), 5, "{all:?}");
        assert_eq!(all[3].label("transport"), Some("http"));
        assert_eq!(all[4].labels.len(), 0);
        assert_eq!(all[4].value, 3.5);
    }
}
