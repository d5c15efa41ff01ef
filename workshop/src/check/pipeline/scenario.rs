//! The traffic section 6's check sends through the collector, and what each request is for
//! the checks: an ordinary request (which sampling may drop), one that ends in an error or
//! is slow (which sampling must keep), or a stylesheet fetch (which the filter drops).
//!
//! The requests carry what a person would type: place names and coordinates. None of it
//! may reach a backend. The places the standard scenario asks for are reused, so the
//! statuses come from the same rules ([`Step::expected_status`]).

use crate::check::scenario::{IssAnswer, Place, Request as StepRequest, Step};

/// A request of section 6's traffic: a step of the standard scenario's shapes, or a
/// stylesheet fetch.
pub type Request = Step;

/// Ordinary pages: enough that a share of 10 % is told from 0 % and from 20 %.
pub const ORDINARY_PAGES: usize = 200;
/// Stylesheet fetches, as a browser makes after every page.
pub const STYLESHEETS: usize = 20;
/// How much longer than the latency policy's threshold a slow request takes.
pub const SLOWER_BY_MS: u64 = 300;

/// Places the gazetteer knows (a test asks it): ordinary pages cycle through them.
pub const KNOWN_PLACES: [&str; 8] = [
    "Berlin", "Tokyo", "Zurich", "Paris", "Lima", "Nairobi", "Sydney", "Montreal",
];
/// Places it does not know: geolocator answers 404, quoting the name.
pub const UNKNOWN_PLACES: [&str; 4] = ["Narnia", "Lilliput", "Brigadoon", "Xanadu"];
/// Exact coordinates typed straight into iss-distance: fine, and private.
pub const EXACT_COORDINATES: [(&str, &str); 2] =
    [("47.376887", "8.541694"), ("-33.868820", "151.209296")];
/// Coordinates iss-distance refuses, quoting them: out of range, and not a number.
pub const BAD_COORDINATES: [(&str, &str); 2] =
    [("94.04175", "13.404954"), ("north-north-east", "2.294481")];

/// What a request is for the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Ends well and fast: sampling keeps a share of these.
    Ordinary,
    /// Its trace has a span with status ERROR: sampling keeps all of these.
    Error,
    /// Ends well but slowly: sampling keeps all of these.
    Slow,
    /// `GET /style.css`: the filter drops these.
    Stylesheet,
}

impl Kind {
    #[cfg(test)]
    pub const ALL: [Kind; 4] = [Kind::Ordinary, Kind::Error, Kind::Slow, Kind::Stylesheet];
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Ordinary => "ordinary",
            Kind::Error => "with an error",
            Kind::Slow => "slow",
            Kind::Stylesheet => "stylesheet",
        })
    }
}

/// What section 6 makes of a step.
impl Step {
    /// What the request is for the checks: a stylesheet, slow (the ISS API takes its
    /// time), an error (any answer but 200), or ordinary.
    pub fn kind(&self) -> Kind {
        match (&self.request, self.iss_api) {
            (StepRequest::Stylesheet, _) => Kind::Stylesheet,
            (_, IssAnswer::Slow(_)) => Kind::Slow,
            _ if self.expected_status() != 200 => Kind::Error,
            _ => Kind::Ordinary,
        }
    }

    /// A page of the frontend (`GET /`), which the RED metrics count.
    pub fn is_page(&self) -> bool {
        matches!(self.request, StepRequest::Page { .. })
    }

    /// What a person typed into it: the query's values.
    pub fn typed(&self) -> Vec<&'static str> {
        match self.request {
            StepRequest::Page { location, .. } | StepRequest::Distance { location } => {
                vec![location.name()]
            }
            StepRequest::Coordinates {
                latitude,
                longitude,
            } => vec![latitude, longitude],
            StepRequest::Stylesheet => Vec::new(),
        }
    }
}

fn page(place: Place, iss_api: IssAnswer) -> Step {
    let request = StepRequest::Page {
        location: place,
        propagate: false,
    };
    Step { iss_api, request }
}

