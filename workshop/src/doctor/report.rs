//! What the doctor found: one [`Check`] per line, grouped in sections, and which of the
//! workshop's two paths each check matters for.

/// How a line is marked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Ok,
    /// Something that differs on this system, to know (never a problem).
    Info,
    Warn,
    Fail,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Info => "i",
            Status::Warn => "!",
            Status::Fail => "✗",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warn => "warning",
            Status::Fail => "fail",
        }
    }
}

/// Which path needs a check to pass (see [`super::paths`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Need {
    /// Both paths: the toolchain, the services' ports, the OTLP ports.
    Both,
    /// Only the platform in Docker: Docker, Compose, the platform and its ports.
    Docker,
    /// Neither: good to know (nextest, data arriving, the system's differences).
    Neither,
}

impl Need {
    pub fn word(self) -> &'static str {
        match self {
            Need::Both => "both",
            Need::Docker => "docker",
            Need::Neither => "neither",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Check {
    pub status: Status,
    pub name: String,
    pub detail: String,
    pub fix: Option<String>,
    pub need: Need,
}

impl Check {
    /// The same check, needed by `need` instead.
    pub fn needed_by(mut self, need: Need) -> Check {
        self.need = need;
        self
    }
}

pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        status: Status::Ok,
        name: name.into(),
        detail: detail.into(),
        fix: None,
        need: Need::Both,
    }
}

pub fn info(name: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        status: Status::Info,
        name: name.into(),
        detail: detail.into(),
        fix: None,
        need: Need::Neither,
    }
}

pub fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status: Status::Warn,
        name: name.into(),
        detail: detail.into(),
        fix: Some(fix.into()),
        need: Need::Both,
    }
}

pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status: Status::Fail,
        name: name.into(),
        detail: detail.into(),
        fix: Some(fix.into()),
        need: Need::Both,
    }
}

/// A titled group of checks, in the order they are shown.
pub struct Section {
    pub title: &'static str,
    pub checks: Vec<Check>,
}

impl Section {
    /// A section whose checks all matter for `need`.
    pub fn needed_by(title: &'static str, need: Need, checks: Vec<Check>) -> Section {
        Section {
            title,
            checks: checks.into_iter().map(|c| c.needed_by(need)).collect(),
        }
    }
}
