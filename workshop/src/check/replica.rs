//! Section 0's second copy of one service (the replica), started next to the four as an
//! operator would start another instance: `OTEL_SERVICE_NAME` names it, and
//! `OTEL_RESOURCE_ATTRIBUTES` gives another `service.name` that must lose. Only what it
//! prints at start-up is checked; it exports to a receiver of its own, so that nothing of it
//! mixes with the four services' telemetry.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use otlp_receiver::{Protocol, Receiver, ReceiverConfig};

use super::scenario::{REPLICA_NAME, REPLICA_NAME_IN_ATTRIBUTES, REPLICA_OF};
use crate::ports::Sockets;
use crate::services::{self, Options, Output, Running, wiring};

pub struct Replica {
    running: Running,
    output: Option<Output>,
    receiver: Receiver,
}

impl Replica {
    pub async fn start(
        binaries: &BTreeMap<String, PathBuf>,
        run_id: &str,
        protocol: Protocol,
        options: Options,
    ) -> anyhow::Result<Replica> {
        let receiver = Receiver::start(ReceiverConfig::ephemeral()).await?;
        let mut sockets = Sockets::any()?;
        sockets.keep_only(REPLICA_OF);
        let mut env = wiring(&sockets.ports());
        let attributes =
            format!("service.name={REPLICA_NAME_IN_ATTRIBUTES},workshop.check.run={run_id}");
        env.extend(super::exporting(&receiver, protocol, attributes));
        env.push(("OTEL_SERVICE_NAME", REPLICA_NAME.to_owned()));
        let running = services::start_with(binaries, sockets, &env, options)?;
        let output = running.output(REPLICA_OF);
        Ok(Replica {
            running,
            output,
            receiver,
        })
    }

    /// Waits until it answers `/healthz`, after it printed its resource (or until it exits:
    /// then its output says why, and section 0 that its resource is missing).
    pub async fn wait_healthy(&mut self, timeout: Duration) {
        let _ = self.running.wait_healthy(timeout).await;
    }

    /// Stops it, and returns what it printed.
    pub async fn stop(self, grace: Duration) -> Vec<String> {
        self.running.stop(grace).await;
        self.receiver.shutdown().await;
        self.output.map(|output| output.lines()).unwrap_or_default()
    }
}
