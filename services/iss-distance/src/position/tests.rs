//! The locator against a stand-in for the ISS API (wiremock): what it remembers, the call
//! requests share, the pause after failures and its end, `Retry-After`, and strict `api`
//! mode. Time is a clock the tests move, so no test waits for a pause to pass.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use service_kit::config::Timeouts;
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::backoff::Backoff;

const TIMEOUT: Duration = Duration::from_millis(300);

/// A clock that stands still until the test moves it.
#[derive(Clone)]
struct TestClock {
    start: Instant,
    elapsed: Arc<Mutex<Duration>>,
}

impl TestClock {
    fn new() -> Self {
        TestClock {
            start: Instant::now(),
            elapsed: Arc::default(),
        }
    }

    fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap() += by;
    }

    fn clock(&self) -> Clock {
        let this = self.clone();
        Clock::with(move || this.start + *this.elapsed.lock().unwrap())
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn position_body(latitude: &str) -> serde_json::Value {
    json!({"message": "success", "timestamp": 1763800000,
           "iss_position": {"latitude": latitude, "longitude": "2.5"}})
}

fn answering(latitude: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(position_body(latitude))
}

/// The stand-in API, answering `response` until told otherwise.
async fn api(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    answer_with(&server, response).await;
    server
}

async fn answer_with(server: &MockServer, response: ResponseTemplate) {
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn calls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn locator(server: &MockServer, source: Source, courtesy: Courtesy, clock: &TestClock) -> Locator {
    let timeouts = Timeouts {
        connect: ms(500),
        total: TIMEOUT,
    };
    let url = Url::parse(&format!("{}/iss-now.json", server.uri())).unwrap();
    let model = match source {
        Source::Api => None,
        _ => Some(OrbitalModel::embedded().unwrap()),
    };
    Locator::new(
        source,
        Upstream::third_party("open-notify", url, timeouts),
        model,
        courtesy,
    )
    .with_clock(clock.clock())
}

/// Locates and says where the position came from.
async fn source_of(locator: &Locator) -> String {
    locator.locate().await.unwrap().source
}

#[tokio::test]
async fn one_position_serves_every_request_for_max_age() {
    let server = api(answering("10.5")).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);

    for _ in 0..5 {
        let position = locator.locate().await.unwrap();
        assert_eq!(
            (position.latitude, position.source.as_str()),
            (10.5, "open-notify")
        );
    }
    assert_eq!(calls(&server).await, 1);

    clock.advance(ms(999));
    answer_with(&server, answering("11.5")).await;
    assert_eq!(
        locator.locate().await.unwrap().latitude,
        10.5,
        "still fresh"
    );
    assert_eq!(calls(&server).await, 0, "(reset) nobody asked");

    clock.advance(ms(1));
    assert_eq!(
        locator.locate().await.unwrap().latitude,
        11.5,
        "1 s old: asked again"
    );
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn max_age_zero_asks_every_time() {
    let server = api(answering("10.5")).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::OFF, &clock);
    for _ in 0..3 {
        assert_eq!(source_of(&locator).await, "open-notify");
    }
    assert_eq!(calls(&server).await, 3);
}

#[tokio::test]
async fn concurrent_requests_share_one_call() {
    for source in [Source::Auto, Source::Api] {
        let server = api(answering("10.5").set_delay(ms(200))).await;
        let clock = TestClock::new();
        let locator = Arc::new(locator(&server, source, Courtesy::default(), &clock));
        let requests: Vec<_> = (0..20)
            .map(|_| {
                let locator = Arc::clone(&locator);
                tokio::spawn(async move { locator.locate().await })
            })
            .collect();
        for request in requests {
            let position = request.await.unwrap().unwrap();
            assert_eq!(position.source, "open-notify", "{source:?}");
        }
        assert_eq!(calls(&server).await, 1, "{source:?}");
    }
}

#[tokio::test]
async fn concurrent_requests_share_a_failed_call_too() {
    // Without a pause after failures, and with an API that hangs past the timeout.
    let server = api(answering("10.5").set_delay(ms(2000))).await;
    let clock = TestClock::new();
    let courtesy = Courtesy {
        backoff: Backoff::OFF,
        ..Courtesy::default()
    };
    let locator = Arc::new(locator(&server, Source::Api, courtesy, &clock));
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let locator = Arc::clone(&locator);
            tokio::spawn(async move { locator.locate().await })
        })
        .collect();
    for request in requests {
        let error = request.await.unwrap().unwrap_err();
        assert_eq!(
            error.message,
            "could not get the ISS position: open-notify did not answer within 300 ms"
        );
    }
    assert_eq!(calls(&server).await, 1, "one call, not five in a row");
}

