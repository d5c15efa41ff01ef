//! The four services together, over real HTTP, with a stub ISS API.

use std::time::Duration;

use e2e_tests::{Options, Stack, base_url, start};
use iss_distance::position::Source;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The ISS above Paris, as open-notify would say it.
fn iss_over_paris() -> Value {
    json!({"message": "success", "timestamp": 1763800000,
           "iss_position": {"latitude": "48.8566", "longitude": "2.3522"}})
}

async fn iss_api(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/iss-now.json"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn stack(api: &MockServer, source: Source) -> Stack {
    let mut options = Options::new(&format!("{}/iss-now.json", api.uri()));
    options.iss_source = source;
    options.iss_api_timeout = Duration::from_millis(300);
    Stack::start(options).await
}

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(&url).await.expect("the service answers");
    let status = response.status().as_u16();
    let body = response.text().await.expect("a body");
    let json =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{url} answered non-JSON: {body}"));
    (status, json)
}

async fn page(url: String) -> (u16, String) {
    let response = reqwest::get(&url).await.expect("the frontend answers");
    (
        response.status().as_u16(),
        response.text().await.expect("a page"),
    )
}

#[tokio::test]
async fn the_happy_path_end_to_end() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;

    let (status, body) = get(Stack::url(stack.gateway, "/distance?location=berlin")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"]["query"], "berlin");
    assert_eq!(body["location"]["name"], "Berlin");
    assert_eq!(body["location"]["country"], "DE");
    assert_eq!(
        body["iss"],
        json!({"latitude": 48.8566, "longitude": 2.3522, "source": "open-notify", "timestamp": 1763800000})
    );
    // Berlin to Paris is about 878 km along the surface.
    let km = body["distance_km"].as_f64().unwrap();
    assert!((870.0..885.0).contains(&km), "distance {km}");

    let (status, html) = page(Stack::url(stack.frontend, "/?location=Z%C3%BCrich")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="place">Zürich, CH<"#), "{html}");
    assert!(html.contains(r#"id="distance" class="distance">"#));
    assert!(html.contains("live position from open-notify"));
    assert!(!html.contains(r#"id="error""#));
    stack.stop().await;
}

#[tokio::test]
async fn the_form_alone_has_no_result_and_no_error() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;
    let (status, html) = page(Stack::url(stack.frontend, "/")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="location""#));
    assert!(!html.contains(r#"id="result""#) && !html.contains(r#"id="error""#));
    // Offline: nothing is loaded from anywhere else.
    assert!(!html.contains("<script"), "no scripts");
    for link in html.split("<link").skip(1) {
        let href = link.split("href=\"").nth(1).unwrap_or("");
        assert!(
            href.starts_with('/'),
            "only the frontend's own files: {link}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn the_page_protects_itself_and_serves_its_own_stylesheet() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;
    let client = reqwest::Client::new();
    for path in ["/", "/?location=Paris", "/?location=Narnia", "/style.css"] {
        let response = client
            .get(Stack::url(stack.frontend, path))
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(frontend::CONTENT_SECURITY_POLICY),
            "{path}"
        );
        assert!(
            frontend::CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"),
            "only the page itself"
        );
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    }
    let css = client
        .get(Stack::url(stack.frontend, "/style.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(
        css.headers()["content-type"].to_str().unwrap(),
        "text/css; charset=utf-8"
    );
    assert!(css.text().await.unwrap().contains("--accent"));
    stack.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_400_that_names_the_parameter() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;
    let long = "x".repeat(201);
    let cases = [
        (
            stack.gateway,
            "/distance".to_string(),
            "location is missing",
        ),
        (
            stack.gateway,
            "/distance?location=".to_string(),
            "location must not be empty",
        ),
        (
            stack.gateway,
            "/distance?location=%20%20".to_string(),
            "location must not be empty",
        ),
        (
            stack.gateway,
            format!("/distance?location={long}"),
            "location is too long: 201 characters",
        ),
        (
            stack.gateway,
            "/distance?location=a&location=b".to_string(),
            "invalid query string",
        ),
        (
            stack.geolocator,
            "/coordinates".to_string(),
            "location is missing",
        ),
        (
            stack.geolocator,
            format!("/coordinates?location={long}"),
            "location is too long",
        ),
        (
            stack.iss_distance,
            "/distance".to_string(),
            "latitude is missing",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=1".to_string(),
            "longitude is missing",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=abc&longitude=1".to_string(),
            "latitude must be a finite number",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=NaN&longitude=1".to_string(),
            "latitude must be a finite number",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=1&longitude=inf".to_string(),
            "longitude must be a finite number",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=-90.5&longitude=1".to_string(),
            "latitude must be between -90 and 90",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=1&longitude=180.1".to_string(),
            "longitude must be between -180 and 180",
        ),
        (
            stack.iss_distance,
            "/distance?latitude=%ZZ&longitude=1".to_string(),
            "latitude must be a finite number",
        ),
    ];
    for (service, path, expected) in cases {
        let (status, body) = get(Stack::url(service, &path)).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(expected),
            "{path}: {message:?} should start with {expected:?}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn the_frontend_shows_errors_in_its_error_box() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;
    let cases = [
        ("/?location=", 400, "location must not be empty"),
        (
            "/?location=Narnia",
            404,
            "no place called &#34;Narnia&#34; in the gazetteer",
        ),
        ("/?location=a&location=b", 400, "invalid query string"),
    ];
    for (path, expected_status, expected) in cases {
        let (status, html) = page(Stack::url(stack.frontend, path)).await;
        assert_eq!(status, expected_status, "{path}");
        assert!(html.contains(r#"id="error""#), "{path}: no error box");
        assert!(
            html.contains(expected),
            "{path}: {expected:?} not in the page:\n{html}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn unknown_places_are_a_404_passed_on_by_the_gateway() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;
    let (status, body) = get(Stack::url(stack.gateway, "/distance?location=Narnia")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": "no place called \"Narnia\" in the gazetteer", "upstream": "geolocator"})
    );
    stack.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_a_json_404() {
    let api = iss_api(ResponseTemplate::new(200).set_body_json(iss_over_paris())).await;
    let stack = stack(&api, Source::Api).await;
    let (status, body) = get(Stack::url(stack.gateway, "/nope")).await;
    assert_eq!(
        (status, body),
        (404, json!({"error": "no route for GET /nope"}))
    );
    for service in [
        stack.frontend,
        stack.gateway,
        stack.geolocator,
        stack.iss_distance,
    ] {
        let response = reqwest::get(Stack::url(service, "/healthz")).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    stack.stop().await;
}

/// What a broken ISS API does to each source setting.
struct Fault {
    name: &'static str,
    response: ResponseTemplate,
    api_error: &'static str,
}

fn faults() -> Vec<Fault> {
    vec![
        Fault {
            name: "500",
            response: ResponseTemplate::new(500).set_body_string("Internal Server Error"),
            api_error: "open-notify failed with 500",
        },
        Fault {
            name: "timeout",
            response: ResponseTemplate::new(200)
                .set_body_json(iss_over_paris())
                .set_delay(Duration::from_secs(3)),
            api_error: "open-notify did not answer within 300 ms",
        },
        Fault {
            name: "malformed JSON",
            response: ResponseTemplate::new(200).set_body_string("{\"message\": \"succ"),
            api_error: "open-notify sent an invalid response",
        },
        Fault {
            name: "garbage position",
            response: ResponseTemplate::new(200)
                .set_body_json(json!({"message": "success", "timestamp": 1,
                "iss_position": {"latitude": "north", "longitude": "2"}})),
            api_error: "open-notify sent an invalid response: latitude \"north\" is not a number",
        },
    ]
}

#[tokio::test]
async fn with_iss_source_api_a_broken_iss_api_is_a_502() {
    for fault in faults() {
        let api = iss_api(fault.response).await;
        let stack = stack(&api, Source::Api).await;

        let (status, body) = get(Stack::url(
            stack.iss_distance,
            "/distance?latitude=1&longitude=2",
        ))
        .await;
        assert_eq!(status, 502, "{}: {body}", fault.name);
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains(fault.api_error),
            "{}: {message}",
            fault.name
        );
        assert_eq!(body["upstream"], "iss-api");

        let (status, body) = get(Stack::url(stack.gateway, "/distance?location=Berlin")).await;
        assert_eq!(status, 502, "{}: {body}", fault.name);
        assert_eq!(body["upstream"], "iss-distance", "{}", fault.name);
        assert!(
            body["error"].as_str().unwrap().contains(fault.api_error),
            "{body}"
        );
        stack.stop().await;
    }
}

#[tokio::test]
async fn with_iss_source_auto_a_broken_iss_api_falls_back_to_the_model() {
    for fault in faults() {
        let api = iss_api(fault.response).await;
        let stack = stack(&api, Source::Auto).await;
        let (status, body) = get(Stack::url(stack.gateway, "/distance?location=Berlin")).await;
        assert_eq!(status, 200, "{}: {body}", fault.name);
        assert_eq!(body["iss"]["source"], "orbital-model", "{}", fault.name);
        let latitude = body["iss"]["latitude"].as_f64().unwrap();
        assert!(
            latitude.abs() <= 52.0,
            "{}: the ISS never goes past 51.6°, got {latitude}",
            fault.name
        );
        stack.stop().await;
    }
}

#[tokio::test]
async fn with_iss_source_model_the_api_is_never_called() {
    let api = iss_api(ResponseTemplate::new(500)).await;
    let stack = stack(&api, Source::Model).await;
    let (status, body) = get(Stack::url(
        stack.iss_distance,
        "/distance?latitude=0&longitude=0",
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["iss"]["source"], "orbital-model");
    assert!(api.received_requests().await.unwrap().is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_that_names_it() {
    let api = iss_api(
        ResponseTemplate::new(200)
            .set_body_json(iss_over_paris())
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let mut options = Options::new(&format!("{}/iss-now.json", api.uri()));
    options.iss_source = Source::Api;
    options.iss_api_timeout = Duration::from_secs(5);
    options.gateway_timeout = Duration::from_millis(400);
    let stack = Stack::start(options).await;
    let (status, body) = get(Stack::url(stack.gateway, "/distance?location=Berlin")).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(
        body,
        json!({"error": "iss-distance did not answer within 400 ms", "upstream": "iss-distance"})
    );
    stack.stop().await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_that_names_it() {
    // Bound but never listening: connections are refused, and no other test can listen
    // there while this test runs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let closed = socket.local_addr().unwrap();
    let config = gateway::config::Config {
        listen: closed,
        geolocator: base_url(closed),
        iss_distance: base_url(closed),
        timeouts: service_kit::config::Timeouts {
            connect: Duration::from_millis(500),
            total: Duration::from_secs(1),
        },
    };
    let (addr, _gateway) = start(gateway::app(gateway::Upstreams::from_config(&config))).await;
    let (status, body) = get(Stack::url(addr, "/distance?location=Berlin")).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["upstream"], "geolocator");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("geolocator is unreachable: "),
        "{body}"
    );
}

#[tokio::test]
async fn in_flight_requests_finish_during_graceful_shutdown() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(iss_over_paris())
        .set_delay(Duration::from_millis(700));
    let api = iss_api(slow).await;
    let mut options = Options::new(&format!("{}/iss-now.json", api.uri()));
    options.iss_source = Source::Api;
    let stack = Stack::start(options).await;
    let url = Stack::url(stack.gateway, "/distance?location=Berlin");
    let request = tokio::spawn(async move { get(url).await });
    // Let the request reach the slow ISS API, then stop everything.
    tokio::time::sleep(Duration::from_millis(250)).await;
    stack.stop().await;
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["iss"]["source"], "open-notify");
}