fn coordinates((latitude, longitude): (&'static str, &'static str)) -> Step {
    let request = StepRequest::Coordinates {
        latitude,
        longitude,
    };
    Step {
        iss_api: IssAnswer::Position,
        request,
    }
}

/// A stylesheet fetch.
pub fn stylesheet() -> Step {
    Step {
        iss_api: IssAnswer::Position,
        request: StepRequest::Stylesheet,
    }
}

/// The requests, in the order they are sent (the stand-in's answer is switched between
/// requests that need another one, so those go in runs). Slow requests take `slow_ms`.
pub fn requests(slow_ms: u64) -> Vec<Request> {
    let known = |i: usize| Place::Known(KNOWN_PLACES[i % KNOWN_PLACES.len()]);
    let mut out: Vec<Request> = (0..ORDINARY_PAGES)
        .map(|i| page(known(i), IssAnswer::Position))
        .collect();
    out.extend(EXACT_COORDINATES.into_iter().map(coordinates));
    out.extend(
        UNKNOWN_PLACES
            .into_iter()
            .map(|p| page(Place::Unknown(p), IssAnswer::Position)),
    );
    out.extend(BAD_COORDINATES.into_iter().map(coordinates));
    out.extend((0..2).map(|_| page(Place::Known("Berlin"), IssAnswer::Status(500))));
    out.extend(
        ["Tokyo", "Lima", "Sydney"].map(|p| page(Place::Known(p), IssAnswer::Slow(slow_ms))),
    );
    out.extend((0..STYLESHEETS).map(|_| stylesheet()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The requests counted by kind.
    fn counted(requests: &[Request]) -> BTreeMap<Kind, usize> {
        let mut counts: BTreeMap<Kind, usize> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
        for request in requests {
            *counts.entry(request.kind()).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn every_kind_is_sent_and_its_statuses_follow_from_the_standard_rules() {
        let requests = requests(800);
        let counts = counted(&requests);
        assert_eq!(counts[&Kind::Ordinary], ORDINARY_PAGES + 2);
        assert_eq!(counts[&Kind::Error], 8);
        assert_eq!(counts[&Kind::Slow], 3);
        assert_eq!(counts[&Kind::Stylesheet], STYLESHEETS);
        let status = |kind: Kind| -> Vec<u16> {
            requests
                .iter()
                .filter(|r| r.kind() == kind)
                .map(Request::expected_status)
                .collect()
        };
        assert!(status(Kind::Ordinary).iter().all(|s| *s == 200));
        assert!(status(Kind::Slow).iter().all(|s| *s == 200));
        assert_eq!(
            status(Kind::Error),
            [404, 404, 404, 404, 400, 400, 502, 502]
        );
        assert_eq!(
            requests.iter().filter(|r| r.is_page()).count(),
            200 + 4 + 2 + 3
        );
        assert_eq!(
            requests[ORDINARY_PAGES].path(),
            "/distance?latitude=47.376887&longitude=8.541694"
        );
        assert_eq!(requests.last().unwrap().path(), "/style.css");
    }

    #[test]
    fn the_gazetteer_knows_the_known_places_and_not_the_unknown_ones() {
        let gazetteer = geolocator::gazetteer::Gazetteer::embedded();
        for place in KNOWN_PLACES {
            assert!(gazetteer.lookup(place).is_some(), "{place}");
        }
        for place in UNKNOWN_PLACES {
            assert!(gazetteer.lookup(place).is_none(), "{place}");
        }
    }

    #[test]
    fn what_people_typed_is_every_query_value() {
        let requests = requests(800);
        let typed: Vec<&str> = requests.iter().flat_map(Request::typed).collect();
        for value in [
            "Berlin",
            "Narnia",
            "47.376887",
            "north-north-east",
            "2.294481",
        ] {
            assert!(typed.contains(&value), "{value}");
        }
        assert!(stylesheet().typed().is_empty());
    }
}