#[tokio::test]
async fn after_a_failure_the_model_answers_until_the_pause_ends() {
    let server = api(ResponseTemplate::new(500)).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);

    assert_eq!(source_of(&locator).await, "orbital-model");
    assert_eq!(calls(&server).await, 1);
    // The pause after the first failure: 1 s, during which nobody asks.
    answer_with(&server, answering("10.5")).await;
    for _ in 0..10 {
        assert_eq!(source_of(&locator).await, "orbital-model");
    }
    clock.advance(ms(999));
    assert_eq!(source_of(&locator).await, "orbital-model");
    assert_eq!(calls(&server).await, 0);

    // The pause is over: the API is asked again, and answers.
    clock.advance(ms(1));
    assert_eq!(source_of(&locator).await, "open-notify");
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn the_pause_grows_while_the_api_keeps_failing() {
    let server = api(ResponseTemplate::new(200).set_body_string("garbage")).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);
    // Failures at 0, 1 s, 3 s, 7 s: pauses of 1, 2 and 4 s.
    let mut asked_at = Vec::new();
    for second in 0..10 {
        let before = calls(&server).await;
        assert_eq!(source_of(&locator).await, "orbital-model");
        if calls(&server).await > before {
            asked_at.push(second);
        }
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(asked_at, [0, 1, 3, 7]);
}

#[tokio::test]
async fn a_timeout_is_a_failure_like_the_others() {
    let server = api(answering("10.5").set_delay(ms(2000))).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);
    assert_eq!(source_of(&locator).await, "orbital-model");
    assert_eq!(source_of(&locator).await, "orbital-model");
    assert_eq!(
        calls(&server).await,
        1,
        "during the pause nobody asks the API"
    );
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let busy = ResponseTemplate::new(429).insert_header("retry-after", "120");
    let server = api(busy).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);

    assert_eq!(source_of(&locator).await, "orbital-model");
    answer_with(&server, answering("10.5")).await;
    clock.advance(Duration::from_secs(119));
    assert_eq!(source_of(&locator).await, "orbital-model");
    assert_eq!(calls(&server).await, 0, "119 s: not yet");
    clock.advance(Duration::from_secs(1));
    assert_eq!(source_of(&locator).await, "open-notify");
}

#[tokio::test]
async fn retry_after_as_a_date_is_honoured() {
    let in_90_s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
    let down = ResponseTemplate::new(503).insert_header("retry-after", in_90_s.as_str());
    let server = api(down).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);

    assert_eq!(source_of(&locator).await, "orbital-model");
    answer_with(&server, answering("10.5")).await;
    // The date has whole seconds: the wait is between 89 and 90 s.
    clock.advance(Duration::from_secs(88));
    assert_eq!(source_of(&locator).await, "orbital-model");
    assert_eq!(calls(&server).await, 0, "88 s: not yet");
    clock.advance(Duration::from_secs(2));
    assert_eq!(source_of(&locator).await, "open-notify");
}

#[tokio::test]
async fn strict_api_mode_never_uses_the_model_and_fails_at_once_during_the_pause() {
    let server = api(ResponseTemplate::new(500).set_body_string("boom")).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Api, Courtesy::default(), &clock);

    let first = locator.locate().await.unwrap_err();
    assert_eq!(first.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        first.message,
        "could not get the ISS position: open-notify failed with 500 Internal Server Error: boom"
    );
    assert_eq!(first.upstream.as_deref(), Some("iss-api"));

    clock.advance(ms(400));
    let paused = locator.locate().await.unwrap_err();
    assert_eq!(paused.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        paused.message,
        "could not get the ISS position: open-notify failed with 500 Internal Server Error: \
         boom; not asking it again for 600 ms"
    );
    assert_eq!(calls(&server).await, 1, "the pause is kept in api mode too");

    answer_with(&server, answering("10.5")).await;
    clock.advance(ms(600));
    assert_eq!(source_of(&locator).await, "open-notify");
}

