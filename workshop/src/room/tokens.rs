//! Each attendee's secret: `NAME.SECRET`, 128 random bits from the operating system's RNG
//! in hex, and the collector's token file that lists them.
//!
//! How the collector reads that file (contrib `bearertokenauth`, 0.159.0, `filename:`):
//! the first whitespace-separated word of every non-empty line is a valid token, the rest
//! of the line is ignored, and a request passes when its `Authorization` header equals
//! `Bearer <token>` (compared in constant time). So the file holds exactly one token a
//! line, nothing else: a comment line would make its first word (`#`) a valid token.
//! The name before the dot is what the room's collector keeps as `workshop.attendee`.

use std::fmt::Write;

use super::names;

/// 128 bits: as many as a UUID's randomness and more, enough that guessing is hopeless.
const SECRET_BYTES: usize = 16;

/// A fresh token for `name`.
pub fn generate(name: &str) -> Result<String, String> {
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)
        .map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
    Ok(format!("{name}.{}", hex(&secret)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// The token file: one token a line.
pub fn file_text(tokens: &[String]) -> String {
    tokens.iter().map(|token| format!("{token}\n")).collect()
}

/// The attendees of a token file, in order, if every line is one token of the form
/// [`generate`] makes; else which line is not, and why that matters.
pub fn check_file(text: &str) -> Result<Vec<String>, String> {
    let mut attendees = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let refuse = |why: &str| {
            Err(format!(
                "line {}: {why}; every line of the token file is one `name.secret` token and \
                 nothing else (the collector takes the first word of any line as a valid token)",
                number + 1
            ))
        };
        let mut words = line.split_whitespace();
        let token = words.next().unwrap_or_default();
        if words.next().is_some() {
            return refuse("more than one word");
        }
        let Some((name, secret)) = token.split_once('.') else {
            return refuse("no `.` between a name and a secret");
        };
        if let Err(why) = names::check(name) {
            return refuse(&why);
        }
        if secret.len() < 2 * SECRET_BYTES || !secret.chars().all(|c| c.is_ascii_hexdigit()) {
            return refuse(&format!(
                "the secret after `{name}.` is not {} or more hex digits",
                2 * SECRET_BYTES
            ));
        }
        if attendees.contains(&name.to_owned()) {
            return refuse(&format!("`{name}` has a token already"));
        }
        attendees.push(name.to_owned());
    }
    if attendees.is_empty() {
        return Err("no tokens: nobody could send to the room".into());
    }
    Ok(attendees)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_name_a_dot_and_128_random_bits_in_hex() {
        let token = generate("alice").unwrap();
        let (name, secret) = token.split_once('.').unwrap();
        assert_eq!(name, "alice");
        assert_eq!(secret.len(), 32);
        assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(generate("alice").unwrap(), token, "each one is new");
    }

    #[test]
    fn the_file_that_init_writes_passes_the_check() {
        let tokens = [generate("alice").unwrap(), generate("bob").unwrap()];
        assert_eq!(
            check_file(&file_text(&tokens)).unwrap(),
            vec!["alice".to_owned(), "bob".to_owned()]
        );
    }

    #[test]
    fn a_line_the_collector_would_misread_is_refused() {
        let good = generate("alice").unwrap();
        let refused = |text: &str, why: &str| {
            let error = check_file(text).unwrap_err();
            assert!(error.contains(why), "{text:?}: {error}");
        };
        refused(&format!("# the room\n{good}\n"), "line 1");
        refused(&format!("{good} alice\n"), "more than one word");
        refused("alice\n", "no `.`");
        refused("alice.1234\n", "32 or more hex digits");
        refused(&format!("{good}\n{good}\n"), "`alice` has a token already");
        refused("\n\n", "no tokens");
    }
}
