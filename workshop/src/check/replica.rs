//! Section 0's second copy of one service (the replica), started next to the four as an
//! operator would start another instance: `OTEL_SERVICE_NAME` names it, and
//! `OTEL_RESOURCE_ATTRIBUTES` gives another `service.name` that must lose. Only what it
//! prints at start-up is checked; it exports to a receiver of its own, so that nothing of it
//! mixes with the four services' telemetry.

use std::time::Duration;

use otlp_receiver::{Protocol, Receiver, ReceiverConfig};

use super::scenario::{REPLICA_NAME, REPLICA_NAME_IN_ATTRIBUTES, REPLICA_OF};
use crate::harness::{self, Binaries, Options, Services, Sockets, wiring};

/// The second copy, with its own receiver (dropped after it).
pub struct Replica {
    services: Services,
    _receiver: Receiver,
}

impl Replica {
    pub async fn start(
        binaries: &Binaries,
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
        env.extend(harness::env([(
            "OTEL_SERVICE_NAME",
            REPLICA_NAME.to_owned(),
        )]));
        Ok(Replica {
            services: Services::start(binaries, sockets, &env, options)?,
            _receiver: receiver,
        })
    }

    /// Waits until it answers `/healthz`, after it printed its resource (or until it exits:
    /// then its output says why, and section 0 that its resource is missing).
    pub async fn wait_healthy(&mut self, timeout: Duration) {
        let _ = self.services.wait_healthy(timeout).await;
    }

    /// Stops it, and returns what it printed.
    pub async fn stop(mut self, grace: Duration) -> Vec<String> {
        self.services.stop(grace).await;
        let outputs = self.services.outputs();
        outputs.into_iter().flat_map(|(_, o)| o.lines()).collect()
    }
}
