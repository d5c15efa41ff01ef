//! The frontend in a real headless browser: Debian's `chromium`, driven over WebDriver by
//! `chromedriver` (both installed by `.ci/run` when missing).
//!
//! Set `SCREENSHOT_DIR` to keep screenshots of the result page (`frontend.png` at desktop size,
//! `frontend-phone.png` at 390x844); nothing is written by default. `CHROMIUM` and
//! `CHROMEDRIVER` override the binaries' paths.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e_tests::{Options, Stack, base_url};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The whole browser session, from the first page to the last assertion.
const TOTAL: Duration = Duration::from_secs(120);
/// How long any one element may take to appear.
const ELEMENT: Duration = Duration::from_secs(30);
/// How long chromedriver may take to answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(30);

const INSTALL: &str = "the browser test needs Debian's chromium and chromedriver: \
     install them with `apt-get install chromium chromium-driver` (or run .ci/run)";

/// Chromium's flags: headless, no sandbox (we may run as root in a container), and no
/// background networking, which the closed network would otherwise refuse at every start.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

fn binary(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found (set {var} to override): {INSTALL}",
        path.display()
    );
    path
}

/// The port in chromedriver's "ChromeDriver was started successfully on port N." line; the
/// rest of its output is read and dropped, so that it never blocks on a full pipe.
fn announced_port(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<u16> {
    let (sender, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let announced = line
                .strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok());
            if let Some(announced) = announced {
                let _ = sender.send(announced);
            }
        }
    });
    port
}

/// A scratch directory (Chromium's profile, chromedriver's log), removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("e2e-browser-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// chromedriver, in its own process group so that Chromium goes with it: the whole group is
/// killed on drop, even when the test panics or times out.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Driver {
    async fn start(chromedriver: &Path, scratch: &Path) -> Self {
        let log = scratch.join("chromedriver.log");
        // Port 0: chromedriver takes a free port and says which; choosing one for it could
        // race with another test taking it first.
        let mut command = Command::new(chromedriver);
        command
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // Elsewhere only chromedriver itself is killed on drop (see `Drop`).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", chromedriver.display()));
        let port = announced_port(child.stdout.take().expect("piped"));
        let mut driver = Self {
            child,
            url: String::new(),
            log,
        };
        match port.recv_timeout(DRIVER_START) {
            Ok(port) => driver.url = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!(
                "chromedriver did not say its port within {DRIVER_START:?}:\n{}",
                driver.log_text()
            ),
        }
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&mut self) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        let status = format!("{}/status", self.url);
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Some(exit) = self.child.try_wait().expect("chromedriver's status") {
                panic!(
                    "chromedriver exited at start ({exit}):\n{}",
                    self.log_text()
                );
            }
            if let Ok(response) = http.get(&status).send().await {
                let ready = response
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|body| body["value"]["ready"].as_bool());
                if ready == Some(true) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {status} within {DRIVER_START:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_text(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        // The end is what matters; the log can be long.
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        log[start..].to_owned()
    }

    async fn connect(&self, chromium: &Path, profile: &Path) -> Client {
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&arg| arg.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": chromium, "args": args }),
        );
        let connect = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await;
        connect.unwrap_or_else(|e| {
            panic!(
                "chromedriver could not start {}: {e}\n{}",
                chromium.display(),
                self.log_text()
            )
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Signal the group (chromedriver and any Chromium left over), then reap chromedriver.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("bash")
            .args(["-c", r#"kill -KILL -- "$0" 2>/dev/null"#, &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ISS above Paris, as open-notify would say it.
async fn iss_api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/iss-now.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message": "success", "timestamp": 1763800000,
            "iss_position": {"latitude": "48.8566", "longitude": "2.3522"}
        })))
        .mount(&server)
        .await;
    server
}

async fn element(client: &Client, css: &str) -> fantoccini::elements::Element {
    match client
        .wait()
        .at_most(ELEMENT)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let url = client.current_url().await.map(String::from);
            let page = client.source().await.unwrap_or_default();
            panic!("no {css} within {ELEMENT:?} on {url:?}: {e}\n{page}")
        }
    }
}

