//! The rules of the game, as one pure function of what has happened so far: what each
//! subcommand reports, and what it changes.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use faults::Fault;

use super::switch::State;
use super::{Action, report};
use crate::report::Report;

/// The outcome of one action: what to say, and what to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub report: Report,
    /// The switch's new setting, if it changes.
    pub switch: Option<Option<Fault>>,
    /// The faults found, if that changes.
    pub found: Option<BTreeSet<Fault>>,
}

impl Turn {
    fn say(report: Report) -> Turn {
        Turn {
            report,
            switch: None,
            found: None,
        }
    }
}

/// Plays `action` on `state`. `roll` is a random number, for a random choice. An action
/// that makes no sense now is refused, with why and what to do instead.
pub fn play(state: &State, action: Action, now: SystemTime, roll: u64) -> Result<Turn, String> {
    let on_for = |since: SystemTime| now.duration_since(since).unwrap_or(Duration::ZERO);
    let turn = match (action, state.on) {
        (Action::List, on) => Turn::say(report::list(
            on.map(|(_, since)| on_for(since)),
            &state.found,
        )),
        (Action::On { .. }, Some(_)) => {
            return Err(
                "a fault is on already: guess it (`fault guess NAME`), `fault reveal` \
                        it, or switch it off (`fault off`) first"
                    .into(),
            );
        }
        (Action::On { fault: chosen }, None) => {
            let left = unfound(&state.found);
            // Once every fault is found, any of them again.
            let pool = if left.is_empty() {
                &Fault::ALL[..]
            } else {
                &left
            };
            let index = usize::try_from(roll % pool.len() as u64).expect("fits");
            Turn {
                switch: Some(Some(chosen.unwrap_or(pool[index]))),
                ..Turn::say(report::on(chosen, left.len()))
            }
        }
        (Action::Guess { .. } | Action::Reveal, None) => {
            return Err(
                "no fault is on: switch one on first (`cargo run -p workshop -- fault on`)".into(),
            );
        }
        (Action::Guess { fault: guess }, Some((fault, since))) if guess == fault => {
            let mut found = state.found.clone();
            found.insert(fault);
            Turn {
                found: Some(found.clone()),
                ..Turn::say(report::right(fault, on_for(since), found.len()))
            }
        }
        (Action::Guess { fault: guess }, Some(_)) => Turn::say(report::wrong(guess)),
        (Action::Reveal, Some((fault, since))) => Turn::say(report::reveal(fault, on_for(since))),
        (Action::Off, on) => Turn {
            switch: on.map(|_| None),
            ..Turn::say(report::off(on.map(|(fault, _)| fault)))
        },
    };
    Ok(turn)
}

/// The faults not found yet, by number.
fn unfound(found: &BTreeSet<Fault>) -> Vec<Fault> {
    Fault::ALL
        .into_iter()
        .filter(|fault| !found.contains(fault))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn at(seconds_ago: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + NOW - Duration::from_secs(seconds_ago)
    }

    fn play_now(state: &State, action: Action, roll: u64) -> Result<Turn, String> {
        play(state, action, at(0), roll)
    }

    fn on(fault: Option<Fault>) -> Action {
        Action::On { fault }
    }

    fn guess(fault: Fault) -> Action {
        Action::Guess { fault }
    }

    fn with_on(fault: Fault, seconds_ago: u64) -> State {
        State {
            on: Some((fault, at(seconds_ago))),
            found: BTreeSet::new(),
        }
    }

    #[test]
    fn a_random_fault_is_one_not_found_yet_and_any_once_all_are() {
        let mut state = State {
            on: None,
            found: Fault::ALL.into_iter().collect(),
        };
        state.found.remove(&Fault::MemoryLeak);
        for roll in 0..20 {
            let turn = play_now(&state, on(None), roll).unwrap();
            assert_eq!(turn.switch, Some(Some(Fault::MemoryLeak)), "roll {roll}");
            assert_eq!(turn.report, report::on(None, 1));
        }
        state.found.insert(Fault::MemoryLeak);
        let chosen: BTreeSet<Fault> = (0..7)
            .map(|roll| play_now(&state, on(None), roll).unwrap().switch)
            .map(|switch| switch.unwrap().unwrap())
            .collect();
        assert_eq!(chosen.len(), 7, "all found: any of the seven");
    }

    #[test]
    fn a_chosen_fault_goes_on_unless_one_is_on_already() {
        let turn = play_now(&State::default(), on(Some(Fault::SignBug)), 0).unwrap();
        assert_eq!(turn.switch, Some(Some(Fault::SignBug)));
        let refused = play_now(&with_on(Fault::RetryStorm, 5), on(None), 0).unwrap_err();
        assert!(refused.starts_with("a fault is on already"), "{refused}");
    }

    #[test]
    fn a_right_guess_is_recorded_with_the_time_it_took_and_a_wrong_one_changes_nothing() {
        let state = with_on(Fault::SlowLookups, 272);
        let wrong = play_now(&state, guess(Fault::SignBug), 0).unwrap();
        assert_eq!(wrong, Turn::say(report::wrong(Fault::SignBug)));
        let right = play_now(&state, guess(Fault::SlowLookups), 0).unwrap();
        assert_eq!(
            right.report,
            report::right(Fault::SlowLookups, Duration::from_secs(272), 1)
        );
        assert_eq!(right.found, Some([Fault::SlowLookups].into()));
        assert_eq!(right.switch, None, "it stays on until `off`");
    }

    #[test]
    fn guessing_or_revealing_needs_a_fault_on_and_off_always_works() {
        for action in [guess(Fault::SignBug), Action::Reveal] {
            let refused = play_now(&State::default(), action, 0).unwrap_err();
            assert!(refused.starts_with("no fault is on"), "{refused}");
        }
        let off = play_now(&with_on(Fault::LostContext, 1), Action::Off, 0).unwrap();
        assert_eq!(off.switch, Some(None));
        assert_eq!(off.report, report::off(Some(Fault::LostContext)));
        let nothing = play_now(&State::default(), Action::Off, 0).unwrap();
        assert_eq!(nothing.switch, None);
        assert_eq!(nothing.report, report::off(None));
    }
}
