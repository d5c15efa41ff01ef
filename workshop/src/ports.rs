//! Which ports the services use natively, and their sockets, bound before they start.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};

use anyhow::bail;

/// The four services' ports: the frontend's, then the next three.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub frontend: u16,
    pub gateway: u16,
    pub geolocator: u16,
    pub iss_distance: u16,
}

impl Ports {
    /// `frontend`, `frontend + 1`, `+ 2` and `+ 3`: one number to change when 5000 is taken.
    pub fn from_base(frontend: u16) -> anyhow::Result<Self> {
        if frontend == 0 || frontend > u16::MAX - 3 {
            bail!("--port must be from 1 to {}, got {frontend}", u16::MAX - 3);
        }
        Ok(Self {
            frontend,
            gateway: frontend + 1,
            geolocator: frontend + 2,
            iss_distance: frontend + 3,
        })
    }

    /// The port of `service` (one of the four).
    pub fn of(&self, service: &str) -> u16 {
        let mut all = self.all().into_iter();
        all.find(|(name, _)| *name == service).map_or_else(
            || panic!("{service} is none of the four services"),
            |(_, p)| p,
        )
    }

    pub fn all(&self) -> [(&'static str, u16); 4] {
        [
            ("frontend", self.frontend),
            ("gateway", self.gateway),
            ("geolocator", self.geolocator),
            ("iss-distance", self.iss_distance),
        ]
    }
}

/// The services' listening sockets, bound here before they start and handed to each one as
/// it starts (see `process.rs`), so that nothing else can take a port in between. (Windows
/// has no such handover: there the socket only proves the port free, and is released just
/// before the service binds it.)
pub struct Sockets {
    ports: Ports,
    listeners: Vec<(&'static str, TcpListener)>,
}

impl Sockets {
    /// Binds `ports`; fails with a hint when one is taken, before anything starts.
    pub fn bind(ports: Ports) -> anyhow::Result<Self> {
        let mut listeners = Vec::new();
        for (service, port) in ports.all() {
            match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                Ok(listener) => listeners.push((service, listener)),
                Err(e) if e.kind() == ErrorKind::AddrInUse => bail!(
                    "port {port} (for {service}) is already in use{}",
                    hint(port)
                ),
                Err(e) => bail!("cannot listen on port {port} (for {service}): {e}"),
            }
        }
        Ok(Self { ports, listeners })
    }

    /// Four ports that the system picks (free, not consecutive).
    pub fn any() -> anyhow::Result<Self> {
        let listeners = (0..4)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .collect::<Result<Vec<_>, _>>()?;
        let port = |i: usize| listeners[i].local_addr().map(|addr| addr.port());
        let ports = Ports {
            frontend: port(0)?,
            gateway: port(1)?,
            geolocator: port(2)?,
            iss_distance: port(3)?,
        };
        let names = ports.all().map(|(service, _)| service);
        Ok(Self {
            ports,
            listeners: names.into_iter().zip(listeners).collect(),
        })
    }

    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// Releases every socket but `service`'s: only that one will be started (`check`
    /// starts a second copy of one service this way).
    pub fn keep_only(&mut self, service: &str) {
        self.listeners.retain(|(name, _)| *name == service);
    }

    /// The socket for `service`, to hand over; each one can be taken once.
    pub fn take(&mut self, service: &str) -> Option<TcpListener> {
        let at = self
            .listeners
            .iter()
            .position(|(name, _)| *name == service)?;
        Some(self.listeners.swap_remove(at).1)
    }
}

fn hint(port: u16) -> String {
    let airplay = if port == 5000 && cfg!(target_os = "macos") {
        " (on macOS, the AirPlay Receiver listens on 5000)"
    } else {
        ""
    };
    format!(
        "{airplay}: stop what uses it, or pick other ports with `up --port 8000` (uses 8000-8003)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(port: u16) -> bool {
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err()
    }

    #[test]
    fn any_holds_four_distinct_ports_until_each_is_taken_once() {
        let mut sockets = Sockets::any().unwrap();
        let ports = sockets.ports().all().map(|(_, port)| port);
        let mut distinct = ports.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "{ports:?}");
        assert!(
            ports.iter().all(|port| taken(*port)),
            "held while not handed over"
        );
        for (service, port) in sockets.ports().all() {
            let socket = sockets.take(service).unwrap();
            assert_eq!(socket.local_addr().unwrap().port(), port, "{service}");
            assert!(sockets.take(service).is_none(), "{service} taken twice");
        }
    }

    #[test]
    fn keep_only_releases_the_other_sockets() {
        let mut sockets = Sockets::any().unwrap();
        let ports = sockets.ports();
        sockets.keep_only("geolocator");
        assert!(taken(ports.geolocator));
        for port in [ports.frontend, ports.gateway, ports.iss_distance] {
            assert!(!taken(port), "{port} still held");
        }
        assert!(sockets.take("gateway").is_none());
        let socket = sockets.take("geolocator").unwrap();
        assert_eq!(socket.local_addr().unwrap().port(), ports.geolocator);
    }

    #[test]
    fn bind_names_the_service_whose_port_is_taken() {
        let held = Sockets::any().unwrap();
        let port = held.ports().gateway;
        // The frontend's is bound first, so the others' ports do not matter.
        let ports = Ports {
            frontend: port,
            ..held.ports()
        };
        let error = Sockets::bind(ports).err().unwrap().to_string();
        assert!(
            error.starts_with(&format!("port {port} (for frontend) is already in use: ")),
            "{error}"
        );
    }
}
