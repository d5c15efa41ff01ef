//! The fixed scenario `check` drives, and everything the checks expect that follows from it.
//!
//! Every expected number (requests that reach iss-distance, ISS API calls by status, SERVER
//! spans per service and their status codes, …) is derived from [`Scenario::steps`], so
//! changing the scenario changes the expectations with it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ports::Ports;

/// `tracestate` the check sends with its own `traceparent`.
pub const TRACESTATE: &str = "workshop=check";
/// `baggage` the check sends with them, as a stranger would: it must go no further than the
/// frontend.
pub const BAGGAGE: &str = "workshop.check=from-outside";

/// The services, by name, with the SERVER span name and route each one's handler has.
pub const ROUTES: [(&str, &str); 4] = [
    ("frontend", "/"),
    ("gateway", "/distance"),
    ("geolocator", "/coordinates"),
    ("iss-distance", "/distance"),
];

/// One request the scenario sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `GET /?location=` on the frontend; `propagate` sends the scenario's trace context.
    Page {
        location: &'static str,
        propagate: bool,
    },
    /// `GET /distance?location=` on the gateway.
    Distance { location: &'static str },
    /// `GET /distance?latitude=&longitude=` straight to iss-distance.
    Coordinates {
        latitude: &'static str,
        longitude: &'static str,
    },
}

/// One step: what the ISS API stub answers while it runs, and the request.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The status the stub answers with (200 with a position, or an error).
    pub iss_api: u16,
    pub request: Request,
}

/// A W3C trace context the check makes up and sends, to see it honoured.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceContext {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits: the span the frontend's SERVER span must name as parent.
    pub parent_id: String,
}

impl TraceContext {
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.parent_id)
    }
}

/// The whole scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub steps: Vec<Step>,
    pub context: TraceContext,
}

impl Scenario {
    /// Three successful requests through the frontend, one more carrying `context`, a bad
    /// request straight to iss-distance, then an ISS API failure through the gateway.
    pub fn standard(context: TraceContext) -> Self {
        let page = |location| Step {
            iss_api: 200,
            request: Request::Page {
                location,
                propagate: false,
            },
        };
        Scenario {
            steps: vec![
                page("Berlin"),
                page("Tokyo"),
                page("Zurich"),
                Step {
                    iss_api: 200,
                    request: Request::Page {
                        location: "Paris",
                        propagate: true,
                    },
                },
                Step {
                    iss_api: 200,
                    request: Request::Coordinates {
                        latitude: "abc",
                        longitude: "1",
                    },
                },
                Step {
                    iss_api: 500,
                    request: Request::Distance { location: "Berlin" },
                },
            ],
            context,
        }
    }

    /// How many requests reach `service`'s handler (its SERVER spans).
    pub fn requests_to(&self, service: &str) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status_at(service).is_some())
            .count()
    }

    /// The status codes `service` answers the scenario with, counted.
    pub fn statuses_at(&self, service: &str) -> BTreeMap<u16, usize> {
        count(self.steps.iter().filter_map(|s| s.status_at(service)))
    }

    /// The ISS API's answers to iss-distance, counted by status.
    pub fn iss_calls(&self) -> BTreeMap<u16, usize> {
        count(self.steps.iter().filter_map(Step::iss_call))
    }

    /// Requests iss-distance rejects before calling the ISS API.
    pub fn rejected(&self) -> usize {
        self.steps.iter().filter(|s| !s.valid()).count()
    }

    /// The status codes of `service`'s outgoing calls (its CLIENT spans), counted.
    pub fn calls_from(&self, service: &str) -> BTreeMap<u16, usize> {
        let mut calls = Vec::new();
        for step in &self.steps {
            match service {
                "frontend" => calls.extend(
                    step.status_at("gateway")
                        .filter(|_| step.entry() == "frontend"),
                ),
                "gateway" => {
                    calls.extend(step.status_at("geolocator"));
                    calls.extend(
                        step.status_at("iss-distance")
                            .filter(|_| step.entry() != "iss-distance"),
                    );
                }
                "iss-distance" => calls.extend(step.iss_call()),
                _ => {}
            }
        }
        count(calls.into_iter())
    }

    /// The frontend requests (all successful) that must each be one trace across the four
    /// services.
    pub fn traced_pages(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.entry() == "frontend" && s.expected_status() == 200)
            .count()
    }
}

fn count(values: impl Iterator<Item = u16>) -> BTreeMap<u16, usize> {
    let mut counted = BTreeMap::new();
    for value in values {
        *counted.entry(value).or_insert(0) += 1;
    }
    counted
}

