//! One function per command: turn validated arguments into calls on the pipeline and print
//! the result for a person (tables) or a script (`--json`).

mod bounces;
mod build;
mod check;
mod fetch;
mod init;
mod issues;
mod migrate;
mod output;
mod preview;
mod review;
mod schedule;
mod send;
mod serve;
mod status;
mod subscribers;
mod summarize;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::pipeline::{system_clock, Gazette};

/// Output settings shared by the commands.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
    pub quiet: bool,
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let out = Out {
        json: cli.json,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init { dir, opml, force } => init::run(&dir, opml.as_deref(), force, out),
        Command::Check { smtp } => check::run(&cli.config, smtp, out).await,
        Command::Summarize { source, explain } => {
            summarize::run(&source, explain, load_optional(&cli.config)?.as_ref(), out).await
        }
        Command::Bounces(cmd @ crate::cli::BouncesCmd::Process { dry_run: true, .. }) => {
            bounces::classify_only(cmd, load_optional(&cli.config)?.as_ref(), out)
        }
        command => {
            let gazette = Gazette::open(Config::from_file(&cli.config)?, system_clock()?)?;
            match command {
                Command::Fetch => fetch::run(&gazette, out).await,
                Command::Build(args) => build::run(&gazette, args, out).await,
                Command::Send(args) => send::run(&gazette, args, out).await,
                Command::Preview { bind, open } => preview::run(gazette, bind, open, out).await,
                Command::Subscribers(cmd) => subscribers::run(&gazette, cmd, out).await,
                Command::Issues(cmd) => issues::run(&gazette, cmd, out),
                Command::Serve { bind } => serve::run(&gazette, bind).await,
                Command::Status => status::run(&gazette, out),
                Command::Review(cmd) => review::run(&gazette, cmd, out),
                Command::Migrate { to } => migrate::run(&gazette, &to, out),
                Command::Schedule { from, count } => {
                    schedule::run(&gazette, from.as_deref(), count, out)
                }
                Command::Bounces(cmd) => bounces::run(&gazette, cmd, out).await,
                Command::Init { .. } | Command::Check { .. } | Command::Summarize { .. } => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// The config when its file exists (summarize works without one).
fn load_optional(path: &std::path::Path) -> Result<Option<Config>> {
    if path.exists() {
        Ok(Some(Config::from_file(path)?))
    } else {
        Ok(None)
    }
}
