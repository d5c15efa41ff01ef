//! What `fault reveal` says about each fault: what it does, and where it shows in the
//! telemetry, along the route the chapter teaches (dashboard, trace, logs). Each "where"
//! is what the findability tests (`workshop/tests/faults.rs`) find in the telemetry the
//! finished workshop sends.

use faults::Fault;

/// What the fault does to the services.
pub fn what(fault: Fault) -> &'static str {
    match fault {
        Fault::LostContext => {
            "iss-distance ignores the trace context it is sent, as it would behind a proxy \
             that passes on only the headers it knows: its spans start traces of their own."
        }
        Fault::SlowLookups => {
            "geolocator takes 1.2 s longer to look up a name with letters beyond ASCII \
             (Zürich, São Paulo, Reykjavík, Montréal), and warns about the slow lookup."
        }
        Fault::ConnectionLeak => {
            "the gateway takes a connection from a pool of eight for every call to \
             iss-distance and never gives it back. After eight calls, each call waits for \
             a free connection until its timeout, and never reaches iss-distance."
        }
        Fault::CaptivePortal => {
            "every other call from iss-distance to the ISS API is answered, in the API's \
             place, by a captive portal's login page: 200 OK, with HTML instead of JSON. \
             iss-distance falls back to its orbital model."
        }
        Fault::SignBug => {
            "geolocator checks the latitude of its answer against 0 to 90 instead of -90 \
             to 90: every place south of the equator fails with a 500."
        }
        Fault::MemoryLeak => {
            "the gateway keeps every request it serves in a list that is never trimmed \
             (4 KiB each), and goes through the whole list before each call: every request \
             takes a little longer than the one before."
        }
        Fault::RetryStorm => {
            "the gateway tries a failed call to geolocator again at once, up to five times \
             in all, whatever the failure: a 404 (no such place) too, which can never \
             succeed."
        }
    }
}

/// Where it shows: the dashboard's symptom, the trace, the logs.
pub fn where_it_shows(fault: Fault) -> [&'static str; 3] {
    match fault {
        Fault::LostContext => [
            "the rate, error and latency panels do not move. The service graph gains an edge from \
             `user` to iss-distance: requests from nowhere.",
            "the gateway's CLIENT `GET` to iss-distance has no child. iss-distance's `GET \
             /distance` is the root of a trace of its own (in inspect, a tree that starts in \
             iss-distance).",
            "the request's trace has no log from iss-distance: its `calculating the ISS distance` \
             carries the id of that other trace.",
        ],
        Fault::SlowLookups => [
            "p95 and p99 latency of geolocator, gateway and frontend jump above 1.2 s; p50 does \
             not move, since only some names are slow.",
            "in a slow trace, geolocator's `GET /coordinates` takes 1.2 s, all of it its own time.",
            "geolocator, in that trace: WARN `slow lookup: 1201 ms for a name of 6 characters, 1 \
             of them beyond ASCII`.",
        ],
        Fault::ConnectionLeak => [
            "after a few requests the error rate of gateway (504) and frontend (502) climbs and \
             their latency reaches the gateway's timeout, while iss-distance's request rate drops \
             to nothing.",
            "the gateway's CLIENT `GET` to iss-distance lasts the whole timeout, fails with \
             `iss-distance did not answer within 5000 ms`, and has no child: the request never \
             reached iss-distance.",
            "nothing from iss-distance in those traces: iss-distance itself is fine.",
        ],
        Fault::CaptivePortal => [
            "the rate, error and latency panels stay calm: iss-distance answers from its orbital \
             model. `iss.requests` counts calls answered 200 that failed (`error.type` \
             invalid_response).",
            "iss-distance's `getting-iss-coordinates` and its CLIENT `GET` to the ISS API fail: \
             status 200, `open-notify sent an invalid response: expected value at line 1 column 1` \
             (the answer is not JSON at all).",
            "iss-distance: `could not get the ISS position: open-notify sent an invalid response: \
             …; using the model`.",
        ],
        Fault::SignBug => [
            "the error rate of geolocator, gateway and frontend rises: every place south of the \
             equator fails.",
            "geolocator's `GET /coordinates` ends in 500, `latitude -33.86785 is out of range: \
             expected 0 to 90`; every failing latitude is below zero.",
            "geolocator, in that trace: ERROR `cannot answer: latitude … is out of range: expected \
             0 to 90`.",
        ],
        Fault::MemoryLeak => [
            "the latency of gateway and frontend climbs steadily, request after request, p50 \
             included, while geolocator and iss-distance stay fast.",
            "the gateway's `GET /distance` spends its time before its first call: its two CLIENT \
             spans are short, and the gap before them grows from trace to trace.",
            "nothing. What grows besides the time is the gateway's memory (4 KiB a request), which \
             the workshop's telemetry does not measure.",
        ],
        Fault::RetryStorm => [
            "geolocator's request rate rises above the gateway's (each unknown place is asked five \
             times), and its error-free 404s with it; the page's answers do not change.",
            "a request for an unknown place has five CLIENT `GET`s to geolocator in a row, each \
             one a 404.",
            "gateway, in that trace: WARN `geolocator call failed (404); trying again at once, \
             attempt 2 of 5`, and on to 5.",
        ],
    }
}
