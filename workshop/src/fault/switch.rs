//! The game's state on disk: the switch file the services watch (which fault is on, by
//! number; see the `faults` crate), and beside it the faults found so far.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use faults::{Fault, parse_switch, switch_text};

use crate::build::workspace_root;

/// Where the switch is, unless `WORKSHOP_FAULT_FILE` says: under the workspace's
/// `target/`, which git ignores.
pub fn default_file() -> PathBuf {
    workspace_root().join("target/workshop/fault")
}

/// What the attendee has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The fault that is on, and since when (the switch file's last change).
    pub on: Option<(Fault, SystemTime)>,
    /// The faults guessed right, ever.
    pub found: BTreeSet<Fault>,
}

/// The switch file and the record of faults found, beside it.
#[derive(Clone, Debug)]
pub struct Switch {
    file: PathBuf,
}

impl Switch {
    pub fn at(file: PathBuf) -> Switch {
        Switch { file }
    }

    #[cfg(test)]
    pub fn file(&self) -> &Path {
        &self.file
    }

    fn found_file(&self) -> PathBuf {
        let mut name = self.file.as_os_str().to_owned();
        name.push(".found");
        PathBuf::from(name)
    }

    pub fn read(&self) -> anyhow::Result<State> {
        let on = match read(&self.file)? {
            Some(text) => {
                let fault = parse_switch(&text)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("{}", self.file.display()))?;
                let since = std::fs::metadata(&self.file)?.modified()?;
                fault.map(|fault| (fault, since))
            }
            None => None,
        };
        let found = read(&self.found_file())?.unwrap_or_default();
        let found = found.split_whitespace().filter_map(|n| n.parse().ok());
        Ok(State {
            on,
            found: found.filter_map(Fault::from_number).collect(),
        })
    }

    /// Switches `fault` on, or every fault off.
    pub fn set(&self, fault: Option<Fault>) -> anyhow::Result<()> {
        write(&self.file, &switch_text(fault))
    }

    /// Records that `fault` was found.
    pub fn record_found(&self, found: &BTreeSet<Fault>) -> anyhow::Result<()> {
        let text: Vec<String> = found.iter().map(|f| f.number().to_string()).collect();
        write(&self.found_file(), &(text.join(" ") + "\n"))
    }
}

/// The text of `file`, or none when there is no such file.
fn read(file: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

/// Writes `text` to `file` whole: into a file beside it first, then renamed over it, so
/// that a service never reads half of it.
fn write(file: &Path, text: &str) -> anyhow::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, file).with_context(|| format!("cannot write {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_read_back() {
        let dir = std::env::temp_dir().join(format!("fault-state-{}", std::process::id()));
        let switch = Switch::at(dir.join("sub/fault"));
        assert_eq!(switch.read().unwrap(), State::default(), "nothing yet");
        switch.set(Some(Fault::SignBug)).unwrap();
        switch
            .record_found(&[Fault::RetryStorm, Fault::LostContext].into())
            .unwrap();
        let state = switch.read().unwrap();
        assert_eq!(state.on.map(|(f, _)| f), Some(Fault::SignBug));
        assert_eq!(state.found, [Fault::LostContext, Fault::RetryStorm].into());
        switch.set(None).unwrap();
        assert_eq!(switch.read().unwrap().on, None);
        std::fs::write(switch.file(), "banana").unwrap();
        let error = switch.read().unwrap_err();
        assert!(
            format!("{error:#}").contains("found \"banana\""),
            "{error:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
