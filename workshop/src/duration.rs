//! Durations on the command line, read and written by humantime: `10s`, `500ms`, `2m`,
//! `1.5s`, `1h 30m`; a bare number is seconds, as the commands accepted before. One parser
//! for every command, each of which then says what range it accepts.

use std::time::Duration;

/// Parses a duration; its range is the caller's business (see [`within`]).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|why| format!("{text:?} is not a duration ({why}): use e.g. 10s, 500ms or 2m"))
}

/// `duration` if it is within `min..=max` (with `min` zero meaning "more than zero" when
/// `allow_zero` is false); otherwise says what the range is.
pub fn within(
    duration: Duration,
    allow_zero: bool,
    max: Duration,
    what: &str,
) -> Result<Duration, String> {
    if duration.is_zero() && !allow_zero {
        return Err(format!("{what} must be more than 0"));
    }
    if duration > max {
        return Err(format!("{what} must be at most {}", human(max)));
    }
    Ok(duration)
}

/// A duration as people type it: `500ms`, `4s`, `1m 30s`, `30days`. Span latencies, which
/// need a fixed precision rather than exactness, have their own form in `inspect`.
pub fn human(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 3 "), Ok(Duration::from_secs(3)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn garbage_is_an_error_that_says_why() {
        assert!(
            parse("fast")
                .unwrap_err()
                .contains("\"fast\" is not a duration")
        );
        assert!(
            parse("5 parsecs")
                .unwrap_err()
                .contains("unknown time unit")
        );
        assert!(parse("-1s").is_err());
        assert!(parse("inf").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn durations_read_as_people_type_them() {
        let cases = [
            (Duration::from_millis(500), "500ms"),
            (Duration::from_secs(4), "4s"),
            (Duration::from_secs(90), "1m 30s"),
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(30 * 86_400), "30days"),
        ];
        for (duration, text) in cases {
            assert_eq!(human(duration), text);
            assert_eq!(parse(text), Ok(duration), "{text} reads back");
        }
    }

    #[test]
    fn ranges() {
        let hour = Duration::from_secs(3600);
        assert!(
            within(Duration::ZERO, false, hour, "--duration")
                .unwrap_err()
                .contains("more than 0")
        );
        assert_eq!(
            within(Duration::ZERO, true, hour, "--warmup"),
            Ok(Duration::ZERO)
        );
        assert_eq!(
            within(Duration::from_secs(7200), true, hour, "--warmup"),
            Err("--warmup must be at most 1h".into())
        );
    }
}
