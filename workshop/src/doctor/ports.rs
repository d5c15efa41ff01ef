//! The ports: the services' (5000-5003 by default) and the platform's (3000, 4317, 4318,
//! 9090): free, taken by what should be there (asked the way only it answers), or taken by
//! something else, which the line names how to find.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use super::http::{Answer, Probe, speaks_http2};
use super::paths::Need;
use crate::ports::Ports;
use crate::report::Verdict;

/// What should listen on a port, and how to recognise it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Service(&'static str),
    Grafana,
    Prometheus,
    OtlpHttp,
    OtlpGrpc,
}

impl Expected {
    fn what(self) -> &'static str {
        match self {
            Expected::Service(name) => name,
            Expected::Grafana => "Grafana",
            Expected::Prometheus => "Prometheus",
            Expected::OtlpHttp => "OTLP/HTTP",
            Expected::OtlpGrpc => "OTLP gRPC",
        }
    }

    fn need(self) -> Need {
        match self {
            // Only the platform uses these; the OTLP ports matter to `up` on both paths.
            Expected::Grafana | Expected::Prometheus => Need::Docker,
            Expected::Service(_) | Expected::OtlpHttp | Expected::OtlpGrpc => Need::Both,
        }
    }
}

/// What a taken port answered when asked the way its expected owner answers.
#[derive(Clone, Debug)]
pub enum Reply {
    Http(Answer),
    /// An OTLP/HTTP export's answer, and whether the port has the workshop receiver's tap.
    Otlp {
        export: Answer,
        tap: bool,
    },
    /// Whether it answered an HTTP/2 handshake, as a gRPC server does.
    Http2(Result<bool, String>),
}

#[derive(Clone, Debug)]
pub enum Holder {
    Free,
    Taken {
        reply: Reply,
        /// Whether the macOS AirPlay Receiver answered (asked only of an unknown holder of
        /// 5000, the port it takes).
        airplay: bool,
    },
}

/// One port and what was found on it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub port: u16,
    pub expected: Expected,
    pub holder: Holder,
}

/// The local port of `url`, if its host is this machine.
pub fn local_port(url: &reqwest::Url) -> Option<u16> {
    let host = url.host_str()?;
    let local = matches!(
        host,
        "127.0.0.1" | "localhost" | "[::1]" | "::1" | "0.0.0.0"
    );
    local.then(|| url.port_or_known_default()).flatten()
}

/// The ports to look at: the four services', then each platform URL's that is on this
/// machine.
pub fn wanted(services: Ports, platform: [(&reqwest::Url, Expected); 4]) -> Vec<(u16, Expected)> {
    let services = services
        .all()
        .map(|(name, port)| (port, Expected::Service(name)));
    let platform = platform
        .into_iter()
        .filter_map(|(url, expected)| Some((local_port(url)?, expected)));
    services.into_iter().chain(platform).collect()
}

/// Looks at every port at once; the probes borrow, so they run on this task.
pub async fn probe(probe: &Probe<'_>, wanted: &[(u16, Expected)], timeout: Duration) -> Vec<Seen> {
    let each = wanted
        .iter()
        .map(|&(port, expected)| probe_port(probe, port, expected, timeout));
    futures_util::future::join_all(each).await
}

async fn probe_port(probe: &Probe<'_>, port: u16, expected: Expected, timeout: Duration) -> Seen {
    let seen = |holder| Seen {
        port,
        expected,
        holder,
    };
    if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
        return seen(Holder::Free);
    }
    let base: reqwest::Url = format!("http://127.0.0.1:{port}")
        .parse()
        .expect("a valid URL");
    let reply = match expected {
        Expected::Service(_) => Reply::Http(probe.get(&base, "/healthz", &[]).await),
        Expected::Grafana => Reply::Http(probe.get(&base, "/api/health", &[]).await),
        Expected::Prometheus => Reply::Http(probe.get(&base, "/-/ready", &[]).await),
        Expected::OtlpHttp => {
            let (export, tap) = tokio::join!(probe.otlp_export(&base), probe.has_tap(&base));
            Reply::Otlp { export, tap }
        }
        Expected::OtlpGrpc => {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            Reply::Http2(speaks_http2(addr, timeout).await)
        }
    };
    let airplay = matches!(expected, Expected::Service(_))
        && port == 5000
        && holder_of(expected, &reply).is_none()
        && probe.is_airplay(&base).await;
    seen(Holder::Taken { reply, airplay })
}

