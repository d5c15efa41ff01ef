//! An attendee's join file, `join/NAME.toml`: all that attendee gets, and all they need to
//! send to the room: where (the endpoints), as whom (the token) and whom to trust (the
//! room's CA certificate).

use serde::{Deserialize, Serialize};

use super::hosts::Host;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinFile {
    /// The name the room stores this attendee's telemetry under (`workshop.attendee`).
    pub attendee: String,
    /// The secret that proves it: `Authorization: Bearer <token>` on every OTLP request.
    pub token: String,
    /// The room's OTLP/gRPC endpoints, one per address of the instructor's machine.
    pub grpc: Vec<String>,
    /// The room's OTLP/HTTP endpoints (the exporters append `/v1/traces` and so on).
    pub http: Vec<String>,
    /// `OTEL_EXPORTER_OTLP_HEADERS` as the OpenTelemetry SDKs read it (the value URL-encoded).
    pub otel_exporter_otlp_headers: String,
    /// The room's CA, in PEM: the certificate to trust (`OTEL_EXPORTER_OTLP_CERTIFICATE`
    /// names a file that holds it).
    pub ca_certificate: String,
}

impl JoinFile {
    pub fn new(
        attendee: &str,
        token: &str,
        hosts: &[Host],
        ports: (u16, u16),
        ca_pem: &str,
    ) -> JoinFile {
        let (grpc, http) = ports;
        JoinFile {
            attendee: attendee.to_owned(),
            token: token.to_owned(),
            grpc: hosts.iter().map(|h| h.endpoint(grpc)).collect(),
            http: hosts.iter().map(|h| h.endpoint(http)).collect(),
            // The token is a name, a dot and hex: only the space needs encoding.
            otel_exporter_otlp_headers: format!("Authorization=Bearer%20{token}"),
            ca_certificate: ca_pem.to_owned(),
        }
    }

    /// The file's text: a comment for the person who opens it, then the TOML.
    pub fn render(&self) -> Result<String, String> {
        let body = toml::to_string(self).map_err(|e| format!("cannot write a join file: {e}"))?;
        Ok(format!(
            "# The ISS workshop's room: {name}'s join file.\n\
             # Keep it to yourself: the token is your identity in the room, and anyone who has\n\
             # it can send telemetry as {name}.\n\
             {body}",
            name = self.attendee
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_file_reads_back_as_written() {
        let hosts = [
            Host::parse("192.168.1.20").unwrap(),
            Host::parse("fd00::1").unwrap(),
        ];
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let join = JoinFile::new("alice", "alice.00ff", &hosts, (4317, 4318), pem);
        let text = join.render().unwrap();
        assert!(text.starts_with("# The ISS workshop's room: alice's join file."));
        let read: JoinFile = toml::from_str(&text).unwrap();
        assert_eq!(read, join);
        assert_eq!(
            read.grpc,
            ["https://192.168.1.20:4317", "https://[fd00::1]:4317"]
        );
        assert_eq!(read.http[0], "https://192.168.1.20:4318");
        assert_eq!(
            read.otel_exporter_otlp_headers,
            "Authorization=Bearer%20alice.00ff"
        );
    }
}
