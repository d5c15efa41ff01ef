//! Starts the four real services in this process, each on its own ephemeral port and wired
//! to the others over real HTTP, for end-to-end tests. Only the ISS API is a stub (the test
//! gives its URL), so nothing leaves the machine.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use iss_distance::memory::Courtesy;
use iss_distance::orbit::OrbitalModel;
use iss_distance::position::Source;
use service_kit::boundary::Boundary;
use service_kit::config::Timeouts;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// How to set the stack up; [`Options::new`] gives the defaults of a native run.
#[derive(Debug, Clone)]
pub struct Options {
    pub iss_api: Url,
    pub iss_source: Source,
    pub iss_api_timeout: Duration,
    /// How gently iss-distance asks the ISS API (default: as a native run does).
    pub iss_courtesy: Courtesy,
    pub gateway_timeout: Duration,
}

impl Options {
    pub fn new(iss_api: &str) -> Self {
        Self {
            iss_api: Url::parse(iss_api).expect("a valid stub URL"),
            iss_source: Source::Auto,
            iss_api_timeout: Duration::from_millis(1500),
            iss_courtesy: Courtesy::default(),
            gateway_timeout: Duration::from_secs(5),
        }
    }
}

/// The four running services. Dropping it stops them.
pub struct Stack {
    pub frontend: SocketAddr,
    pub gateway: SocketAddr,
    pub geolocator: SocketAddr,
    pub iss_distance: SocketAddr,
    services: Vec<InProcess>,
}

/// One service served by a task of this process (not a child process: see the workshop's
/// harness for those), until told to stop.
pub struct InProcess {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Stack {
    pub async fn start(options: Options) -> Stack {
        let timeouts = |total| Timeouts {
            connect: Duration::from_millis(500),
            total,
        };
        let (iss_distance, iss_service) = start(iss_distance::app(&iss_distance::config::Config {
            listen: any_port(),
            iss_api: options.iss_api.clone(),
            source: options.iss_source,
            timeouts: timeouts(options.iss_api_timeout),
            courtesy: options.iss_courtesy,
            model: Some(OrbitalModel::embedded().expect("the embedded TLE parses")),
        }))
        .await;
        let (geolocator, geo_service) = start(geolocator::app(geolocator::Geocoder::Gazetteer(
            geolocator::gazetteer::Gazetteer::embedded(),
        )))
        .await;
        let gateway_config = gateway::config::Config {
            listen: any_port(),
            geolocator: base_url(geolocator),
            iss_distance: base_url(iss_distance),
            timeouts: timeouts(options.gateway_timeout),
        };
        let (gateway, gateway_service) = start(gateway::app(gateway::Upstreams::from_config(
            &gateway_config,
        )))
        .await;
        let (frontend, frontend_service) = start(frontend::app(&frontend::config::Config {
            listen: any_port(),
            gateway: base_url(gateway),
            timeouts: timeouts(options.gateway_timeout * 2),
        }))
        .await;
        Stack {
            frontend,
            gateway,
            geolocator,
            iss_distance,
            services: vec![frontend_service, gateway_service, geo_service, iss_service],
        }
    }

    pub fn url(addr: SocketAddr, path_and_query: &str) -> String {
        format!("http://{addr}{path_and_query}")
    }

    /// Stops every service gracefully and waits until each has finished.
    pub async fn stop(mut self) {
        for service in self.services.drain(..) {
            let _ = service.stop.send(());
            service
                .task
                .await
                .expect("service task")
                .expect("service stopped cleanly");
        }
    }
}

/// Serves `app` on an ephemeral port until told to stop.
pub async fn start(app: Router) -> (SocketAddr, InProcess) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(service_kit::server::serve_on(
        listener,
        app,
        Boundary::Inside,
        shutdown,
    ));
    (addr, InProcess { stop, task })
}

pub fn base_url(addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{addr}")).expect("a valid URL")
}

/// Configs want a listen address; in-process services are given their listener instead.
fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
