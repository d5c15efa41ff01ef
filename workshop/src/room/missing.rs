//! `workshop room` in a build without the `room` feature: whatever follows `room`, it says
//! how to get the instructor's command (lib.rs uses this file instead of `mod.rs`).

#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

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
