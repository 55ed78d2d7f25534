//! `gazette preview`: serves the web app locally with the preview reloading itself when
//! templates, intro or config change.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Out;
use crate::pipeline::Gazette;
use crate::web::{run_server, AppState, WebOptions};

pub async fn run(g: Gazette, bind: SocketAddr, open: bool, out: Out) -> Result<ExitCode> {
    let state = AppState::new(g, WebOptions::default())?;
    state.watch();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listen on {bind}"))?;
    let url = format!("http://{}/preview", listener.local_addr()?);
    if !out.quiet {
        eprintln!("preview at {url} (Ctrl-C stops)");
    }
    if open {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener).arg(&url).spawn() {
            eprintln!("gazette: could not open a browser with {opener}: {e}");
        }
    }
    run_server(state, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
