//! Which ports the services use natively, and whether they are free.

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

    pub fn all(&self) -> [(&'static str, u16); 4] {
        [
            ("frontend", self.frontend),
            ("gateway", self.gateway),
            ("geolocator", self.geolocator),
            ("iss-distance", self.iss_distance),
        ]
    }

    /// Fails with a hint when a port is taken, before anything starts.
    pub fn check_free(&self) -> anyhow::Result<()> {
        for (service, port) in self.all() {
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
                bail!(
                    "port {port} (for {service}) is already in use{}",
                    hint(port)
                );
            }
        }
        Ok(())
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
