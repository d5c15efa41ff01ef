//! The instructor's addresses on the venue's network (`--host`): what attendees connect to,
//! and what the room's server certificate names.

use std::fmt;
use std::net::IpAddr;

/// An IP address or a DNS name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    pub fn parse(text: &str) -> Result<Host, String> {
        let text = text.trim();
        let unbracketed = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            if ip.is_unspecified() {
                return Err(format!(
                    "host `{text}`: attendees cannot connect to {ip}; give this machine's \
                     address on the venue's network (or its name)"
                ));
            }
            return Ok(Host::Ip(ip));
        }
        let name = text.trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(format!(
                "host `{text}` is neither an IP address nor a DNS name (letters, digits and \
                 `-`, in labels separated by dots): give this machine's address on the \
                 venue's network, e.g. `--host 192.168.1.20`"
            ));
        }
        Ok(Host::Name(name))
    }

    /// As it goes into a URL: IPv6 addresses in brackets.
    pub fn in_url(&self) -> String {
        match self {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            other => other.to_string(),
        }
    }

    /// `https://HOST:PORT`: an OTLP endpoint of the room.
    pub fn endpoint(&self, port: u16) -> String {
        format!("https://{}:{port}", self.in_url())
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names_are_told_apart() {
        assert_eq!(
            Host::parse("192.168.1.20").unwrap(),
            Host::Ip("192.168.1.20".parse().unwrap())
        );
        assert_eq!(
            Host::parse("[fe80::1]").unwrap(),
            Host::Ip("fe80::1".parse().unwrap())
        );
        assert_eq!(
            Host::parse("Room.Local.").unwrap(),
            Host::Name("room.local".into())
        );
    }

    #[test]
    fn endpoints_bracket_ipv6() {
        assert_eq!(
            Host::parse("fd00::5").unwrap().endpoint(4317),
            "https://[fd00::5]:4317"
        );
        assert_eq!(
            Host::parse("10.0.0.2").unwrap().endpoint(4318),
            "https://10.0.0.2:4318"
        );
    }

    #[test]
    fn what_no_attendee_can_reach_is_refused() {
        for bad in [
            "0.0.0.0", "::", "", "bad_name", "-x.local", "a..b", "http://x",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
