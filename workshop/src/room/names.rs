//! Attendee names: what an instructor may call the people in the room. A name becomes the
//! `workshop.attendee` label of every series, a file name (`join/NAME.toml`) and the start
//! of a token, so it is kept to what all three take: lowercase letters, digits, `-` and `_`.

use std::collections::BTreeSet;

/// The longest name: a label value and a file name, read in a table of the room.
const LONGEST: usize = 32;

/// What the room's collector writes for data whose identity it cannot read: no attendee
/// may be called that (platform/room/collector.yaml).
const RESERVED: &str = "unknown";

/// The names of a comma-separated list (`--attendees alice,bob`), checked.
pub fn from_list(list: &[String]) -> Result<Vec<String>, String> {
    checked(list.iter().map(|name| name.trim().to_owned()).collect())
}

/// The names of an attendees file: one a line; blank lines and `#` comments are skipped.
pub fn from_file_text(text: &str) -> Result<Vec<String>, String> {
    checked(
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect(),
    )
}

/// Every name valid, none twice, at least one.
fn checked(names: Vec<String>) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Err("no attendees: name at least one".into());
    }
    let mut seen = BTreeSet::new();
    for name in &names {
        check(name)?;
        if !seen.insert(name.as_str()) {
            return Err(format!(
                "attendee `{name}` is listed twice: names must be unique"
            ));
        }
    }
    Ok(names)
}

/// Whether `name` can be an attendee's name; the error says why not, and what would do.
pub fn check(name: &str) -> Result<(), String> {
    let why = if name.is_empty() {
        "it is empty".to_owned()
    } else if name.len() > LONGEST {
        format!("it is longer than {LONGEST} characters")
    } else if name == RESERVED {
        format!("`{RESERVED}` is what the room calls data whose sender it cannot tell")
    } else if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        format!("`{c}` is not allowed")
    } else if name.starts_with(['-', '_']) {
        "it must start with a lowercase letter or a digit".to_owned()
    } else {
        return Ok(());
    };
    let suggestion = suggest(name)
        .filter(|s| s != name)
        .map(|s| format!(" (say `{s}`)"))
        .unwrap_or_default();
    Err(format!(
        "attendee name `{name}`: {why}; a name is lowercase letters, digits, `-` and `_`, \
         since it becomes a label, a file name and the start of a token{suggestion}"
    ))
}

fn allowed(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
}

/// `Ada Lovelace` -> `ada-lovelace`: a name that would pass, when one is near.
fn suggest(name: &str) -> Option<String> {
    let lowered: String = name
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            ' ' | '.' => '-',
            c => c,
        })
        .filter(|c| allowed(*c))
        .take(LONGEST)
        .collect();
    let trimmed = lowered.trim_start_matches(['-', '_']).to_owned();
    (!trimmed.is_empty() && trimmed != RESERVED).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn plain_names_pass_in_order() {
        assert_eq!(
            from_list(&list(&["alice", "bob-2", "c_d", "7of9"])).unwrap(),
            list(&["alice", "bob-2", "c_d", "7of9"])
        );
    }

    #[test]
    fn each_bad_name_is_refused_with_its_reason() {
        let refused = |name: &str, reason: &str| {
            let error = check(name).unwrap_err();
            assert!(error.contains(reason), "{name}: {error}");
        };
        refused("Alice", "`A` is not allowed");
        refused("ada lovelace", "` ` is not allowed");
        refused("bob.smith", "`.` is not allowed");
        refused("-bob", "must start with");
        refused("", "empty");
        refused("unknown", "cannot tell");
        refused(&"a".repeat(33), "longer than 32");
        assert!(check(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn a_refusal_suggests_a_name_that_passes() {
        let error = check("Ada Lovelace").unwrap_err();
        assert!(error.contains("(say `ada-lovelace`)"), "{error}");
        assert!(check("ada-lovelace").is_ok());
    }

    #[test]
    fn a_name_twice_or_no_name_is_refused() {
        let error = from_list(&list(&["alice", "bob", "alice"])).unwrap_err();
        assert!(error.contains("`alice` is listed twice"), "{error}");
        assert!(from_list(&[]).unwrap_err().contains("no attendees"));
    }

    #[test]
    fn a_file_has_one_name_a_line_and_may_have_comments_and_blank_lines() {
        let text = "# Tuesday's room\nalice\n\n  bob  \r\ncarol\n";
        assert_eq!(
            from_file_text(text).unwrap(),
            list(&["alice", "bob", "carol"])
        );
        assert!(
            from_file_text("alice\nBob\n")
                .unwrap_err()
                .contains("`Bob`")
        );
        assert!(from_file_text("# nobody yet\n").is_err());
    }
}
