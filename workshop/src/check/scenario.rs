//! The fixed scenario `check` drives, and everything the checks expect that follows from it.
//!
//! Every expected number (requests that reach iss-distance, ISS API calls by status, SERVER
//! spans per service and their status codes, …) is derived from [`Scenario::steps`], so
//! changing the scenario changes the expectations with it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::harness::Harness;

/// `tracestate` the check sends with its own `traceparent`.
pub const TRACESTATE: &str = "workshop=check";
/// `baggage` the check sends with them, as a stranger would: it must go no further than the
/// frontend.
pub const BAGGAGE: &str = "workshop.check=from-outside";
/// `baggage` the check sends to the gateway, as a service of ours would: it must travel on
/// to geolocator and iss-distance, and no further (not to the ISS API).
pub const OUR_BAGGAGE: &str = "workshop.check.ours=from-inside";

/// The key of a `baggage` header's entries (`key=value;properties`, comma-separated).
pub fn baggage_keys(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(',')
        .filter_map(|entry| entry.split(['=', ';']).next())
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

/// Section 0 starts this service a second time, to see a new `service.instance.id` at every
/// start, and `OTEL_SERVICE_NAME` honoured.
pub const REPLICA_OF: &str = "geolocator";
/// The second copy's `OTEL_SERVICE_NAME`: its resource must carry this name.
pub const REPLICA_NAME: &str = "geolocator-replica";
/// The `service.name` its `OTEL_RESOURCE_ATTRIBUTES` gives: `OTEL_SERVICE_NAME` wins over it.
pub const REPLICA_NAME_IN_ATTRIBUTES: &str = "geolocator-from-resource-attributes";

/// The upstream that iss-distance calls: the ISS API (the check's stub).
pub const ISS_API: &str = "the ISS API";

/// The services, by name, with the SERVER span name and route each one's handler has.
pub const ROUTES: [(&str, &str); 4] = [
    ("frontend", "/"),
    ("gateway", "/distance"),
    ("geolocator", "/coordinates"),
    ("iss-distance", "/distance"),
];

/// A place the scenario asks for, and whether geolocator's gazetteer has it (a unit test
/// below asks the real gazetteer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    /// A place the gazetteer finds: geolocator answers 200.
    Known(&'static str),
    /// A place it lacks: geolocator answers 404.
    Unknown(&'static str),
}

impl Place {
    pub fn name(self) -> &'static str {
        match self {
            Place::Known(name) | Place::Unknown(name) => name,
        }
    }

    /// What geolocator answers for it.
    pub fn status(self) -> u16 {
        match self {
            Place::Known(_) => 200,
            Place::Unknown(_) => 404,
        }
    }
}

/// One request the scenario sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// `GET /?location=` on the frontend; `propagate` sends the scenario's trace context.
    Page { location: Place, propagate: bool },
    /// `GET /distance?location=` on the gateway.
    Distance { location: Place },
    /// `GET /distance?latitude=&longitude=` straight to iss-distance.
    Coordinates {
        latitude: &'static str,
        longitude: &'static str,
    },
    /// `GET /style.css` on the frontend, as a browser fetches it after every page (section
    /// 6's filter drops its traces).
    Stylesheet,
}

/// What the ISS API stand-in answers while a step runs.
pub use crate::harness::IssAnswer;

impl IssAnswer {
    /// How iss-distance's call ends, as `iss.requests` and its CLIENT span record it: an
    /// answer that cannot be decoded is a failure like an error status.
    pub fn call(self) -> CallOutcome {
        match self {
            IssAnswer::Position | IssAnswer::Slow(_) => CallOutcome::answered(200),
            IssAnswer::Status(status) => CallOutcome::answered(status),
            IssAnswer::Garbage => CallOutcome {
                status: 200,
                error_type: Some(INVALID_RESPONSE.to_owned()),
            },
        }
    }
}

