//! The faults of calls to other services, in [`crate::upstream::Upstream::get_json`]:
//!
//! - retry-storm: the gateway tries a failed call to geolocator again at once, five times
//!   in all, whatever the failure (a 404 for a place that does not exist too);
//! - connection-leak: the gateway takes a connection from a pool of eight for each call to
//!   iss-distance, and never gives it back; once the pool is empty a call waits for a
//!   connection until its timeout, and never reaches iss-distance;
//! - captive-portal: every other call from iss-distance to the ISS API is answered, in the
//!   API's place, by a captive portal's login page (200 OK, HTML). The call never leaves
//!   the machine, so this works offline too.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::{Fault, is_on};

/// How many tries retry-storm makes of a call to geolocator.
pub const STORM_ATTEMPTS: u32 = 5;

/// The connections connection-leak's pool holds.
pub const POOL_SIZE: usize = 8;

/// What the captive portal answers.
pub const PORTAL_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Conference Wi-Fi</title></head>\n\
<body><h1>Welcome to the conference Wi-Fi</h1>\n<p>Please accept the terms of use to continue.</p>\n\
<form method=\"post\" action=\"/login\"><button>Accept and connect</button></form></body></html>\n";

/// How many times to try a call to `upstream`: once, or, with retry-storm on, five times
/// for geolocator.
pub fn attempts(upstream: &str) -> u32 {
    if is_on(Fault::RetryStorm) && upstream == "geolocator" {
        STORM_ATTEMPTS
    } else {
        1
    }
}

/// The pool of connection-leak: permits stand for connections.
struct Pool {
    connections: Semaphore,
    /// Connections taken and never given back.
    leaked: AtomicUsize,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    connections: Semaphore::new(POOL_SIZE),
    leaked: AtomicUsize::new(0),
});

/// With connection-leak on, a call to iss-distance first takes a connection from the pool,
/// waiting at most `timeout` for one, and keeps it for ever. False if none came free in
/// time: the call then fails as a timeout, without being sent.
pub async fn take_connection(upstream: &str, timeout: Duration) -> bool {
    if !(is_on(Fault::ConnectionLeak) && upstream == "iss-distance") {
        return true;
    }
    let Ok(Ok(connection)) = tokio::time::timeout(timeout, POOL.connections.acquire()).await else {
        return false;
    };
    // Switched off while this call waited: nothing leaks any more.
    if is_on(Fault::ConnectionLeak) {
        connection.forget();
        POOL.leaked.fetch_add(1, Ordering::SeqCst);
    }
    true
}

/// How many calls the captive portal has seen since it came on.
static PORTAL_CALLS: AtomicU64 = AtomicU64::new(0);

/// With captive-portal on, every other call to the ISS API (the first one included) is
/// answered by the portal: its page, as the body of a 200.
pub fn portal_answer(upstream: &str) -> Option<&'static str> {
    if !(is_on(Fault::CaptivePortal) && upstream == "open-notify") {
        return None;
    }
    let call = PORTAL_CALLS.fetch_add(1, Ordering::SeqCst);
    call.is_multiple_of(2).then_some(PORTAL_PAGE)
}

/// When a fault comes on or goes off: the leaked connections go back to the pool (waking
/// any call that waits for one), and the portal starts counting afresh.
pub(super) fn start_afresh() {
    let leaked = POOL.leaked.swap(0, Ordering::SeqCst);
    POOL.connections.add_permits(leaked);
    PORTAL_CALLS.store(0, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::super::{TEST_TURNS, set};
    use super::*;

    #[tokio::test]
    async fn the_storm_retries_only_calls_to_geolocator_and_only_while_it_is_on() {
        let _turn = TEST_TURNS.lock().await;
        assert_eq!(attempts("geolocator"), 1);
        set(Some(Fault::RetryStorm));
        assert_eq!(attempts("geolocator"), STORM_ATTEMPTS);
        assert_eq!(attempts("iss-distance"), 1);
        set(None);
        assert_eq!(attempts("geolocator"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_leak_empties_the_pool_and_switching_off_fills_it_again() {
        let _turn = TEST_TURNS.lock().await;
        let wait = Duration::from_millis(100);
        set(Some(Fault::ConnectionLeak));
        for call in 0..POOL_SIZE {
            assert!(take_connection("iss-distance", wait).await, "call {call}");
        }
        assert!(
            !take_connection("iss-distance", wait).await,
            "the pool is empty: the next call waits in vain"
        );
        assert!(
            take_connection("geolocator", wait).await,
            "other upstreams have no pool"
        );
        // A call waits; switching off gives it a connection.
        let waiting = tokio::spawn(take_connection("iss-distance", Duration::from_secs(60)));
        tokio::task::yield_now().await;
        set(None);
        assert!(waiting.await.unwrap());
        assert_eq!(POOL.connections.available_permits(), POOL_SIZE);
        set(Some(Fault::ConnectionLeak));
        assert!(
            take_connection("iss-distance", wait).await,
            "on again: a full pool"
        );
        set(None);
    }

    #[tokio::test]
    async fn the_portal_answers_every_other_call_to_the_iss_api_from_the_first() {
        let _turn = TEST_TURNS.lock().await;
        assert_eq!(portal_answer("open-notify"), None);
        set(Some(Fault::CaptivePortal));
        let answers: Vec<bool> = (0..4)
            .map(|_| portal_answer("open-notify").is_some())
            .collect();
        assert_eq!(answers, [true, false, true, false]);
        assert_eq!(portal_answer("nominatim"), None);
        assert!(
            serde_json::from_str::<serde_json::Value>(PORTAL_PAGE).is_err(),
            "the page is no JSON"
        );
        set(None);
        assert_eq!(portal_answer("open-notify"), None);
    }
}
