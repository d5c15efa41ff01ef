//! geolocator's faults, in its handler: slow-lookups (a name with letters beyond ASCII takes
//! 1.2 s longer to find) and sign-bug (a range check on the answer's latitude that forgot
//! the sign, so every place south of the equator fails).

use std::time::Duration;

use super::{Fault, is_on};

/// How much longer slow-lookups makes a lookup: well above the 500 ms at which geolocator
/// warns about a slow one, and well below every caller's timeout.
pub const SLOW_LOOKUP: Duration = Duration::from_millis(1200);

/// Waits as long as slow-lookups makes looking up `name` take longer: 1.2 s for a name
/// with letters beyond ASCII (Zürich, São Paulo), nothing for others or when it is off.
pub async fn slow_lookup(name: &str) {
    if is_on(Fault::SlowLookups) && !name.is_ascii() {
        tokio::time::sleep(SLOW_LOOKUP).await;
    }
}

/// The range check of sign-bug: with it on, a latitude below 0 is "out of range".
pub fn check_latitude(latitude: f64) -> Result<(), String> {
    if is_on(Fault::SignBug) && latitude < 0.0 {
        return Err(format!(
            "latitude {latitude} is out of range: expected 0 to 90"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{TEST_TURNS, set};
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn only_names_beyond_ascii_are_slow_and_only_while_it_is_on() {
        let _turn = TEST_TURNS.lock().await;
        let took = |name: &'static str| async move {
            let started = tokio::time::Instant::now();
            slow_lookup(name).await;
            started.elapsed()
        };
        assert_eq!(took("Zürich").await, Duration::ZERO, "off");
        set(Some(Fault::SlowLookups));
        assert_eq!(took("Zürich").await, SLOW_LOOKUP);
        assert_eq!(took("zurich").await, Duration::ZERO);
        set(None);
        assert_eq!(took("São Paulo").await, Duration::ZERO, "off again");
    }

    #[tokio::test]
    async fn only_southern_latitudes_fail_and_only_while_it_is_on() {
        let _turn = TEST_TURNS.lock().await;
        assert_eq!(check_latitude(-33.9), Ok(()), "off");
        set(Some(Fault::SignBug));
        assert_eq!(
            check_latitude(-33.86785),
            Err("latitude -33.86785 is out of range: expected 0 to 90".into())
        );
        assert_eq!(check_latitude(0.0), Ok(()));
        assert_eq!(check_latitude(52.5), Ok(()));
        set(None);
        assert_eq!(check_latitude(-33.9), Ok(()), "off again");
    }
}
