//! Durations on the command line: `20s`, `1.5s`, `500ms`, `2m`, `1h`, or a bare number of
//! seconds. One parser for every command, each of which then says what range it accepts.

use std::time::Duration;

/// Parses a duration; its range is the caller's business (see [`within`]).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let not_a_duration = || format!("{text:?} is not a duration: use e.g. 20s, 500ms or 2m");
    if number.trim().is_empty() {
        return Err(not_a_duration());
    }
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m or h, e.g. 20s"
            ));
        }
    };
    let number: f64 = number.trim().parse().map_err(|_| not_a_duration())?;
    let seconds = number * seconds_per_unit;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(not_a_duration());
    }
    Ok(Duration::from_secs_f64(seconds))
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

/// A duration as people say it: `500 ms`, `4 s`, `12.5 s`, `1.5 min`, `1 h`, `30 days`.
/// The one formatter of durations that people set or wait for (the commands' limits, how
/// long `load` runs); span latencies have their own, finer one in `inspect`.
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    let trimmed = |value: f64, decimals: usize| {
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            text
        }
    };
    match seconds {
        s if s >= 86_400.0 => format!("{} days", trimmed(s / 86_400.0, 1)),
        s if s >= 3600.0 => format!("{} h", trimmed(s / 3600.0, 1)),
        s if s >= 60.0 => format!("{} min", trimmed(s / 60.0, 1)),
        s if s >= 1.0 => format!("{} s", trimmed(s, 3)),
        s => format!("{} ms", trimmed(s * 1000.0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse(" 3 "), Ok(Duration::from_secs(3)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn garbage_is_an_error_that_says_why() {
        assert!(parse("fast").unwrap_err().contains("not a duration"));
        assert!(parse("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse("-1s").is_err());
        assert!(parse("inf").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let cases = [
            (Duration::from_millis(500), "500 ms"),
            (Duration::from_secs(4), "4 s"),
            (Duration::from_millis(12_500), "12.5 s"),
            (Duration::from_secs(90), "1.5 min"),
            (Duration::from_secs(3600), "1 h"),
            (Duration::from_secs(30 * 86_400), "30 days"),
        ];
        for (duration, text) in cases {
            assert_eq!(human(duration), text);
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
            Err("--warmup must be at most 1 h".into())
        );
    }
}
