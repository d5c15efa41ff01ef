//! Received metrics: one entry per metric per export, with its data points unpacked.
//!
//! A proto `Metric` hides its points inside a `data` oneof with five shapes (gauge, sum,
//! histogram, exponential histogram, summary). [`ReceivedMetric::kind`] and
//! [`ReceivedMetric::points`] give the shape and the points without matching on it.

use std::fmt;
use std::sync::Arc;

use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, SummaryDataPoint, metric::Data, number_data_point,
};

use crate::origin::{Origin, Protocol};
use crate::value::{AttrValue, Attributes, attributes};

/// One metric from one export. Cumulative metrics arrive again with every export, so the
/// newest entry of a name holds its current value.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedMetric {
    pub origin: Arc<Origin>,
    /// The untouched proto metric, for anything the helpers below do not cover.
    pub metric: Metric,
}

/// Whether points hold the change since the last export or the total since start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Temporality {
    Unspecified,
    Delta,
    Cumulative,
}

/// The instrument shape behind a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Gauge,
    /// Counters are monotonic sums; up-down counters are non-monotonic ones.
    Sum {
        monotonic: bool,
        temporality: Temporality,
    },
    Histogram {
        temporality: Temporality,
    },
    ExponentialHistogram {
        temporality: Temporality,
    },
    Summary,
    /// The metric carried no data at all.
    Empty,
}

/// One data point: an attribute set and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct DataPoint {
    pub attributes: Attributes,
    pub value: PointValue,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
}

/// The value of a data point, by metric shape.
#[derive(Clone, Debug, PartialEq)]
pub enum PointValue {
    Int(i64),
    Double(f64),
    Histogram {
        count: u64,
        sum: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
        /// Upper bounds of the buckets; there is one more bucket than bounds.
        bounds: Vec<f64>,
        bucket_counts: Vec<u64>,
    },
    ExponentialHistogram {
        count: u64,
        sum: Option<f64>,
        scale: i32,
    },
    Summary {
        count: u64,
        sum: f64,
    },
    /// A number point without a value (malformed, but decodable).
    Missing,
}

impl PointValue {
    /// The number of a gauge or sum point as `f64`; `None` for distributions.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PointValue::Int(i) => Some(*i as f64),
            PointValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// How many measurements a histogram or summary point aggregates.
    pub fn count(&self) -> Option<u64> {
        match self {
            PointValue::Histogram { count, .. }
            | PointValue::ExponentialHistogram { count, .. }
            | PointValue::Summary { count, .. } => Some(*count),
            _ => None,
        }
    }
}

impl ReceivedMetric {
    pub fn name(&self) -> &str {
        &self.metric.name
    }

    pub fn description(&self) -> &str {
        &self.metric.description
    }

    pub fn unit(&self) -> &str {
        &self.metric.unit
    }

    pub fn kind(&self) -> MetricKind {
        match &self.metric.data {
            Some(Data::Gauge(_)) => MetricKind::Gauge,
            Some(Data::Sum(s)) => MetricKind::Sum {
                monotonic: s.is_monotonic,
                temporality: temporality(s.aggregation_temporality),
            },
            Some(Data::Histogram(h)) => MetricKind::Histogram {
                temporality: temporality(h.aggregation_temporality),
            },
            Some(Data::ExponentialHistogram(h)) => MetricKind::ExponentialHistogram {
                temporality: temporality(h.aggregation_temporality),
            },
            Some(Data::Summary(_)) => MetricKind::Summary,
            None => MetricKind::Empty,
        }
    }

    /// All data points, whatever the metric's shape.
    pub fn points(&self) -> Vec<DataPoint> {
        match &self.metric.data {
            Some(Data::Gauge(g)) => g.data_points.iter().map(number_point).collect(),
            Some(Data::Sum(s)) => s.data_points.iter().map(number_point).collect(),
            Some(Data::Histogram(h)) => h.data_points.iter().map(histogram_point).collect(),
            Some(Data::ExponentialHistogram(h)) => {
                h.data_points.iter().map(exponential_point).collect()
            }
            Some(Data::Summary(s)) => s.data_points.iter().map(summary_point).collect(),
            None => Vec::new(),
        }
    }

    /// How many data points this entry holds; the store's metric limit counts these.
    pub fn point_count(&self) -> usize {
        match &self.metric.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        }
    }

    /// The first point whose attribute `key` equals `value`, e.g. `("route", "/orbit")`.
    pub fn point_with(&self, key: &str, value: impl Into<AttrValue>) -> Option<DataPoint> {
        let value = value.into();
        self.points()
            .into_iter()
            .find(|p| p.attributes.get(key) == Some(&value))
    }

    pub fn service_name(&self) -> Option<&str> {
        self.origin.service_name()
    }

    pub fn protocol(&self) -> Protocol {
        self.origin.protocol
    }
}

fn temporality(raw: i32) -> Temporality {
    match AggregationTemporality::try_from(raw) {
        Ok(AggregationTemporality::Delta) => Temporality::Delta,
        Ok(AggregationTemporality::Cumulative) => Temporality::Cumulative,
        Ok(AggregationTemporality::Unspecified) | Err(_) => Temporality::Unspecified,
    }
}

fn number_point(p: &NumberDataPoint) -> DataPoint {
    let value = match p.value {
        Some(number_data_point::Value::AsInt(i)) => PointValue::Int(i),
        Some(number_data_point::Value::AsDouble(d)) => PointValue::Double(d),
        None => PointValue::Missing,
    };
    point(
        &p.attributes,
        value,
        p.start_time_unix_nano,
        p.time_unix_nano,
    )
}

fn histogram_point(p: &HistogramDataPoint) -> DataPoint {
    let value = PointValue::Histogram {
        count: p.count,
        sum: p.sum,
        min: p.min,
        max: p.max,
        bounds: p.explicit_bounds.clone(),
        bucket_counts: p.bucket_counts.clone(),
    };
    point(
        &p.attributes,
        value,
        p.start_time_unix_nano,
        p.time_unix_nano,
    )
}

fn exponential_point(p: &ExponentialHistogramDataPoint) -> DataPoint {
    let value = PointValue::ExponentialHistogram {
        count: p.count,
        sum: p.sum,
        scale: p.scale,
    };
    point(
        &p.attributes,
        value,
        p.start_time_unix_nano,
        p.time_unix_nano,
    )
}

fn summary_point(p: &SummaryDataPoint) -> DataPoint {
    let value = PointValue::Summary {
        count: p.count,
        sum: p.sum,
    };
    point(
        &p.attributes,
        value,
        p.start_time_unix_nano,
        p.time_unix_nano,
    )
}

fn point(
    attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    value: PointValue,
    start_time_unix_nano: u64,
    time_unix_nano: u64,
) -> DataPoint {
    DataPoint {
        attributes: attributes(attrs),
        value,
        start_time_unix_nano,
        time_unix_nano,
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricKind::Sum {
                monotonic: true, ..
            } => f.write_str("counter"),
            MetricKind::Sum {
                monotonic: false, ..
            } => f.write_str("up-down counter"),
            MetricKind::Gauge => f.write_str("gauge"),
            MetricKind::Histogram { .. } => f.write_str("histogram"),
            MetricKind::ExponentialHistogram { .. } => f.write_str("exponential histogram"),
            MetricKind::Summary => f.write_str("summary"),
            MetricKind::Empty => f.write_str("empty"),
        }
    }
}