/// `error.type` of a call whose answer cannot be used (the semantic conventions let a
/// client pick a low-cardinality name; service-kit's `UpstreamError::error_type` uses this).
pub const INVALID_RESPONSE: &str = "invalid_response";

/// How one outgoing call ends, in the semantic conventions' terms: the
/// `http.response.status_code` and the `error.type` its CLIENT span (and `iss.requests`)
/// carry. Every call of the scenario gets an answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallOutcome {
    pub status: u16,
    /// Set exactly when the call failed.
    pub error_type: Option<String>,
}

impl CallOutcome {
    /// A call answered with `status`: from 400 on a failure, whose `error.type` is the
    /// status code.
    pub fn answered(status: u16) -> CallOutcome {
        CallOutcome {
            status,
            error_type: (status >= 400).then(|| status.to_string()),
        }
    }
}

impl std::fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error_type {
            None => write!(f, "{}", self.status),
            Some(error_type) => write!(f, "{} error.type={error_type}", self.status),
        }
    }
}

/// Calls counted by status code alone.
pub fn by_status(calls: &BTreeMap<CallOutcome, usize>) -> BTreeMap<u16, usize> {
    let mut statuses = BTreeMap::new();
    for (call, n) in calls {
        *statuses.entry(call.status).or_insert(0) += n;
    }
    statuses
}

