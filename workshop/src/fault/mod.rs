//! `workshop fault`: the troubleshooting game of the last chapter. The services that
//! `workshop up` runs can be told to have one of seven faults (the `faults` crate lists
//! them; `service_kit::faults` makes them happen); the attendee switches one on, keeps
//! `workshop load` running, and names it from the telemetry alone.
//!
//! This file reads the arguments and hands off: [`game`] decides (a pure function of what
//! [`switch`] reads from disk), [`report`] says it, and [`switch`] writes what changed.

mod explain;
mod game;
mod report;
mod switch;

use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::bail;
use clap::builder::TypedValueParser;
use faults::Fault;

use game::play;
use switch::Switch;

pub use switch::default_file;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The switch file the services watch (`workshop up` tells them where)
    /// [default: target/workshop/fault in the workspace].
    #[arg(long, env = faults::SWITCH_VARIABLE, value_name = "FILE", global = true)]
    file: Option<PathBuf>,
    /// The frontend's port, as for `up --port`: `on` checks that the services run there.
    #[arg(long, env = "FRONTEND_PORT", default_value_t = 5000, global = true)]
    port: u16,
}

/// What the attendee asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Action {
    /// The faults, by number, and the names to guess from (which is which stays hidden).
    List,
    /// Switch a fault on: number N, or else one you have not found yet, at random and
    /// unnamed.
    On {
        #[arg(value_name = "N", value_parser = number())]
        fault: Option<Fault>,
    },
    /// Guess which fault is on, by name (`fault list` shows the names).
    Guess {
        #[arg(value_name = "NAME", value_parser = parse_name)]
        fault: Fault,
    },
    /// Say which fault is on, what it does and where it shows.
    Reveal,
    /// Switch the fault off.
    Off,
}

/// A fault by its number, from 1.
fn number() -> impl TypedValueParser<Value = Fault> {
    let numbers = clap::value_parser!(u8).range(1..=Fault::ALL.len() as i64);
    numbers.try_map(|number| Fault::from_number(number).ok_or("no such fault"))
}

fn parse_name(name: &str) -> Result<Fault, String> {
    Fault::from_name(name).ok_or_else(|| {
        let mut names = Fault::ALL.map(Fault::name);
        names.sort_unstable();
        format!(
            "no fault is called {name:?}: the names are {}",
            names.join(", ")
        )
    })
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if matches!(args.action, Action::On { .. }) && !services_answer(args.port).await {
        bail!(
            "the services do not answer on port {}: start them first, in another terminal \
             (`cargo run -p workshop -- up`, or `up --solution`), then switch a fault on",
            args.port
        );
    }
    let switch = Switch::at(args.file.unwrap_or_else(default_file));
    let state = switch.read()?;
    let turn = play(&state, args.action, SystemTime::now(), roll()).map_err(anyhow::Error::msg)?;
    if let Some(fault) = turn.switch {
        switch.set(fault)?;
    }
    if let Some(found) = &turn.found {
        switch.record_found(found)?;
    }
    print!("{}", turn.report);
    Ok(())
}

/// Whether the frontend answers `/healthz` on `port`: the services are running, and will
/// see the switch (if `workshop up` started them).
async fn services_answer(port: u16) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// A random number for a random choice. The standard library's hasher is seeded from the
/// system's randomness in every process: enough to pick one of seven, without a crate.
fn roll() -> u64 {
    RandomState::new().hash_one(SystemTime::now())
}

/// Gets the switch file ready for `workshop up`: every fault off, whatever an earlier run
/// left on. Returns the variable that tells the services where it is.
pub fn prepare_for_up() -> anyhow::Result<(&'static str, String)> {
    let file = std::env::var_os(faults::SWITCH_VARIABLE)
        .filter(|f| !f.is_empty())
        .map_or_else(default_file, PathBuf::from);
    Switch::at(file.clone()).set(None)?;
    Ok((faults::SWITCH_VARIABLE, file.to_string_lossy().into_owned()))
}
