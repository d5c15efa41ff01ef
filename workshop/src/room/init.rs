//! `workshop room init DIR`: makes a room — a token per attendee, the collector's token
//! file, each attendee's join file, a private CA and the collector's server certificate
//! for the instructor's addresses. Everything is made first and written last, so that a
//! bad name or address leaves nothing behind.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use time::OffsetDateTime;

use super::dir::{RoomDir, write_public, write_secret};
use super::hosts::Host;
use super::join::JoinFile;
use super::settings::{GRPC_PORT, HTTP_PORT, Settings};
use super::{names, tls, tokens};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["attendees", "attendees_file"])))]
pub struct Args {
    /// The room's directory (created; it holds secrets: keep it on your machine).
    dir: PathBuf,
    /// The attendees' names, comma-separated: lowercase letters, digits, `-` and `_`.
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    attendees: Vec<String>,
    /// A file with one attendee's name a line (blank lines and `#` comments are skipped).
    #[arg(long, value_name = "FILE")]
    attendees_file: Option<PathBuf>,
    /// This machine's address on the venue's network, an IP address or a DNS name, as the
    /// attendees will reach it; repeat it for each (Wi-Fi and cable, say).
    #[arg(long = "host", value_name = "HOST", required = true, value_parser = Host::parse)]
    hosts: Vec<Host>,
    /// The OTLP/gRPC port the join files name.
    #[arg(long, default_value_t = GRPC_PORT)]
    grpc_port: u16,
    /// The OTLP/HTTP port the join files name.
    #[arg(long, default_value_t = HTTP_PORT)]
    http_port: u16,
    /// Replace the room already in DIR: new tokens and a new CA (its join files stop working).
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let attendees = match &args.attendees_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            names::from_file_text(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?
        }
        None => names::from_list(&args.attendees).map_err(|e| anyhow!(e))?,
    };
    let room = RoomDir::at(&args.dir);
    let label = args
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "room".into());

    let tokens: Vec<String> = attendees
        .iter()
        .map(|name| tokens::generate(name))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!(e))?;
    let tls = tls::issue(&label, &args.hosts, OffsetDateTime::now_utc()).map_err(|e| anyhow!(e))?;
    let ports = (args.grpc_port, args.http_port);
    let joins: Vec<(String, String)> = attendees
        .iter()
        .zip(&tokens)
        .map(|(name, token)| {
            JoinFile::new(name, token, &args.hosts, ports, &tls.ca_pem)
                .render()
                .map(|text| (name.clone(), text))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!(e))?;
    let settings = Settings {
        attendees: attendees.clone(),
        hosts: args.hosts.iter().map(Host::to_string).collect(),
        grpc_port: args.grpc_port,
        http_port: args.http_port,
    }
    .render()
    .map_err(|e| anyhow!(e))?;

    room.make_way(args.force).map_err(|e| anyhow!(e))?;
    write_public(&room.settings(), &settings).map_err(|e| anyhow!(e))?;
    write_secret(&room.tokens(), &tokens::file_text(&tokens)).map_err(|e| anyhow!(e))?;
    for (name, text) in &joins {
        write_secret(&room.join(name), text).map_err(|e| anyhow!(e))?;
    }
    write_public(&room.ca_cert(), &tls.ca_pem).map_err(|e| anyhow!(e))?;
    write_public(&room.server_cert(), &tls.server_pem).map_err(|e| anyhow!(e))?;
    write_secret(&room.server_key(), &tls.server_key_pem).map_err(|e| anyhow!(e))?;

    println!("{}", summary(&room, &attendees, &args.hosts, ports));
    Ok(())
}

/// What was made, and what to do next.
fn summary(room: &RoomDir, attendees: &[String], hosts: &[Host], ports: (u16, u16)) -> String {
    let dir = room.root().display();
    let hosts: Vec<String> = hosts.iter().map(Host::to_string).collect();
    format!(
        "room made in {dir} for {count} ({names}), reachable at {hosts} \
         (OTLP/gRPC :{grpc}, OTLP/HTTP :{http}, TLS):\n\
         \x20 {dir}/join/NAME.toml  what each attendee gets, and all they need: give each \
         person their own file, privately (it holds their token)\n\
         \x20 {dir}/tokens          the collector's token file (secret)\n\
         \x20 {dir}/tls/            the room's CA certificate, the collector's certificate \
         and key (the key is secret; the CA's own key was never kept)\n\
         \x20 {dir}/room.toml       the room's settings\n\
         Start it: cargo run -p workshop --features room -- room serve {dir}",
        count = match attendees.len() {
            1 => "1 attendee".to_owned(),
            n => format!("{n} attendees"),
        },
        names = attendees.join(", "),
        hosts = hosts.join(", "),
        grpc = ports.0,
        http = ports.1,
    )
}
