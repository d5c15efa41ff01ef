//! `workshop room status [DIR]`: the room board in the terminal. Asks Prometheus the
//! board's queries ([`board`]), then judges and renders apart: one row per attendee (every
//! name of DIR's room, in `room.toml` and in the token file, so that who sent nothing
//! still has a row, and anyone else Prometheus knows), a column per section, request rate, error rate, last seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde::Serialize;

use super::board::{self, Column, Kind};
use super::dir::RoomDir;
use super::settings::Settings;
use super::tokens;

/// How long one query may take.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
pub struct Args {
    /// The room's directory (`room init`): its attendees get a row even before they send
    /// anything.
    dir: Option<PathBuf>,
    /// Prometheus, as `room serve` (or the room's compose) runs it.
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    prometheus: String,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One query's answer: each attendee's value.
pub type Answer = BTreeMap<String, f64>;

/// The board: a row per attendee, a cell per column.
#[derive(Debug, Serialize, PartialEq)]
pub struct Report {
    pub attendees: Vec<Row>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Row {
    pub attendee: String,
    /// Per column key: for a section, whether it shows (`true`/`false`); else the value,
    /// `null` when there is none.
    #[serde(flatten)]
    pub cells: BTreeMap<&'static str, Cell>,
}

#[derive(Debug, Serialize, PartialEq, Clone, Copy)]
#[serde(untagged)]
pub enum Cell {
    Seen(bool),
    Value(Option<f64>),
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let names = match &args.dir {
        Some(dir) => room_names(&RoomDir::at(dir))?,
        None => Vec::new(),
    };
    let columns = board::columns();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .context("cannot make an HTTP client")?;
    let mut answers = Vec::new();
    for column in &columns {
        let query = board::for_every_attendee(&column.promql);
        answers.push(ask(&client, &args.prometheus, &query).await?);
    }
    let report = judge(&names, &columns, &answers);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&columns, &report));
    }
    Ok(())
}

/// The room's attendees: those `room init` made, then any added to the token file since
/// (a latecomer's line lets them in without a restart).
fn room_names(room: &RoomDir) -> anyhow::Result<Vec<String>> {
    let read = |path: std::path::PathBuf| {
        std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a room made by `room init`?)",
                path.display(),
                room.root().display()
            )
        })
    };
    let settings = room.settings();
    let mut names = Settings::parse(&read(settings.clone())?, &settings.display().to_string())
        .map_err(|e| anyhow!(e))?
        .attendees;
    let tokens = room.tokens();
    let in_tokens = tokens::check_file(&read(tokens.clone())?)
        .map_err(|e| anyhow!("{}: {e}", tokens.display()))?;
    for name in in_tokens {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// One instant query: each attendee's value.
async fn ask(client: &reqwest::Client, prometheus: &str, query: &str) -> anyhow::Result<Answer> {
    let url = format!("{}/api/v1/query", prometheus.trim_end_matches('/'));
    let response = client
        .get(&url)
        .query(&[("query", query)])
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot reach Prometheus at {prometheus} ({e}); is the room running (`room serve`)?"
            )
        })?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| anyhow!("{url} answered {status} but not Prometheus' JSON: {e}"))?;
    parse_answer(&body).map_err(|e| anyhow!("{url}: {e}\nthe query: {query}"))
}

/// Prometheus' answer to an instant query, `{"status":"success","data":{"result":[…]}}`:
/// each series' `workshop_attendee` and value.
pub fn parse_answer(body: &serde_json::Value) -> Result<Answer, String> {
    if body["status"] != "success" {
        return Err(format!(
            "Prometheus refused the query: {}",
            body["error"].as_str().unwrap_or("no reason given")
        ));
    }
    let Some(result) = body["data"]["result"].as_array() else {
        return Err(format!("no result in {body}"));
    };
    let mut answer = Answer::new();
    for series in result {
        let Some(name) = series["metric"]["workshop_attendee"].as_str() else {
            continue; // series from outside a room carry no attendee
        };
        let value = series["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("a series without a value: {series}"))?;
        answer.insert(name.to_owned(), value);
    }
    Ok(answer)
}

/// The report: the room's names in their order, then anyone else who sent something.
pub fn judge(names: &[String], columns: &[Column], answers: &[Answer]) -> Report {
    let mut everyone: Vec<String> = names.to_vec();
    let known: BTreeSet<&String> = names.iter().collect();
    let others: BTreeSet<&String> = answers
        .iter()
        .flat_map(|a| a.keys())
        .filter(|n| !known.contains(n))
        .collect();
    everyone.extend(others.into_iter().cloned());
    let attendees = everyone
        .into_iter()
        .map(|attendee| {
            let cells = columns
                .iter()
                .zip(answers)
                .map(|(column, answer)| {
                    let value = answer.get(&attendee).copied().filter(|v| v.is_finite());
                    let cell = match column.kind {
                        Kind::Seen => Cell::Seen(value.is_some()),
                        _ => Cell::Value(value),
                    };
                    (column.key, cell)
                })
                .collect();
            Row { attendee, cells }
        })
        .collect();
    Report { attendees }
}

/// The table (through comfy-table, as the workshop's other reports): ✓ where a section
/// shows, · where it does not.
pub fn render(columns: &[Column], report: &Report) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(std::iter::once("attendee").chain(columns.iter().map(|c| c.title)));
    for row in &report.attendees {
        let cells = columns.iter().map(|c| match row.cells.get(c.key) {
            Some(Cell::Seen(true)) => "✓".to_owned(),
            Some(Cell::Value(Some(v))) => value(c.kind, *v),
            Some(Cell::Seen(false) | Cell::Value(None)) | None => "·".to_owned(),
        });
        table.add_row(std::iter::once(row.attendee.clone()).chain(cells));
    }
    // Flush left, as the terminal's other lines are.
    if let Some(names) = table.column_mut(0) {
        names.set_padding((0, 1));
    }
    let mut out = format!("{table}\n");
    if report.attendees.is_empty() {
        out.push_str("(nobody has sent anything yet)\n");
    }
    out.push_str(
        "\nSection 2 (logs) is in Loki, which this board cannot ask: in Grafana, Explore, \
         {workshop_attendee=\"NAME\"}.\n",
    );
    out
}

