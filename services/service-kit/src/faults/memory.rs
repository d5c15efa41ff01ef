//! memory-leak, around the gateway's handler: every request is kept in a list that is never
//! trimmed (4 KiB each, as a duplicate check that remembers whole requests might), and each
//! request goes through the whole list first.
//!
//! Going through a few hundred entries costs a real program microseconds, too little to
//! see at workshop traffic; so the cost is a wait of 4 ms an entry, which makes the list's
//! growth show within a minute of `workshop load`. Bounded, so that the fault never takes
//! a service down: at most 10,000 entries (40 MiB) and a 2.5 s wait.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// What each remembered request costs the next one.
pub const COST_PER_ENTRY: Duration = Duration::from_millis(4);
/// The longest wait, reached after 625 requests.
pub const LONGEST: Duration = Duration::from_millis(2500);
const MAX_ENTRIES: usize = 10_000;
const ENTRY_BYTES: usize = 4096;

static REMEMBERED: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// memory-leak: a request for a place (one the handler will look up) is remembered, and
/// waits as long as going through every remembered request takes, before the handler.
pub(super) async fn remember_request(request: Request, next: Next) -> Response {
    if super::location(&request).is_some() {
        tokio::time::sleep(cost(remember())).await;
    }
    next.run(request).await
}

/// Remembers one more request; how many there are now.
fn remember() -> usize {
    let mut remembered = REMEMBERED.lock().unwrap_or_else(PoisonError::into_inner);
    if remembered.len() < MAX_ENTRIES {
        // Written, not just allocated: untouched pages would not count as memory used.
        remembered.push(vec![1; ENTRY_BYTES].into_boxed_slice());
    }
    remembered.len()
}

/// The wait for going through `entries` remembered requests.
pub fn cost(entries: usize) -> Duration {
    let entries = u32::try_from(entries).unwrap_or(u32::MAX);
    COST_PER_ENTRY.saturating_mul(entries).min(LONGEST)
}

/// When a fault comes on or goes off: the remembered requests are let go.
pub(super) fn forget() {
    let mut remembered = REMEMBERED.lock().unwrap_or_else(PoisonError::into_inner);
    *remembered = Vec::new();
}

#[cfg(test)]
mod tests {
    use super::super::tests::{as_service, get};
    use super::super::{Fault, TEST_TURNS, set};
    use super::*;

    #[test]
    fn the_cost_grows_with_the_list_and_is_bounded() {
        assert_eq!(cost(0), Duration::ZERO);
        assert_eq!(cost(1), Duration::from_millis(4));
        assert_eq!(cost(100), Duration::from_millis(400));
        assert_eq!(cost(625), LONGEST);
        assert_eq!(cost(usize::MAX), LONGEST);
    }

    #[tokio::test(start_paused = true)]
    async fn each_request_takes_longer_than_the_last_until_switched_off() {
        let _turn = TEST_TURNS.lock().await;
        let app = as_service("gateway", "{}");
        let took = || async {
            let started = tokio::time::Instant::now();
            get(app.clone(), "/distance?location=Berlin").await;
            started.elapsed()
        };
        assert_eq!(took().await, Duration::ZERO, "off");
        set(Some(Fault::MemoryLeak));
        assert_eq!(took().await, Duration::from_millis(4));
        assert_eq!(took().await, Duration::from_millis(8));
        assert_eq!(took().await, Duration::from_millis(12));
        let started = tokio::time::Instant::now();
        get(app.clone(), "/distance?location=+").await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "bad input is not remembered"
        );
        set(None);
        assert!(REMEMBERED.lock().unwrap().is_empty(), "let go");
        set(Some(Fault::MemoryLeak));
        assert_eq!(took().await, Duration::from_millis(4), "afresh");
        set(None);
    }
}
