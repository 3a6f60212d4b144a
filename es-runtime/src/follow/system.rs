//! Systems: followers declared once, run deterministically (tests) or
//! concurrently (production).

use super::{catch_up, run, BatchHandler, PositionWaiter, RunnerError, SubscriptionStopper};
use crate::BoxFuture;

/// A projection or process application, as a [`System`] runs it.
pub trait Follower: Send + 'static {
    /// The tracking name.
    fn name(&self) -> &str;

    /// Handles what is in the log now; returns how many events it handled.
    fn catch_up_now(&mut self) -> BoxFuture<'_, Result<u64, RunnerError>>;

    /// Follows the log live until stopped.
    fn follow(&mut self) -> BoxFuture<'_, Result<(), RunnerError>>;

    /// Stops [`follow`](Self::follow).
    fn stopper(&self) -> SubscriptionStopper;

    /// Waits for a position.
    fn waiter(&self) -> PositionWaiter;
}

impl<H: BatchHandler + 'static> Follower for H {
    fn name(&self) -> &str {
        &self.core().consumer
    }

    fn catch_up_now(&mut self) -> BoxFuture<'_, Result<u64, RunnerError>> {
        Box::pin(catch_up(self, |_| {}))
    }

    fn follow(&mut self) -> BoxFuture<'_, Result<(), RunnerError>> {
        Box::pin(run(self))
    }

    fn stopper(&self) -> SubscriptionStopper {
        self.core().stopper.clone()
    }

    fn waiter(&self) -> PositionWaiter {
        self.core().waiter()
    }
}

/// Followers declared together: which projection or process application
/// follows which application is fixed when each runner is built.
///
/// A follower keeps a *tracking record* `(consumer, position)` in the store
/// it writes to, committed in the same transaction as its effects, and
/// resumes after that position. The log's ordering guarantee (never skip,
/// never repeat) then makes each event take effect exactly once.
///
/// A [`System`] declares followers once and runs them either with
/// [`System::run_until_idle`], single-threaded and deterministic (each
/// follower in turn catches up, until none has anything left: for tests), or
/// with [`System::start`], each follower in its own task following live (for
/// production). Both resume from the tracking records after a crash, so
/// effects are neither lost nor repeated.
#[derive(Default)]
pub struct System {
    followers: Vec<Box<dyn Follower>>,
}

impl System {
    /// An empty system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a follower (a `ProjectionRunner` or `ProcessRunner`).
    pub fn with(mut self, follower: impl Follower) -> Self {
        self.followers.push(Box::new(follower));
        self
    }

    /// Waits for the follower named `name`, if there is one.
    pub fn waiter(&self, name: &str) -> Option<PositionWaiter> {
        self.followers
            .iter()
            .find(|follower| follower.name() == name)
            .map(|follower| follower.waiter())
    }

    /// The single-threaded, deterministic runner: each follower in the order
    /// added catches up, again and again, until none handled anything (the
    /// effects of one may feed the next). Returns how many events were
    /// handled in all.
    pub async fn run_until_idle(&mut self) -> Result<u64, RunnerError> {
        let mut total = 0;
        loop {
            let mut round = 0;
            for follower in &mut self.followers {
                round += follower.catch_up_now().await?;
            }
            if round == 0 {
                return Ok(total);
            }
            total += round;
        }
    }

    /// The concurrent runner: each follower follows live in its own tokio
    /// task until [`RunningSystem::stop`].
    pub fn start(self) -> RunningSystem {
        let mut stoppers = Vec::new();
        let mut tasks = Vec::new();
        for mut follower in self.followers {
            stoppers.push(follower.stopper());
            let name = follower.name().to_owned();
            tasks.push((name, tokio::spawn(async move { follower.follow().await })));
        }
        RunningSystem { stoppers, tasks }
    }
}

/// A [`System`] running concurrently.
pub struct RunningSystem {
    stoppers: Vec<SubscriptionStopper>,
    tasks: Vec<(String, tokio::task::JoinHandle<Result<(), RunnerError>>)>,
}

impl RunningSystem {
    /// Stops every follower and waits for them; returns the errors of those
    /// that had stopped on an error.
    pub async fn stop(self) -> Vec<RunnerError> {
        for stopper in &self.stoppers {
            stopper.stop();
        }
        let mut errors = Vec::new();
        for (consumer, task) in self.tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => errors.push(error),
                Err(join_error) => errors.push(RunnerError::Aborted {
                    consumer,
                    reason: join_error.to_string(),
                }),
            }
        }
        errors
    }
}