/// One step: what the ISS API stub answers while it runs, and the request.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub iss_api: IssAnswer,
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
    /// request straight to iss-distance, an ISS API failure and an unusable ISS API answer
    /// through the gateway, and a place nobody knows through the frontend.
    pub fn standard(context: TraceContext) -> Self {
        let page = |location| Step {
            iss_api: IssAnswer::Position,
            request: Request::Page {
                location: Place::Known(location),
                propagate: false,
            },
        };
        let berlin_with = |iss_api| Step {
            iss_api,
            request: Request::Distance {
                location: Place::Known("Berlin"),
            },
        };
        Scenario {
            steps: vec![
                page("Berlin"),
                page("Tokyo"),
                page("Zurich"),
                Step {
                    iss_api: IssAnswer::Position,
                    request: Request::Page {
                        location: Place::Known("Paris"),
                        propagate: true,
                    },
                },
                Step {
                    iss_api: IssAnswer::Position,
                    request: Request::Coordinates {
                        latitude: "abc",
                        longitude: "1",
                    },
                },
                berlin_with(IssAnswer::Status(500)),
                berlin_with(IssAnswer::Garbage),
                Step {
                    iss_api: IssAnswer::Position,
                    request: Request::Page {
                        location: Place::Unknown(UNKNOWN_PLACE),
                        propagate: false,
                    },
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

    /// The ISS API's answers to iss-distance, in the order it asks.
    pub fn iss_answers(&self) -> Vec<IssAnswer> {
        self.steps.iter().filter_map(Step::iss_call).collect()
    }

    /// iss-distance's calls to the ISS API, counted by how they end.
    pub fn iss_calls(&self) -> BTreeMap<CallOutcome, usize> {
        count(self.iss_answers().into_iter().map(IssAnswer::call))
    }

    /// Requests iss-distance rejects before calling the ISS API.
    pub fn rejected(&self) -> usize {
        self.steps.iter().filter(|s| !s.valid()).count()
    }

    /// `service`'s outgoing calls (its CLIENT spans), counted by how they end.
    pub fn calls_from(&self, service: &str) -> BTreeMap<CallOutcome, usize> {
        count(self.steps.iter().flat_map(|s| s.calls_from(service)))
    }

    /// `service`'s outgoing calls, counted by upstream and how they end.
    pub fn calls_to_upstreams(
        &self,
        service: &str,
    ) -> BTreeMap<(&'static str, CallOutcome), usize> {
        count(self.steps.iter().flat_map(|s| s.calls(service)))
    }

    /// The frontend requests answered 200, which must each be one trace across the four
    /// services.
    pub fn traced_pages(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.entry() == "frontend" && s.expected_status() == 200)
            .count()
    }
}

/// A place name geolocator's gazetteer lacks.
pub const UNKNOWN_PLACE: &str = "Nowhere";

fn count<T: Ord>(values: impl Iterator<Item = T>) -> BTreeMap<T, usize> {
    let mut counted = BTreeMap::new();
    for value in values {
        *counted.entry(value).or_insert(0) += 1;
    }
    counted
}

/// What a service answers when an upstream answered `status`: a 4xx is passed on (the
/// caller's mistake), a failure becomes 502 (service-kit's `UpstreamError::status`).
fn passed_on(status: u16) -> u16 {
    if status >= 500 { 502 } else { status }
}

impl Step {
    /// The service the request is sent to.
    pub fn entry(&self) -> &'static str {
        match self.request {
            Request::Page { .. } | Request::Stylesheet => "frontend",
            Request::Distance { .. } => "gateway",
            Request::Coordinates { .. } => "iss-distance",
        }
    }

    /// Path and query, percent-encoded.
    pub fn path(&self) -> String {
        let pairs: Vec<(&str, &str)> = match &self.request {
            Request::Page { location, .. } | Request::Distance { location } => {
                vec![("location", location.name())]
            }
            Request::Coordinates {
                latitude,
                longitude,
            } => vec![("latitude", latitude), ("longitude", longitude)],
            Request::Stylesheet => return "/style.css".to_owned(),
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

    /// The `baggage` header the check sends: a stranger's to the frontend, with the trace
    /// context it continues; its own to the gateway, as the frontend would.
    pub fn baggage(&self) -> Option<&'static str> {
        match self.request {
            Request::Page {
                propagate: true, ..
            } => Some(BAGGAGE),
            Request::Distance { .. } => Some(OUR_BAGGAGE),
            _ => None,
        }
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

    /// What geolocator answers, if the gateway asks it.
    fn geolocator(&self) -> Option<u16> {
        match self.request {
            Request::Page { location, .. } | Request::Distance { location } => {
                Some(location.status())
            }
            Request::Coordinates { .. } | Request::Stylesheet => None,
        }
    }

    /// Whether the request gets to iss-distance: straight, or once the place is found.
    fn reaches_iss_distance(&self) -> bool {
        let stylesheet = self.request == Request::Stylesheet;
        !stylesheet && self.geolocator().is_none_or(|status| status == 200)
    }

    /// The ISS API's answer, if iss-distance calls it.
    pub fn iss_call(&self) -> Option<IssAnswer> {
        (self.reaches_iss_distance() && self.valid()).then_some(self.iss_api)
    }

    /// What `service` answers during this step, or `None` if the request never reaches it.
    pub fn status_at(&self, service: &str) -> Option<u16> {
        let iss_distance = self.reaches_iss_distance().then(|| match self.iss_call() {
            None => 400,
            // ISS_SOURCE=api: an ISS API failure is a bad gateway.
            Some(answer) if answer.call().error_type.is_some() => 502,
            Some(_) => 200,
        });
        let entry = self.entry();
        // The gateway passes on geolocator's "not found", else iss-distance's answer.
        let gateway = match self.geolocator() {
            Some(status) if status != 200 => Some(passed_on(status)),
            _ => iss_distance.map(passed_on),
        };
        match service {
            "frontend" if self.request == Request::Stylesheet => Some(200),
            "iss-distance" => iss_distance,
            "geolocator" => self.geolocator(),
            "gateway" if entry != "iss-distance" => gateway,
            "frontend" if entry == "frontend" => gateway.map(passed_on),
            _ => None,
        }
    }

    /// How `service`'s outgoing calls end during this step, in the order it makes them.
    pub fn calls_from(&self, service: &str) -> Vec<CallOutcome> {
        self.calls(service)
            .into_iter()
            .map(|(_, call)| call)
            .collect()
    }

    /// `service`'s outgoing calls during this step, each with the upstream it goes to (a
    /// service, or [`ISS_API`]), in the order it makes them.
    pub fn calls(&self, service: &str) -> Vec<(&'static str, CallOutcome)> {
        let answered = |upstream: &'static str| {
            self.status_at(upstream)
                .map(|status| (upstream, CallOutcome::answered(status)))
        };
        match service {
            "frontend" if self.entry() == "frontend" => answered("gateway").into_iter().collect(),
            "gateway" if self.entry() != "iss-distance" => answered("geolocator")
                .into_iter()
                .chain(answered("iss-distance"))
                .collect(),
            "iss-distance" => self
                .iss_call()
                .map(|answer| (ISS_API, answer.call()))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The status the check must get back.
    pub fn expected_status(&self) -> u16 {
        self.status_at(self.entry()).expect("the entry answers")
    }

    /// One line describing the request, e.g. `GET frontend /?location=Berlin`.
    pub fn describe(&self) -> String {
        let context = match (self.propagates(), self.baggage()) {
            (true, _) => " with traceparent",
            (false, Some(_)) => " with baggage",
            (false, None) => "",
        };
        let api = match self.iss_api {
            IssAnswer::Position => String::new(),
            answer => format!(" (ISS API answering {answer})"),
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

/// How [`drive`] sends the steps.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Requests in flight at once.
    pub at_once: usize,
    /// The longest one request may take.
    pub timeout: Duration,
    /// The longest all may take; later steps are not sent.
    pub budget: Option<Duration>,
}

/// The longest one request of the standard scenario may take (the services answer in
/// milliseconds; their own upstream timeouts are longer, but a check must not wait for
/// them).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// The standard scenario's pace: one request at a time, all within 15 s.
pub const STEP_BY_STEP: Pace = Pace {
    at_once: 1,
    timeout: REQUEST_TIMEOUT,
    budget: Some(Duration::from_secs(15)),
};

/// Sends the steps in order, [`Pace::at_once`] at a time, switching the harness's ISS API
/// stand-in before each run of steps that need another answer. Steps that propagate carry
/// `context`.
pub async fn drive(
    steps: &[Step],
    harness: &Harness,
    context: Option<&TraceContext>,
    pace: Pace,
) -> anyhow::Result<Vec<Outcome>> {
    let client = reqwest::Client::builder().timeout(pace.timeout).build()?;
    let deadline = pace.budget.and_then(|b| Instant::now().checked_add(b));
    let mut outcomes = Vec::new();
    for run in steps.chunk_by(|a, b| a.iss_api == b.iss_api) {
        harness.iss_api.answer_with(run[0].iss_api);
        for batch in run.chunks(pace.at_once) {
            let sent = batch.iter().map(|step| async {
                let answer = match deadline {
                    Some(deadline) if Instant::now() > deadline => Err(format!(
                        "not sent: the scenario took longer than {} s",
                        pace.budget.unwrap_or_default().as_secs()
                    )),
                    _ => send(&client, harness, context, step).await,
                };
                Outcome {
                    step: step.clone(),
                    answer,
                }
            });
            outcomes.extend(join_all(sent).await);
        }
    }
    Ok(outcomes)
}

/// Sends one step's request; its status, read to the end (so that it is complete before
/// the next one starts), or why there is none.
async fn send(
    client: &reqwest::Client,
    harness: &Harness,
    context: Option<&TraceContext>,
    step: &Step,
) -> Result<u16, String> {
    let mut request = client.get(harness.url(step.entry(), &step.path()));
    if let Some(context) = context.filter(|_| step.propagates()) {
        request = request
            .header("traceparent", context.traceparent())
            .header("tracestate", TRACESTATE);
    }
    if let Some(baggage) = step.baggage() {
        request = request.header("baggage", baggage);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Ok(status)
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

    fn calls(pairs: &[(u16, Option<&str>, usize)]) -> BTreeMap<CallOutcome, usize> {
        super::super::fixtures::calls(pairs).into_iter().collect()
    }

    #[test]
    fn the_expectations_follow_from_the_steps() {
        let s = scenario();
        assert_eq!(s.requests_to("iss-distance"), 7);
        assert_eq!(
            s.iss_answers(),
            [
                IssAnswer::Position,
                IssAnswer::Position,
                IssAnswer::Position,
                IssAnswer::Position,
                IssAnswer::Status(500),
                IssAnswer::Garbage
            ]
        );
        assert_eq!(
            s.iss_calls(),
            calls(&[
                (200, None, 4),
                (200, Some("invalid_response"), 1),
                (500, Some("500"), 1)
            ])
        );
        assert_eq!(s.rejected(), 1);
        assert_eq!(s.requests_to("frontend"), 5);
        assert_eq!(s.requests_to("gateway"), 7);
        assert_eq!(s.requests_to("geolocator"), 7);
        assert_eq!(
            s.statuses_at("iss-distance"),
            BTreeMap::from([(200, 4), (400, 1), (502, 2)])
        );
        assert_eq!(
            s.statuses_at("gateway"),
            BTreeMap::from([(200, 4), (404, 1), (502, 2)])
        );
        assert_eq!(
            s.statuses_at("geolocator"),
            BTreeMap::from([(200, 6), (404, 1)])
        );
        assert_eq!(
            s.calls_from("frontend"),
            calls(&[(200, None, 4), (404, Some("404"), 1)])
        );
        assert_eq!(
            s.calls_from("gateway"),
            calls(&[
                (200, None, 10),
                (404, Some("404"), 1),
                (502, Some("502"), 2)
            ])
        );
        assert_eq!(s.calls_from("iss-distance"), s.iss_calls());
        let gateway_calls = s.calls_to_upstreams("gateway");
        assert_eq!(
            gateway_calls,
            BTreeMap::from([
                (("geolocator", CallOutcome::answered(200)), 6),
                (("geolocator", CallOutcome::answered(404)), 1),
                (("iss-distance", CallOutcome::answered(200)), 4),
                (("iss-distance", CallOutcome::answered(502)), 2),
            ])
        );
        assert!(
            s.calls_to_upstreams("iss-distance")
                .keys()
                .all(|(upstream, _)| *upstream == ISS_API)
        );
        assert_eq!(s.traced_pages(), 4);
        assert_eq!(
            s.steps
                .iter()
                .map(Step::expected_status)
                .collect::<Vec<_>>(),
            [200, 200, 200, 200, 400, 502, 502, 404]
        );
        assert_eq!(
            s.steps[6].describe(),
            "GET gateway /distance?location=Berlin with baggage (ISS API answering 200 with an unusable position)"
        );
        let baggage: Vec<Option<&str>> = s.steps.iter().map(Step::baggage).collect();
        assert_eq!(
            baggage,
            [
                None,
                None,
                None,
                Some(BAGGAGE),
                None,
                Some(OUR_BAGGAGE),
                Some(OUR_BAGGAGE),
                None
            ]
        );
    }

    /// The places' status codes come from geolocator's real gazetteer.
    #[test]
    fn the_gazetteer_knows_the_known_places_and_not_the_unknown_one() {
        let gazetteer = geolocator::gazetteer::Gazetteer::embedded();
        let places = scenario()
            .steps
            .into_iter()
            .filter_map(|s| match s.request {
                Request::Page { location, .. } | Request::Distance { location } => Some(location),
                Request::Coordinates { .. } | Request::Stylesheet => None,
            });
        for place in places {
            let found = gazetteer.lookup(place.name()).is_some();
            assert_eq!(found, place == Place::Known(place.name()), "{place:?}");
        }
    }

    #[test]
    fn baggage_keys_are_read_as_the_w3c_format_writes_them() {
        let keys: Vec<&str> =
            baggage_keys("workshop.check.ours=from-inside, session.kind=demo;p=1,=x,bare")
                .collect();
        assert_eq!(keys, ["workshop.check.ours", "session.kind", "bare"]);
        assert_eq!(
            baggage_keys(BAGGAGE).collect::<Vec<_>>(),
            ["workshop.check"]
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
