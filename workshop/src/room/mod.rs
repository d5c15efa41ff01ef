//! `workshop room`: one platform for the whole room. The instructor runs it on their
//! machine; every attendee's services send to it over TLS, each with a token of their own,
//! and the room's collector labels everything it receives with the name that token
//! belongs to (`workshop.attendee`), whatever the sender claims.
//!
//! - `init DIR`: the tokens, the attendees' join files and the room's certificates
//!   ([`init`]);
//! - `serve DIR`: the room's collector and Prometheus, natively ([`serve`], which
//!   [`platform`] runs);
//! - `status [DIR]`: the room board, who is where ([`status`], asking [`board`]'s queries).
//!
//! The code is behind the crate's `room` feature (`cargo run -p workshop --features room
//! -- room …`), so that the attendees' builds never compile its certificate crates.
//! Each command file reads its arguments and hands off to modules with one job each:
//! [`names`], [`hosts`], [`tokens`], [`tls`], [`join`], [`settings`] and [`dir`] (where
//! each file goes).

#[cfg(feature = "room")]
pub mod board;
#[cfg(feature = "room")]
mod dir;
#[cfg(feature = "room")]
mod hosts;
#[cfg(feature = "room")]
mod init;
#[cfg(feature = "room")]
mod join;
#[cfg(feature = "room")]
mod names;
#[cfg(feature = "room")]
mod platform;
#[cfg(feature = "room")]
mod serve;
#[cfg(feature = "room")]
mod settings;
#[cfg(feature = "room")]
mod status;
#[cfg(feature = "room")]
mod tls;
#[cfg(feature = "room")]
mod tokens;

#[cfg(feature = "room")]
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[cfg(feature = "room")]
#[derive(clap::Subcommand)]
enum Command {
    /// Make a room: a token and a join file per attendee, a private CA and a certificate
    /// for this machine's addresses.
    Init(init::Args),
    /// Run the room on this machine without Docker: the collector (on the venue's
    /// network) and Prometheus (here), until Ctrl-C.
    Serve(serve::Args),
    /// The room board: who is where. One row per attendee, a column per section whose
    /// telemetry arrives, request and error rates, last seen (from Prometheus).
    Status(status::Args),
}

#[cfg(feature = "room")]
pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Init(args) => init::run(args),
        Command::Serve(args) => serve::run(args).await,
        Command::Status(args) => status::run(args).await,
    }
}

/// Without the feature: whatever follows `room`, say how to get it.
#[cfg(not(feature = "room"))]
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

#[cfg(not(feature = "room"))]
pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "`workshop room` is the instructor's command, built only on request so that the \
         attendees' builds never compile its certificate code: run it as\n  cargo run -p \
         workshop --features room -- room {}",
        if args.rest.is_empty() {
            "--help".to_owned()
        } else {
            args.rest.join(" ")
        }
    )
}