#[tokio::test]
async fn with_back_off_off_every_failure_is_asked_again() {
    let server = api(ResponseTemplate::new(500)).await;
    let clock = TestClock::new();
    let courtesy = Courtesy {
        backoff: Backoff::OFF,
        ..Courtesy::default()
    };
    let locator = locator(&server, Source::Api, courtesy, &clock);
    for _ in 0..3 {
        assert!(locator.locate().await.is_err());
    }
    assert_eq!(calls(&server).await, 3);
}

#[tokio::test]
async fn a_retry_after_a_pause_keeps_auto_waiting_for_nobody_but_api_waits() {
    for (source, expected) in [
        (Source::Auto, ["open-notify", "orbital-model"]),
        (Source::Api, ["open-notify", "open-notify"]),
    ] {
        let server = api(ResponseTemplate::new(500)).await;
        let clock = TestClock::new();
        let locator = Arc::new(locator(&server, source, Courtesy::default(), &clock));
        let _ = locator.locate().await;
        clock.advance(Duration::from_secs(1));
        // The API is back, slowly: one request retries it, another comes meanwhile.
        answer_with(&server, answering("10.5").set_delay(ms(250))).await;
        let retry = tokio::spawn({
            let locator = Arc::clone(&locator);
            async move { locator.locate().await.unwrap().source }
        });
        tokio::time::sleep(ms(50)).await;
        let meanwhile = locator.locate().await.unwrap().source;
        let mut sources = [retry.await.unwrap(), meanwhile];
        sources.sort();
        assert_eq!(sources, expected, "{source:?}");
        assert_eq!(calls(&server).await, 1, "{source:?}");
    }
}

/// Everything logged while `run` runs, one line per event, without colours.
async fn logged<F: Future>(run: F) -> (F::Output, String) {
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runs on one thread (`#[tokio::test]`), so the subscriber sees everything.
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = run.await;
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    (output, text)
}

#[tokio::test]
async fn the_switch_to_the_model_and_the_return_are_logged_once_each_at_warn() {
    let server = api(ResponseTemplate::new(503)).await;
    let clock = TestClock::new();
    let locator = locator(&server, Source::Auto, Courtesy::default(), &clock);
    let ((), log) = logged(async {
        for _ in 0..20 {
            source_of(&locator).await;
        }
        clock.advance(Duration::from_secs(1));
        for _ in 0..20 {
            source_of(&locator).await;
        }
        clock.advance(Duration::from_secs(2));
        answer_with(&server, answering("10.5")).await;
        for _ in 0..20 {
            source_of(&locator).await;
        }
    })
    .await;
    let lines: Vec<&str> = log.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "WARN the ISS API failed: open-notify failed with 503 Service Unavailable: (empty body); \
             answering from the orbital model, asking it again in 1 s",
            "INFO the ISS API failed again (2 calls in a row): open-notify failed with 503 Service \
             Unavailable: (empty body); asking it again in 2 s",
            "WARN the ISS API answers again, after 2 failed calls in 3 s; using its position again \
             instead of the orbital model",
        ],
        "{log}"
    );
}

#[test]
fn pauses_read_like_a_person_would_say_them() {
    assert_eq!(human(ms(250)), "250 ms");
    assert_eq!(human(ms(4000)), "4 s");
    assert_eq!(human(ms(1500)), "1.5 s");
}

#[test]
fn api_mode_says_what_it_does_meanwhile() {
    let change = Change::Failing {
        reason: "open-notify is unreachable: Connection refused (os error 111)".into(),
        pause: Duration::ZERO,
    };
    assert_eq!(
        describe(&change, Source::Api),
        "the ISS API failed: open-notify is unreachable: Connection refused (os error 111); \
         answering 502, asking it again on the next request"
    );
    let back = Change::Answering {
        failures: 1,
        after: ms(2500),
    };
    assert_eq!(
        describe(&back, Source::Api),
        "the ISS API answers again, after 1 failed call in 2.5 s; answering with its position again"
    );
}
