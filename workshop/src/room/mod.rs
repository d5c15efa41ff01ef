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
//! -- room …`), so that the attendees' builds never compile its certificate crates;
//! without it, `missing.rs` stands in (lib.rs picks one).
//! Each command file reads its arguments and hands off to modules with one job each:
//! [`names`], [`hosts`], [`tokens`], [`tls`], [`join`], [`settings`] and [`dir`] (where
//! each file goes).

pub mod board;
mod dir;
mod hosts;
mod init;
mod join;
mod names;
mod platform;
mod serve;
mod settings;
mod status;
mod tls;
mod tokens;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

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

pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Init(args) => init::run(args),
        Command::Serve(args) => serve::run(args).await,
        Command::Status(args) => status::run(args).await,
    }
}