async fn text(client: &Client, css: &str) -> String {
    let text = element(client, css).await.text().await;
    text.unwrap_or_else(|e| panic!("the text of {css}: {e}"))
}

/// Types `place` into the form and submits it with the button, as a person would.
async fn ask(client: &Client, place: &str) {
    let input = element(client, "#location").await;
    input.clear().await.expect("clear #location");
    input.send_keys(place).await.expect("type into #location");
    let submit = element(client, r#"form button[type="submit"]"#).await;
    submit.click().await.expect("click the submit button");
}

fn is_distance(text: &str) -> bool {
    // ^[\d,]+ km$
    text.strip_suffix(" km").is_some_and(|number| {
        !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == ',')
    })
}

async fn screenshot(client: &Client, width: u32, height: u32, name: &str) {
    client
        .set_window_size(width, height)
        .await
        .unwrap_or_else(|e| panic!("resize the window to {width}x{height}: {e}"));
    let png = client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    if let Some(dir) = std::env::var_os("SCREENSHOT_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("SCREENSHOT_DIR can be created");
        let file = dir.join(name);
        std::fs::write(&file, png).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    }
}

async fn submit_the_form(client: Client, frontend: String) {
    client.set_window_size(1280, 900).await.expect("resize");
    client.goto(&frontend).await.expect("open the frontend");
    assert_eq!(client.title().await.expect("a title"), "Where is the ISS?");

    ask(&client, "Berlin").await;
    let distance = text(&client, "#distance").await;
    assert!(is_distance(&distance), "distance {distance:?}");
    assert_eq!(text(&client, "#place").await, "Berlin, DE");
    assert_eq!(
        text(&client, "#source").await,
        "live position from open-notify"
    );
    let url = client.current_url().await.expect("the URL");
    assert_eq!(url.query(), Some("location=Berlin"), "{url}");
    // The stylesheet is the frontend's own file, which its Content-Security-Policy allows:
    // the page is styled.
    let background = client
        .execute(
            "return getComputedStyle(document.body).backgroundImage",
            vec![],
        )
        .await
        .expect("a computed style");
    assert!(
        background
            .as_str()
            .is_some_and(|b| b.contains("linear-gradient")),
        "the page's own stylesheet applies: {background}"
    );

    screenshot(&client, 1280, 900, "frontend.png").await;
    screenshot(&client, 390, 844, "frontend-phone.png").await;

    // The field keeps "Berlin"; ask() clears it first.
    ask(&client, "Narnia").await;
    let message = text(&client, "#error-message").await;
    assert!(
        message.contains(r#"no place called "Narnia""#),
        "error {message:?}"
    );
    let results = client
        .find_all(Locator::Css("#result"))
        .await
        .expect("find #result");
    assert!(results.is_empty(), "an error page shows no result");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_the_form_and_reads_the_distance_and_an_error() {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");

    let api = iss_api().await;
    let stack = Stack::start(Options::new(&format!("{}/iss-now.json", api.uri()))).await;
    let frontend = base_url(stack.frontend).to_string();

    let scratch = ScratchDir::new();
    let profile = scratch.0.join("profile");
    let driver = Driver::start(&chromedriver, &scratch.0).await;
    let client = driver.connect(&chromium, &profile).await;

    // The steps run on their own task so that a failed assertion or the time limit still
    // leaves us here to close the session before reporting it.
    let mut steps = tokio::spawn(submit_the_form(client.clone(), frontend));
    let outcome = tokio::time::timeout(TOTAL, &mut steps).await;
    if outcome.is_err() {
        steps.abort();
    }
    let closed = tokio::time::timeout(Duration::from_secs(15), client.close()).await;
    stack.stop().await;
    drop(driver);
    drop(scratch);

    match outcome {
        Err(_) => panic!("the browser test took longer than {TOTAL:?}"),
        Ok(Err(failed)) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Ok(Err(failed)) => panic!("the browser steps did not finish: {failed}"),
        Ok(Ok(())) => {}
    }
    match closed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("closing the browser session: {e}"),
        Err(_) => panic!("closing the browser session took longer than 15s"),
    }
}
