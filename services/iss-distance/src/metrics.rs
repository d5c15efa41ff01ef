//! iss-distance's own metrics: how many requests it gets, and how many it makes to the ISS
//! API, by how they ended.

use service_kit::upstream::CallOutcome;

/// Counts one request to `/distance`.
// TODO(section 1): add one to the counter `incoming.requests`.
pub fn count_incoming_request() {}

/// Counts one call to the ISS API, by how it ended.
// TODO(section 1): add one to the counter `iss.requests`, with the call's status code and
// error type as attributes.
pub fn count_iss_request(_call: CallOutcome) {}
