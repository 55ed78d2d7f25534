//! The command line, as DESIGN.md fixes it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A mistake in how gazette was called (a digest that is not configured, a bad
/// `GAZETTE_NOW`): exit code 2, as for bad usage.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[derive(Debug, Parser)]
#[command(
    name = "gazette",
    version,
    about = "Turns news feeds into a newsletter people want to read"
)]
pub struct Cli {
    /// Config file.
    #[arg(
        long,
        global = true,
        env = "GAZETTE_CONFIG",
        default_value = "config/gazette.toml"
    )]
    pub config: PathBuf,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Machine-readable output (where a command prints results).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter config/gazette.toml and the default templates.
    Init {
        /// Folder to write into.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Take the feeds from a feed reader's OPML export.
        #[arg(long)]
        opml: Option<PathBuf>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Validate the config and templates.
    Check {
        /// Also open an SMTP session.
        #[arg(long)]
        smtp: bool,
    },
    /// Fetch every feed now.
    Fetch,
    /// Print the lead paragraph of an article page or feed item HTML.
    Summarize {
        /// A file or an http(s) URL.
        source: String,
        /// List every candidate paragraph with its score and why it was refused or kept.
        #[arg(long)]
        explain: bool,
    },
    /// Render the next issue of a digest without sending it.
    Build(BuildArgs),
    /// The one-off digest: fetch, build and deliver now.
    Send(SendArgs),
    /// Run the scheduler and the web app: feeds on their own clock, each digest on its schedule.
    Serve {
        /// Address for the web app.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
    },
    /// List each digest's next run times, local and UTC.
    Schedule {
        /// Count from this RFC 3339 time instead of now.
        #[arg(long)]
        from: Option<String>,
        /// How many runs per digest.
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Serve the next issue in a browser; it reloads when templates, intro or config change.
    Preview {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Open the preview in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Manage subscribers.
    #[command(subcommand)]
    Subscribers(SubscribersCmd),
    /// Past issues with delivery counts.
    #[command(subcommand)]
    Issues(IssuesCmd),
    /// Is the scheduler working, what is queued or in doubt, which feeds fail (exit 1 when not
    /// healthy).
    Status,
    /// Bounces, complaints and auto-replies.
    #[command(subcommand)]
    Bounces(BouncesCmd),
    /// Editorial review of the draft issues of digests with `review` set.
    #[command(subcommand)]
    Review(ReviewCmd),
    /// Copy the SQLite database to a new PostgreSQL database (then set `[storage] url`).
    Migrate {
        /// The PostgreSQL database: postgres://user@host:port/db (empty; its schema is created).
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Html,
    Text,
    Markdown,
    Eml,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Digest name (default: the first one).
    #[arg(long)]
    pub digest: Option<String>,
    #[arg(long, value_enum, default_value = "html")]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Editor's intro in Markdown (overrides the digest's `intro`).
    #[arg(long)]
    pub intro: Option<PathBuf>,
    /// Fetch the feeds first.
    #[arg(long)]
    pub fetch: bool,
    /// Print why each story in the window was kept or dropped.
    #[arg(long)]
    pub explain: bool,
    /// Open the written file in the default browser.
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Digest name (default: the first one).
    #[arg(long)]
    pub digest: Option<String>,
    /// Write to the file outbox instead, and mark nothing as sent.
    #[arg(long)]
    pub dry_run: bool,
    /// Send to these addresses instead of the subscribers.
    #[arg(long = "to", value_name = "ADDR")]
    pub to: Vec<String>,
    /// Do not fetch the feeds first.
    #[arg(long)]
    pub no_fetch: bool,
    /// Editor's intro in Markdown (overrides the digest's `intro`).
    #[arg(long)]
    pub intro: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCmd {
    /// Add (or update) a subscriber, confirmed unless --pending.
    Add {
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Digest to receive (repeatable; default: every digest).
        #[arg(long = "digest")]
        digests: Vec<String>,
        /// Store as pending (to be confirmed by the subscriber).
        #[arg(long)]
        pending: bool,
    },
    /// Remove a subscriber.
    Remove { email: String },
    /// Set a subscriber's choices; only the options given change.
    Set {
        email: String,
        /// The topics wanted from one digest, `DIGEST:TOPIC,TOPIC` (repeatable); `DIGEST:` for
        /// every topic again.
        #[arg(long = "topics", value_name = "DIGEST:TOPICS")]
        topics: Vec<String>,
        /// `html` (with a plain-text alternative) or `text` (plain text only).
        #[arg(long)]
        format: Option<String>,
        /// IANA time zone (`Europe/Berlin`); `none` for the newsletter's.
        #[arg(long)]
        timezone: Option<String>,
        /// No mail before this date, YYYY-MM-DD; `none` to resume now.
        #[arg(long = "pause-until", value_name = "DATE")]
        pause_until: Option<String>,
        /// The digests to receive (repeatable; replaces the list).
        #[arg(long = "digest")]
        digests: Vec<String>,
    },
    /// Erase everything stored about a subscriber, keeping only a hash of the address so that
    /// no add or import brings it back.
    Erase { email: String },
    /// List subscribers.
    List,
    /// Import a CSV file with header `email,name,digests` (optional columns: status, topics,
    /// format, timezone, paused_until).
    Import { file: PathBuf },
    /// Export every subscriber as CSV with a `status` column (stdout, or --out).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only rows with this status (pending, confirmed, unsubscribed, bouncing, complained).
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IssuesCmd {
    /// Every issue, newest first.
    List,
    /// One issue's deliveries by status, with their bounces and complaints.
    Show { id: i64 },
    /// Go on with an issue whose send paused on its hard-bounce rate (`pause_above`).
    Resume { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum BouncesCmd {
    /// Classify messages read from files (`-` for stdin) and record them against their
    /// deliveries: hard, soft, complaint, autoreply, other. The same message twice records once.
    Process {
        /// Message files (RFC 5322); `-` reads one message from stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Classify only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Read the configured bounce mailboxes (`[bounces] maildir`, `imap`) once, as `serve` does
    /// every `poll_interval` (for a cron job instead of `serve`).
    Poll,
    /// What was recorded, newest first.
    List {
        /// Only the events of this issue.
        #[arg(long)]
        issue: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// Open drafts first, then the latest reviewed issues.
    List,
    /// A digest's draft (or its latest reviewed issue): stories in issue order, status, log.
    Show { digest: String },
    /// Drop a story, named by its URL, from the digest's draft.
    Drop { digest: String, url: String },
    /// Pin a story, named by its URL, to the top of the digest's draft.
    Pin { digest: String, url: String },
    /// Approve the digest's draft (a held one then goes out with the next `send`, or `serve`).
    Approve { digest: String },
    /// Skip the digest's draft: it is never sent.
    Skip { digest: String },
}