/// Who holds the port, when its reply is the one its expected owner gives.
fn holder_of(expected: Expected, reply: &Reply) -> Option<&'static str> {
    match (expected, reply) {
        (Expected::Service(_), Reply::Http(Answer::Got { status: 200, body }))
            if body.trim() == "ok" =>
        {
            Some(
                "in use by a workshop service (answers /healthz): `workshop up` or the \
                 services' compose file is running",
            )
        }
        (Expected::Grafana, Reply::Http(answer))
            if answer.json().is_some_and(|v| v.get("database").is_some()) =>
        {
            Some("in use by Grafana (answers /api/health)")
        }
        (Expected::Prometheus, Reply::Http(Answer::Got { body, .. }))
            if body.contains("Prometheus") =>
        {
            Some("in use by Prometheus (answers /-/ready)")
        }
        (
            Expected::OtlpHttp,
            Reply::Otlp {
                export: Answer::Got { status: 200, .. },
                tap: true,
            },
        ) => Some(
            "in use by the workshop's built-in OTLP receiver (it has a tap): `workshop up` \
             started it, as no collector was running, or `workshop inspect` did",
        ),
        (
            Expected::OtlpHttp,
            Reply::Otlp {
                export: Answer::Got { status: 200, .. },
                tap: false,
            },
        ) => Some(
            "in use by an OTLP receiver without a tap, a collector: the platform's, or the one \
             `workshop up --collector` runs",
        ),
        (Expected::OtlpGrpc, Reply::Http2(Ok(true))) => Some(
            "in use by an HTTP/2 (gRPC) server: the platform's collector, or the receiver \
             `workshop up` starts",
        ),
        _ => None,
    }
}

/// The lines of the ports that `need` names (the paths that use them); `os` names the tools
/// to find the program that holds one.
pub fn judge(seen: &[Seen], os: &str, need: Need) -> Vec<Verdict> {
    seen.iter()
        .filter(|seen| seen.expected.need() == need)
        .map(|seen| line(seen, os))
        .collect()
}