impl Step {
    /// The service the request is sent to.
    pub fn entry(&self) -> &'static str {
        match self.request {
            Request::Page { .. } => "frontend",
            Request::Distance { .. } => "gateway",
            Request::Coordinates { .. } => "iss-distance",
        }
    }

    /// Path and query, percent-encoded.
    pub fn path(&self) -> String {
        let pairs: Vec<(&str, &str)> = match &self.request {
            Request::Page { location, .. } | Request::Distance { location } => {
                vec![("location", location)]
            }
            Request::Coordinates {
                latitude,
                longitude,
            } => vec![("latitude", latitude), ("longitude", longitude)],
        };
        let route = match self.request {
            Request::Page { .. } => "/",
            _ => "/distance",
        };
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{route}?{}", query.join("&"))
    }

    pub fn propagates(&self) -> bool {
        matches!(
            self.request,
            Request::Page {
                propagate: true,
                ..
            }
        )
    }

    /// Whether iss-distance accepts the coordinates (requests through the gateway carry
    /// the gazetteer's, which always are).
    pub fn valid(&self) -> bool {
        match self.request {
            Request::Coordinates {
                latitude,
                longitude,
            } => degrees(latitude, 90.0) && degrees(longitude, 180.0),
            _ => true,
        }
    }

    /// The ISS API's status, if iss-distance calls it.
    pub fn iss_call(&self) -> Option<u16> {
        self.valid().then_some(self.iss_api)
    }

    /// What `service` answers during this step, or `None` if the request never reaches it.
    pub fn status_at(&self, service: &str) -> Option<u16> {
        let iss_distance = match self.iss_call() {
            None => 400,
            Some(200) => 200,
            // ISS_SOURCE=api: an ISS API failure is a bad gateway.
            Some(_) => 502,
        };
        // The gateway passes a 4xx on and turns an upstream 5xx into a 502; the frontend
        // answers with the gateway's status.
        let gateway = if iss_distance >= 500 {
            502
        } else {
            iss_distance
        };
        let entry = self.entry();
        match service {
            "iss-distance" => Some(iss_distance),
            "geolocator" | "gateway" if entry == "iss-distance" => None,
            "geolocator" => Some(200),
            "gateway" => Some(gateway),
            "frontend" if entry == "frontend" => Some(gateway),
            _ => None,
        }
    }

    /// The status the check must get back.
    pub fn expected_status(&self) -> u16 {
        self.status_at(self.entry()).expect("the entry answers")
    }

    /// One line describing the request, e.g. `GET frontend /?location=Berlin`.
    pub fn describe(&self) -> String {
        let context = if self.propagates() {
            " with traceparent"
        } else {
            ""
        };
        let api = if self.iss_api == 200 {
            String::new()
        } else {
            format!(" (ISS API answering {})", self.iss_api)
        };
        format!("GET {} {}{context}{api}", self.entry(), self.path())
    }
}

fn degrees(text: &str, limit: f64) -> bool {
    text.trim()
        .parse::<f64>()
        .is_ok_and(|v| v.is_finite() && v.abs() <= limit)
}

/// Percent-encodes a query value (the scenario's places are plain ASCII, but be safe).
fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What happened to one step.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub step: Step,
    /// The status answered, or why there was none.
    pub answer: Result<u16, String>,
}

impl Outcome {
    pub fn as_expected(&self) -> bool {
        self.answer
            .as_ref()
            .is_ok_and(|s| *s == self.step.expected_status())
    }
}

/// The longest one request may take (the services answer in milliseconds; their own
/// upstream timeouts are longer, but a check must not wait for them).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// The longest the whole scenario may take; later steps are not sent.
const SCENARIO_BUDGET: Duration = Duration::from_secs(15);

/// Sends the steps one after the other, switching the stub before each.
pub async fn drive(
    scenario: &Scenario,
    ports: &Ports,
    set_iss_api: impl Fn(u16),
) -> anyhow::Result<Vec<Outcome>> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let deadline = std::time::Instant::now() + SCENARIO_BUDGET;
    let mut outcomes = Vec::new();
    for step in &scenario.steps {
        if std::time::Instant::now() > deadline {
            outcomes.push(Outcome {
                step: step.clone(),
                answer: Err(format!(
                    "not sent: the scenario took longer than {} s",
                    SCENARIO_BUDGET.as_secs()
                )),
            });
            continue;
        }
        set_iss_api(step.iss_api);
        let port = ports
            .all()
            .into_iter()
            .find(|(name, _)| *name == step.entry())
            .map(|(_, port)| port)
            .expect("every entry is a service");
        let mut request = client.get(format!("http://127.0.0.1:{port}{}", step.path()));
        if step.propagates() {
            request = request
                .header("traceparent", scenario.context.traceparent())
                .header("tracestate", TRACESTATE)
                .header("baggage", BAGGAGE);
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the body so the request is complete before the next one starts.
                let _ = response.bytes().await;
                Ok(status)
            }
            Err(error) => Err(format!("{error}")),
        };
        outcomes.push(Outcome {
            step: step.clone(),
            answer,
        });
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::standard(TraceContext {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            parent_id: "b7ad6b7169203331".into(),
        })
    }

    #[test]
    fn the_expectations_follow_from_the_steps() {
        let s = scenario();
        assert_eq!(s.requests_to("iss-distance"), 6);
        assert_eq!(s.iss_calls(), BTreeMap::from([(200, 4), (500, 1)]));
        assert_eq!(s.rejected(), 1);
        assert_eq!(s.requests_to("frontend"), 4);
        assert_eq!(s.requests_to("gateway"), 5);
        assert_eq!(s.requests_to("geolocator"), 5);
        assert_eq!(
            s.statuses_at("iss-distance"),
            BTreeMap::from([(200, 4), (400, 1), (502, 1)])
        );
        assert_eq!(
            s.statuses_at("gateway"),
            BTreeMap::from([(200, 4), (502, 1)])
        );
        assert_eq!(s.calls_from("frontend"), BTreeMap::from([(200, 4)]));
        assert_eq!(
            s.calls_from("gateway"),
            BTreeMap::from([(200, 9), (502, 1)])
        );
        assert_eq!(s.calls_from("iss-distance"), s.iss_calls());
        assert_eq!(s.traced_pages(), 4);
        assert_eq!(
            s.steps
                .iter()
                .map(Step::expected_status)
                .collect::<Vec<_>>(),
            [200, 200, 200, 200, 400, 502]
        );
    }

    #[test]
    fn paths_are_encoded() {
        let s = scenario();
        assert_eq!(s.steps[0].path(), "/?location=Berlin");
        assert_eq!(s.steps[4].path(), "/distance?latitude=abc&longitude=1");
        assert_eq!(
            s.context.traceparent(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert_eq!(encode("São Paulo"), "S%C3%A3o%20Paulo");
    }
}
