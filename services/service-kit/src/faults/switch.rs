//! Watching the switch file: which fault is on, read four times a second.
//!
//! Polling a tiny file costs one read every 250 ms. A file watcher (the `notify` crate)
//! would answer faster, but differs on every system and misses changes on some file
//! systems (network drives, Docker bind mounts on macOS); a quarter of a second is quick
//! enough for a person who switches a fault on and then goes to look for it.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use ::faults::{Fault, SWITCH_VARIABLE, parse_switch};

/// How often the file is read.
pub const POLL: Duration = Duration::from_millis(250);

/// The name of the service this process is, once it watches the switch.
static SERVICE: OnceLock<String> = OnceLock::new();

/// The service this process is, if it watches the switch: the hooks that belong to one
/// service ask, since the code they sit in (service-kit) is shared by all four.
pub fn service() -> Option<&'static str> {
    SERVICE.get().map(String::as_str)
}

/// Starts watching the file named by `WORKSHOP_FAULT_FILE`, for the service called
/// `service`, if the variable is set (otherwise faults stay off). Call it once, inside the
/// runtime; the watch lasts as long as the runtime.
pub fn watch_from_env(service: &str) {
    let Some(path) = crate::config::var(SWITCH_VARIABLE) else {
        return;
    };
    if SERVICE.set(service.to_owned()).is_err() {
        return;
    }
    tokio::spawn(watch(PathBuf::from(path)));
}

async fn watch(path: PathBuf) {
    let mut said: Option<String> = None;
    loop {
        match read(path.clone()).await {
            Ok(fault) => {
                super::set(fault);
                said = None;
            }
            Err(problem) => {
                // A switch that makes no sense turns every fault off, and says so once.
                super::set(None);
                if said.as_ref() != Some(&problem) {
                    tracing::warn!("{}: {problem}; no fault is on", path.display());
                    said = Some(problem);
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What the switch file says; a missing file says "off".
async fn read(path: PathBuf) -> Result<Option<Fault>, String> {
    let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
        .await
        .map_err(|e| e.to_string())?;
    match text {
        Ok(text) => parse_switch(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_says_which_fault_is_on_and_a_missing_one_says_none() {
        let dir = std::env::temp_dir().join(format!("fault-switch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fault");
        assert_eq!(read(path.clone()).await, Ok(None));
        std::fs::write(&path, "3\n").unwrap();
        assert_eq!(read(path.clone()).await, Ok(Some(Fault::ConnectionLeak)));
        std::fs::write(&path, "off").unwrap();
        assert_eq!(read(path.clone()).await, Ok(None));
        std::fs::write(&path, "twelve").unwrap();
        assert!(read(path.clone()).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
