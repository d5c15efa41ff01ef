//! `Retry-After` (RFC 9110, section 10.2.3): how long a server asks us to wait before the
//! next request, given with a 429 (too many requests) or a 503 (unavailable).
//!
//! Its value is either a number of seconds (`120`) or an HTTP date
//! (`Wed, 21 Oct 2015 07:28:00 GMT`). The date is read with the `httpdate` crate, which
//! also accepts the two obsolete formats a recipient must still accept; the seconds are a
//! plain integer.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use axum::http::header::RETRY_AFTER;

/// The wait a response's `Retry-After` header asks for, counted from `now`; `None` when
/// there is no such header or it cannot be read. A date in the past asks for no wait.
pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse(value, now)
}

/// The wait `value` asks for, counted from `now`.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is not a wait anyone means: unreadable.
        return value.parse().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    /// Wed, 21 Oct 2015 07:28:00 GMT
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn seconds() {
        assert_eq!(parse("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now()), Some(Duration::ZERO));
    }

    #[test]
    fn dates_in_all_three_formats_count_from_now() {
        let in_a_minute = Some(Duration::from_secs(60));
        assert_eq!(parse("Wed, 21 Oct 2015 07:29:00 GMT", now()), in_a_minute);
        assert_eq!(
            parse("Wednesday, 21-Oct-15 07:29:00 GMT", now()),
            in_a_minute
        );
        assert_eq!(parse("Wed Oct 21 07:29:00 2015", now()), in_a_minute);
    }

    #[test]
    fn a_date_in_the_past_asks_for_no_wait() {
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn anything_else_is_unreadable() {
        for value in [
            "",
            "-1",
            "1.5",
            "soon",
            "120 s",
            "99999999999999999999999",
            "21 Oct 2015",
        ] {
            assert_eq!(parse(value, now()), None, "{value:?}");
        }
    }

    #[test]
    fn read_from_the_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers, now()), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(from_headers(&headers, now()), Some(Duration::from_secs(7)));
    }
}
