//! The command line: global options and one subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Inspect, verify, export, import and copy chronicle-es event stores.
#[derive(Debug, Parser)]
#[command(name = "chronicle", version, about)]
pub struct Cli {
    /// The store: a SQLite file (a path, `sqlite://PATH`) or
    /// `postgres://user@host/db?schema=NAME`. Default: $CHRONICLE_STORE_URL.
    #[arg(long, global = true)]
    pub store: Option<String>,

    /// Print JSON (one document, or one line per event) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Upgrade a store written with an older layout in place when opening
    /// it (refused otherwise, so that looking never changes a store).
    #[arg(long, global = true)]
    pub migrate: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the streams, by aggregate type, with versions and last change.
    Streams {
        /// Only streams of this aggregate type.
        #[arg(long = "type")]
        aggregate_type: Option<String>,
    },
    /// Show the events of one stream, with their envelopes.
    Show {
        /// The stream id (a UUID).
        stream: String,
        /// Only up to this version.
        #[arg(long)]
        at: Option<u64>,
    },
    /// Show the log after a position.
    Log {
        /// Events after this position.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Follow the log as it grows, like `tail -f` (Ctrl-C to stop).
    Tail {
        /// Start after this position (default: the current end of the log).
        #[arg(long)]
        after: Option<u64>,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Counts, sizes, oldest and newest events.
    Stats,
    /// List tracking records with their lag, or reset one.
    Consumers {
        #[command(subcommand)]
        command: Option<ConsumersCommand>,
    },
    /// Check every stream and the log; exit status 1 when anything is wrong.
    Verify {
        /// A JSON Lines file of stream heads kept earlier (`chronicle
        /// heads`): also checks that no stream lost its end since.
        #[arg(long)]
        heads: Option<PathBuf>,
    },
    /// Print every stream's head (last version and hash) as JSON Lines, to
    /// keep outside the database for `verify --heads`.
    Heads,
    /// Write every event as JSON Lines (one envelope per line).
    Export {
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Append events from JSON Lines written by `export`.
    Import {
        /// Read this file instead of stdin.
        #[arg(long, short)]
        input: Option<PathBuf>,
    },
    /// Copy every event to another store; run again to resume.
    Copy {
        /// The target store's URL.
        #[arg(long)]
        to: String,
        /// Events per atomic append in the target.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Stop after copying this many events (run again to go on).
        #[arg(long)]
        stop_after: Option<u64>,
    },
}

/// What to do with tracking records.
#[derive(Debug, Subcommand)]
pub enum ConsumersCommand {
    /// Move a consumer back to a position (0 by default: start over).
    Reset {
        /// The consumer's name.
        name: String,
        /// The position to set.
        #[arg(long, default_value_t = 0)]
        to: u64,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}