fn line(seen: &Seen, os: &str) -> Verdict {
    let Seen {
        port,
        expected,
        ref holder,
    } = *seen;
    let what = expected.what();
    let name = format!("port {port} ({what})");
    let Holder::Taken { reply, airplay } = holder else {
        return Verdict::ok(name, "free");
    };
    if let Some(who) = holder_of(expected, reply) {
        return Verdict::ok(name, who);
    }
    let find = if os == "macos" {
        format!("`lsof -nP -iTCP:{port} -sTCP:LISTEN` shows which program")
    } else {
        format!(
            "`ss -ltnp 'sport = :{port}'` (or `lsof -nP -iTCP:{port} -sTCP:LISTEN`) shows which program"
        )
    };
    if !matches!(expected, Expected::Service(_)) {
        return Verdict::fail(
            name,
            format!("taken by something that is not {what}"),
            &format!(
                "Stop it ({find}), or publish the platform on another port in docker-compose.yml"
            ),
        );
    }
    let (detail, first) = if *airplay {
        (
            "taken by the macOS AirPlay Receiver",
            "Turn the AirPlay Receiver off in System Settings → General → AirDrop & \
             Handoff, or run",
        )
    } else if port == 5000 && os == "macos" {
        (
            "taken by another program",
            "On macOS this is usually the AirPlay Receiver: turn it off in System \
             Settings → General → AirDrop & Handoff, or run",
        )
    } else {
        ("taken by another program", "Run")
    };
    Verdict::fail(
        name,
        detail,
        &format!(
            "{first} the services on other ports: `cargo run -p workshop -- up --port 8000` \
             (uses 8000-8003); {find}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn taken(port: u16, expected: Expected, reply: Reply) -> Seen {
        Seen {
            port,
            expected,
            holder: Holder::Taken {
                reply,
                airplay: false,
            },
        }
    }

    fn got(status: u16, body: &str) -> Reply {
        Reply::Http(Answer::Got {
            status,
            body: body.into(),
        })
    }

    #[test]
    fn local_ports_only() {
        let base: reqwest::Url = "http://127.0.0.1:3000".parse().unwrap();
        assert_eq!(local_port(&base), Some(3000));
        assert_eq!(local_port(&"http://grafana:3000".parse().unwrap()), None);
        assert_eq!(local_port(&"http://localhost".parse().unwrap()), Some(80));
    }

    #[test]
    fn the_services_ports_follow_the_frontends_and_remote_urls_are_skipped() {
        let grafana: reqwest::Url = "http://127.0.0.1:3000".parse().unwrap();
        let remote: reqwest::Url = "http://prometheus.example:9090".parse().unwrap();
        let wanted = wanted(
            Ports::from_base(8000).unwrap(),
            [
                (&grafana, Expected::Grafana),
                (&remote, Expected::OtlpGrpc),
                (&remote, Expected::OtlpHttp),
                (&remote, Expected::Prometheus),
            ],
        );
        let ports: Vec<u16> = wanted.iter().map(|(port, _)| *port).collect();
        assert_eq!(ports, [8000, 8001, 8002, 8003, 3000]);
        assert_eq!(wanted[3].1, Expected::Service("iss-distance"));
    }

    #[test]
    fn what_should_be_there_is_a_tick_and_platform_ports_only_matter_to_docker() {
        let seen = [
            Seen {
                port: 5001,
                expected: Expected::Service("gateway"),
                holder: Holder::Free,
            },
            taken(5000, Expected::Service("frontend"), got(200, "ok\n")),
            taken(3000, Expected::Grafana, got(200, r#"{"database":"ok"}"#)),
            taken(
                9090,
                Expected::Prometheus,
                got(200, "Prometheus Server is Ready."),
            ),
            taken(
                4318,
                Expected::OtlpHttp,
                Reply::Otlp {
                    export: Answer::Got {
                        status: 200,
                        body: "{}".into(),
                    },
                    tap: false,
                },
            ),
            taken(4317, Expected::OtlpGrpc, Reply::Http2(Ok(true))),
        ];
        let names = |need| -> Vec<String> {
            let checks = judge(&seen, "linux", need);
            assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
            checks.into_iter().map(|c| c.what).collect()
        };
        let both = names(Need::Both);
        assert_eq!(
            both,
            [
                "port 5001 (gateway)",
                "port 5000 (frontend)",
                "port 4318 (OTLP/HTTP)",
                "port 4317 (OTLP gRPC)"
            ]
        );
        assert_eq!(
            names(Need::Docker),
            ["port 3000 (Grafana)", "port 9090 (Prometheus)"]
        );
        assert_eq!(judge(&seen, "linux", Need::Both)[0].detail, "free");
    }

    #[test]
    fn the_workshops_receiver_is_told_from_a_collector_by_its_tap() {
        let otlp = |tap| Reply::Otlp {
            export: Answer::Got {
                status: 200,
                body: "{}".into(),
            },
            tap,
        };
        let checks = judge(
            &[
                taken(4318, Expected::OtlpHttp, otlp(true)),
                taken(4318, Expected::OtlpHttp, otlp(false)),
            ],
            "linux",
            Need::Both,
        );
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        assert!(
            checks[0]
                .detail
                .starts_with("in use by the workshop's built-in OTLP receiver (it has a tap)"),
            "{checks:#?}"
        );
        assert!(
            checks[1]
                .detail
                .starts_with("in use by an OTLP receiver without a tap, a collector"),
            "{checks:#?}"
        );
    }

    #[test]
    fn a_stranger_on_a_platform_port_is_to_stop() {
        let seen = [taken(4317, Expected::OtlpGrpc, Reply::Http2(Ok(false)))];
        let check = &judge(&seen, "linux", Need::Both)[0];
        assert_eq!(check.status, Status::Fail);
        assert_eq!(check.detail, "taken by something that is not OTLP gRPC");
        assert!(
            check
                .hint
                .as_deref()
                .unwrap()
                .contains("ss -ltnp 'sport = :4317'")
        );
        // macOS has no ss.
        let check = &judge(&seen, "macos", Need::Both)[0];
        assert!(
            check
                .hint
                .as_deref()
                .unwrap()
                .starts_with("Stop it (`lsof -nP -iTCP:4317")
        );
    }

    #[test]
    fn a_stranger_on_a_services_port_moves_the_services() {
        let stranger = taken(5000, Expected::Service("frontend"), got(404, "not here"));
        let check = &judge(std::slice::from_ref(&stranger), "linux", Need::Both)[0];
        assert_eq!(check.detail, "taken by another program");
        assert!(
            check
                .hint
                .as_deref()
                .unwrap()
                .starts_with("Run the services on other ports")
        );
        // On macOS, 5000 is most likely the AirPlay Receiver, even when it did not say so.
        let check = &judge(std::slice::from_ref(&stranger), "macos", Need::Both)[0];
        assert!(
            check
                .hint
                .as_deref()
                .unwrap()
                .starts_with("On macOS this is usually")
        );
        // And when it says so, the line names it.
        let airplay = Seen {
            holder: Holder::Taken {
                reply: got(403, ""),
                airplay: true,
            },
            ..stranger
        };
        let check = &judge(&[airplay], "macos", Need::Both)[0];
        assert_eq!(check.detail, "taken by the macOS AirPlay Receiver");
        assert!(
            check
                .hint
                .as_deref()
                .unwrap()
                .starts_with("Turn the AirPlay Receiver off")
        );
    }
}
