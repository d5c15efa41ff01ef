//! `room.toml`: what `room init` decided and `room serve` needs — the attendees, the
//! instructor's addresses and the OTLP ports the join files name. Not secret.

use serde::{Deserialize, Serialize};

/// The OTLP ports, as everywhere: what docker-compose.room.yml publishes.
pub const GRPC_PORT: u16 = 4317;
pub const HTTP_PORT: u16 = 4318;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub attendees: Vec<String>,
    pub hosts: Vec<String>,
    pub grpc_port: u16,
    pub http_port: u16,
}

impl Settings {
    pub fn render(&self) -> Result<String, String> {
        let body =
            toml::to_string(self).map_err(|e| format!("cannot write the room's settings: {e}"))?;
        Ok(format!(
            "# The room, as `workshop room init` made it; `workshop room serve` reads it.\n{body}"
        ))
    }

    pub fn parse(text: &str, file: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| format!("{file}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_as_written() {
        let settings = Settings {
            attendees: vec!["alice".into(), "bob".into()],
            hosts: vec!["192.168.1.20".into(), "room.local".into()],
            grpc_port: GRPC_PORT,
            http_port: HTTP_PORT,
        };
        let text = settings.render().unwrap();
        assert_eq!(Settings::parse(&text, "room.toml").unwrap(), settings);
        assert!(
            Settings::parse("hosts = 3", "room.toml")
                .unwrap_err()
                .starts_with("room.toml: ")
        );
    }
}