fn value(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Rate => format!("{v:.1}"),
        Kind::Ratio => format!("{:.0} %", v * 100.0),
        Kind::Ago => format!("{:.0} s ago", v.max(0.0)),
        Kind::Seen => "✓".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(pairs: &[(&str, f64)]) -> Answer {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    }

    /// A room of three: alice at section 5 and busy, bob at section 1, carol silent, and
    /// dave, not in the room's list, who sent something anyway.
    fn example() -> (Vec<Column>, Report) {
        let columns = board::columns();
        let answers: Vec<Answer> = columns
            .iter()
            .map(|c| match c.key {
                "section_0" | "section_1" => answer(&[("alice", 4.0), ("bob", 1.0), ("dave", 1.0)]),
                "section_3" | "section_5" => answer(&[("alice", 4.0)]),
                "section_4" => answer(&[("alice", 3.0)]),
                "requests_per_second" => answer(&[("alice", 5.04)]),
                "error_ratio" => answer(&[("alice", 0.25)]),
                "last_seen_seconds_ago" => answer(&[("alice", 3.2), ("bob", 61.0), ("dave", 9.0)]),
                other => panic!("a column the example does not know: {other}"),
            })
            .collect();
        let names = vec!["alice".into(), "bob".into(), "carol".into()];
        let report = judge(&names, &columns, &answers);
        (columns, report)
    }

    #[test]
    fn every_attendee_of_the_room_has_a_row_and_strangers_come_after() {
        let (_, report) = example();
        let names: Vec<&str> = report
            .attendees
            .iter()
            .map(|r| r.attendee.as_str())
            .collect();
        assert_eq!(names, ["alice", "bob", "carol", "dave"]);
        let carol = &report.attendees[2];
        assert!(
            carol
                .cells
                .values()
                .all(|c| matches!(c, Cell::Seen(false) | Cell::Value(None))),
            "{carol:?}"
        );
    }

    #[test]
    fn the_table_ticks_each_section_seen() {
        let (columns, report) = example();
        let text = render(&columns, &report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0]
                .trim_start()
                .starts_with("attendee  0 resource  1 metrics  3 spans"),
            "{text}"
        );
        let cells = |name: &str| -> Vec<String> {
            let line = lines
                .iter()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap();
            line.split_whitespace().map(str::to_owned).collect()
        };
        assert_eq!(
            cells("alice")[..9],
            ["alice", "✓", "✓", "✓", "✓", "✓", "5.0", "25", "%"]
        );
        assert_eq!(cells("bob")[..6], ["bob", "✓", "✓", "·", "·", "·"]);
        assert_eq!(
            cells("carol"),
            ["carol", "·", "·", "·", "·", "·", "·", "·", "·"]
        );
        assert!(text.contains("61 s ago"), "{text}");
        assert!(text.contains("Loki"), "{text}");
    }

    #[test]
    fn the_json_has_one_object_per_attendee() {
        let (_, report) = example();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["attendees"][1]["attendee"], "bob");
        assert_eq!(json["attendees"][1]["section_1"], true);
        assert_eq!(json["attendees"][1]["section_3"], false);
        assert_eq!(
            json["attendees"][1]["requests_per_second"],
            serde_json::Value::Null
        );
        assert_eq!(json["attendees"][0]["error_ratio"], 0.25);
    }

    #[test]
    fn prometheus_answers_are_read_by_attendee_and_refusals_said() {
        let body = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"workshop_attendee": "alice"}, "value": [1.0, "4"]},
            {"metric": {}, "value": [1.0, "2"]},
        ]}});
        assert_eq!(parse_answer(&body).unwrap(), answer(&[("alice", 4.0)]));
        let refused = json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert!(parse_answer(&refused).unwrap_err().contains("parse error"));
        let garbled = json!({"status": "success", "data": {"result": [
            {"metric": {"workshop_attendee": "bob"}, "value": [1.0]}]}});
        assert!(
            parse_answer(&garbled)
                .unwrap_err()
                .contains("without a value")
        );
    }

    #[tokio::test]
    async fn an_unreachable_prometheus_is_said_in_one_line() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap();
        let error = ask(&client, &format!("http://127.0.0.1:{port}"), "up")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot reach Prometheus at http://127.0.0.1:"),
            "{error}"
        );
        assert!(error.contains("room serve"), "{error}");
    }
}
