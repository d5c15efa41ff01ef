//! Endpoints as configs write them: `http://host:port/path`, `host:port` or `:port`.
//!
//! Parsed by hand, not with a URL parser: most of them have no scheme (`tempo:4317`,
//! `:4318`), which a URL parser reads as a scheme or rejects.

/// An endpoint as written in a config: `http://host:port/path`, `host:port` or `:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
}

impl Endpoint {
    /// Parses an endpoint; `None` when it has no host part that could be checked.
    pub fn parse(s: &str) -> Option<Endpoint> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, s),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, String::new()),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let end = stripped.find(']')?;
            let port = stripped[end + 1..].strip_prefix(':');
            (format!("[{}]", &stripped[..end]), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse().ok()?),
            None => match scheme.as_deref() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            },
        };
        Some(Endpoint {
            scheme,
            host,
            port,
            path,
        })
    }

    /// Whether a listener bound to this endpoint is reachable from other containers.
    pub fn binds_all_interfaces(&self, own_service: &str) -> bool {
        matches!(self.host.as_str(), "" | "0.0.0.0" | "[::]" | "::") || self.host == own_service
    }
}
