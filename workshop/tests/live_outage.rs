//! What an outage of the collector costs the services' exports, and what the SDK's retries
//! save: the finished services export straight to an OTLP receiver (standing in for the
//! collector) that stops listening for a while, with traffic every 100 ms. Prints the
//! figures BENCHMARKS.md records ("A collector outage, seen from the SDK").
//!
//! opentelemetry-otlp 0.33 retries a failed export 3 times, after about 100, 200 and 400 ms
//! (plus up to 100 ms of jitter each): a refusal shorter than that loses nothing, a longer
//! one loses every batch whose four attempts all fall inside it.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otlp_receiver::ReceiverConfig;
use platform_live::process::Ports;

use crate::common::final_tree;
use crate::common::stack::{Binaries, build, start, stop_cleanly};
use crate::live::chain::StandIn;
use crate::live::scenario::{Sent, client, get};

/// Requests of one outage and what reached the receiver of them.
struct Outage {
    name: String,
    sent: usize,
    complete: usize,
    partial: usize,
    lost: usize,
}

impl Outage {
    fn render(&self) -> String {
        format!(
            "{}: {} requests, traces {} complete, {} partial, {} lost",
            self.name, self.sent, self.complete, self.partial, self.lost
        )
    }
}

/// Starts the services exporting to `receiver` with the batch span processor's delay
/// `delay_ms` (`None`: the SDK's default, 5 s), sends a gateway request every 100 ms, and
/// makes the receiver refuse connections for each of `outages` in turn.
async fn run(
    binaries: &Binaries,
    receiver: &mut StandIn,
    delay_ms: Option<&str>,
    outages: &[Duration],
) -> Vec<Outage> {
    let mut env: Vec<(&str, String)> = vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}", receiver.config.http),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("ISS_SOURCE", "auto".into()),
    ];
    if let Some(delay) = delay_ms {
        env.push(("OTEL_BSP_SCHEDULE_DELAY", delay.into()));
    }
    let mut stack = start(binaries, &env).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let traffic = {
        let (stop, sink) = (Arc::clone(&stop), Arc::clone(&sent));
        let url = stack.url("gateway", "/distance?location=Paris");
        tokio::spawn(async move {
            let client = client();
            while !stop.load(Ordering::SeqCst) {
                let request = get(&client, &url).await;
                sink.lock().unwrap().push(request);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let settle = Duration::from_millis(delay_ms.map_or(5000, |d| d.parse().unwrap())) * 2;
    tokio::time::sleep(settle).await;
    let mut windows = Vec::new();
    for outage in outages {
        let from = Instant::now();
        receiver.refuse().await;
        tokio::time::sleep(*outage).await;
        receiver.resume().await;
        windows.push((*outage, from, Instant::now()));
        tokio::time::sleep(settle).await;
    }
    stop.store(true, Ordering::SeqCst);
    traffic.await.unwrap();
    stop_cleanly(&mut stack, Duration::from_secs(15)).await;
    let mut services_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for span in receiver.spans() {
        if let Some(service) = span.service_name() {
            services_of
                .entry(span.trace_id())
                .or_default()
                .insert(service.to_owned());
        }
    }
    let sent = sent.lock().unwrap().clone();
    windows
        .into_iter()
        .map(|(outage, from, to)| {
            let in_window: Vec<&Sent> =
                sent.iter().filter(|s| s.at >= from && s.at <= to).collect();
            let services = |s: &&Sent| services_of.get(&s.trace_id).map_or(0, BTreeSet::len);
            Outage {
                name: format!(
                    "receiver refusing {outage:?}, spans exported every {}",
                    delay_ms.map_or("5000 ms (the SDK's default)".to_owned(), |d| format!(
                        "{d} ms"
                    ))
                ),
                sent: in_window.len(),
                complete: in_window.iter().filter(|s| services(s) >= 3).count(),
                partial: in_window
                    .iter()
                    .filter(|s| (1..3).contains(&services(s)))
                    .count(),
                lost: in_window.iter().filter(|s| services(s) == 0).count(),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdks_retries_cover_a_short_outage_and_a_3_second_one_loses_spans() {
    let (tree, _lock) = final_tree();
    let binaries = build(&tree).await;
    let mut ports = Ports::default();
    let mut receiver = StandIn::start(
        "collector",
        ReceiverConfig {
            grpc: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, ports.take())),
            ..ReceiverConfig::ephemeral()
        },
    )
    .await;
    let quick = run(
        &binaries,
        &mut receiver,
        Some("500"),
        &[Duration::from_millis(500), Duration::from_secs(3)],
    )
    .await;
    let default = run(&binaries, &mut receiver, None, &[Duration::from_secs(3)]).await;
    eprintln!(
        "What reached the receiver:\n  {}",
        quick
            .iter()
            .chain(&default)
            .map(Outage::render)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    // Half a second: every export that failed was retried in time.
    assert_eq!(quick[0].lost + quick[0].partial, 0, "{}", quick[0].render());
    assert!(quick[0].sent >= 3, "{}", quick[0].render());
    // Three seconds, exporting every half second: the batches of the outage's first two
    // seconds or so fail four times and are dropped.
    assert!(
        quick[1].lost + quick[1].partial > 0,
        "{}",
        quick[1].render()
    );
}
