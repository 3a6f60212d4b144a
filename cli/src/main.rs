//! `chronicle`: inspect, verify, export, import and copy chronicle-es event
//! stores, opened by URL (`--store`, or `CHRONICLE_STORE_URL`).
//!
//! Exit status: 0 when all is well, 1 when `verify` found problems (or a
//! confirmation was declined), 2 on an error (printed as one line on
//! stderr).

mod args;
mod consumers;
mod envelope;
mod inspect;
mod open;
mod scan;
mod table;
mod transfer;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, ConsumersCommand};

/// An error for the user: one line naming what is wrong.
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Errors of the library and of I/O, with their causes on the same line.
macro_rules! cli_error_from {
    ($($error:ty),*) => {
        $(impl From<$error> for CliError {
            fn from(error: $error) -> Self {
                CliError(one_line(&error))
            }
        })*
    };
}

/// `error` and its causes (those its message does not already include), on
/// one line.
fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message.replace('\n', " ")
}

cli_error_from!(
    chronicle_es::store::StoreError,
    chronicle_es::Error,
    std::io::Error,
    serde_json::Error
);

/// How a command ended when it did not fail.
pub enum Outcome {
    /// All is well.
    Ok,
    /// Something was found wrong (verify), or the user declined.
    Problems,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&CliError::from(error)),
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(error) => fail(&error),
    }
}

fn fail(error: &CliError) -> ExitCode {
    eprintln!("chronicle: error: {error}");
    ExitCode::from(2)
}

async fn run(cli: Cli) -> Result<Outcome, CliError> {
    let url = open::store_url(cli.store.as_deref())?;
    let json = cli.json;
    // Only `import` creates its store; the others refuse a missing SQLite
    // file, and migrate an older layout only when asked to.
    let access = match cli.command {
        Command::Import { .. } => open::Access::Create,
        _ => open::Access::Existing {
            migrate: cli.migrate,
        },
    };
    let store = open::open(&url, access).await?;
    match cli.command {
        Command::Streams { aggregate_type } => {
            inspect::streams(&store, aggregate_type.as_deref(), json).await
        }
        Command::Show { stream, at } => inspect::show(&store, &stream, at, json).await,
        Command::Log { after, limit } => inspect::log(&store, after, limit, json).await,
        Command::Tail { after, count } => inspect::tail(&store, after, count, json).await,
        Command::Stats => inspect::stats(&store, json).await,
        Command::Consumers { command: None } => consumers::list(&store, json).await,
        Command::Consumers {
            command: Some(ConsumersCommand::Reset { name, to, yes }),
        } => consumers::reset(&store, &name, to, yes).await,
        Command::Verify { heads } => verify::verify(&store, heads.as_deref(), json).await,
        Command::Heads => verify::heads(&store).await,
        Command::Export { output } => transfer::export(&store, output.as_deref()).await,
        Command::Import { input } => transfer::import(&store, input.as_deref(), json).await,
        Command::Copy {
            to,
            batch,
            stop_after,
        } => {
            let target = open::open(&to, open::Access::Create).await?;
            transfer::copy(&store, &target, batch, stop_after, json).await
        }
    }
}
