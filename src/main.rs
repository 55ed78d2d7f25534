//! The `gazette` binary: parse the command line, set up logging, run, map the outcome to an
//! exit code (0 done, 1 the job failed, 2 bad usage or config).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = gazette::cli::Cli::parse();
    init_tracing(cli.verbose, cli.quiet);
    // One thread: the work is I/O-bound (SMTP, HTTP, fetches), and on one thread the send loop's
    // connections and ledger hand over without cross-thread wake-ups (BENCHMARKS.md, issue 5).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gazette: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(gazette::commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<gazette::config::ConfigError>() {
                eprint!("gazette: {c}");
                return ExitCode::from(2);
            }
            if e.downcast_ref::<gazette::cli::UsageError>().is_some() {
                eprintln!("gazette: {e:#}");
                return ExitCode::from(2);
            }
            eprintln!("gazette: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("gazette={default},warn")));
    use std::io::IsTerminal as _;
    // Colours only on a terminal: logs piped to a file or journald stay plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();
}

/// Rust ignores SIGPIPE, so `gazette … | head` would panic on the closed pipe; like other Unix
/// tools, end quietly instead.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
