//! Given/when/then tests of aggregates, by their events, without a store.
//!
//! ```ignore
//! use chronicle_es::testing::given;
//!
//! #[test]
//! fn a_new_trick_is_recorded() {
//!     given::<Dog>([DogEvent::Registered { name: "Fido".into() }])
//!         .when(|dog| dog.teach("sit"))
//!         .then([DogEvent::TrickAdded { trick: "sit".into() }]);
//! }
//!
//! #[test]
//! fn a_known_trick_is_refused_and_nothing_is_recorded() {
//!     given_created(|| Dog::register("Fido".into()))
//!         .and([DogEvent::TrickAdded { trick: "sit".into() }])
//!         .when(|dog| dog.teach("sit"))
//!         .then_error_message("Fido already knows \"sit\"");
//! }
//! ```
//!
//! - **Given** past events ([`given`]), applied through the aggregate's own
//!   replay (the same bodies a repository runs when it loads the aggregate),
//!   or a creation call ([`given_created`]), whose events count as past; add
//!   more past events with [`Given::and`]. [`given_no_events`] tests the
//!   creation itself.
//! - **When** a command runs: a closure on the aggregate, returning `()` or
//!   a `Result`.
//! - **Then** exactly these new events were recorded ([`When::then`]),
//!   compared as typed events (ids, versions and timestamps are the
//!   runtime's business, not the test's), or the command failed and recorded
//!   nothing ([`When::then_error`], [`When::then_error_matching`],
//!   [`When::then_error_message`]).
//!
//! A failed expectation panics, at the test's line, with the expected and
//! recorded events as a diff:
//!
//! ```text
//! then: the recorded events differ from the expected ones (- expected, + recorded)
//!     TrickAdded { trick: "sit" }
//!   - TrickAdded { trick: "stay" }
//!   + TrickAdded { trick: "roll over" }
//! ```

use std::convert::Infallible;
use std::fmt::{self, Debug, Display};
use std::marker::PhantomData;

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::event::EventHeader;
use crate::timestamp::Timestamp;

/// Starts a test from past events, applied in order as a repository applies
/// stored events: the first must create the aggregate.
///
/// # Panics
///
/// When the events cannot be replayed (the first is not a creation event,
/// or a later one is).
#[track_caller]
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    Given::<A> {
        aggregate: None,
        history: Vec::new(),
    }
    .and(events)
}

/// Starts a test from a creation call, such as `|| Dog::register(...)`: its
/// events count as past events.
pub fn given_created<A: Aggregate>(create: impl FnOnce() -> A) -> Given<A> {
    let mut aggregate = create();
    let history = aggregate
        .meta()
        .pending_events()
        .iter()
        .map(|envelope| envelope.event.clone())
        .collect();
    aggregate.meta_mut().mark_saved();
    Given {
        aggregate: Some(aggregate),
        history,
    }
}

/// Starts a test of a creation call: there is no aggregate before it.
pub fn given_no_events<A: Aggregate>() -> NoEvents<A> {
    NoEvents(PhantomData)
}

/// The past of an aggregate under test.
#[must_use = "a test needs `.when(...)` and `.then(...)`"]
pub struct Given<A: Aggregate> {
    aggregate: Option<A>,
    history: Vec<A::Event>,
}

impl<A: Aggregate> Given<A> {
    /// Applies more past events, in order.
    ///
    /// # Panics
    ///
    /// When an event cannot be applied: a first event that does not create
    /// the aggregate, or a creation event after the first.
    #[track_caller]
    pub fn and(mut self, events: impl IntoIterator<Item = A::Event>) -> Self {
        for event in events {
            let position = self.history.len() + 1;
            let header = EventHeader {
                stream_id: self
                    .aggregate
                    .as_ref()
                    .map_or_else(Uuid::new_v4, |aggregate| aggregate.meta().id()),
                version: position as u64,
                timestamp: Timestamp::now(),
            };
            let applied = match &mut self.aggregate {
                None => A::create(&header, event.clone()).map(|created| {
                    self.aggregate = Some(created);
                }),
                Some(aggregate) => aggregate.mutate(event.clone()).map(|()| {
                    aggregate.meta_mut().advance(&header);
                }),
            };
            if let Err(error) = applied {
                panic!(
                    "given: past event {position} of `{}` cannot be applied: {error}\n  event: {event:?}",
                    A::TYPE_NAME
                );
            }
            self.history.push(event);
        }
        self
    }

    /// Runs a command: a closure on the aggregate that returns `()` (calling
    /// an event method directly, say) or a `Result`.
    ///
    /// # Panics
    ///
    /// When there is no aggregate: `given` had no events.
    #[track_caller]
    pub fn when<O: Outcome>(
        self,
        command: impl FnOnce(&mut A) -> O,
    ) -> When<A, O::Value, O::Error> {
        let Some(mut aggregate) = self.aggregate else {
            panic!(
                "when: there is no `{}` yet: give past events, starting with a creation event, or test the creation with given_no_events().when_created(...)",
                A::TYPE_NAME
            );
        };
        let recorded_before = aggregate.meta().pending_events().len();
        let outcome = command(&mut aggregate).into_result();
        let recorded = aggregate.meta().pending_events()[recorded_before..]
            .iter()
            .map(|envelope| envelope.event.clone())
            .collect();
        When {
            aggregate: Some(aggregate),
            history: self.history,
            outcome,
            recorded,
        }
    }
}

/// The start of a test of a creation call.
#[must_use = "a test needs `.when_created(...)` and `.then(...)`"]
pub struct NoEvents<A>(PhantomData<A>);

impl<A: Aggregate> NoEvents<A> {
    /// Runs a creation call: a closure that returns the new aggregate, or a
    /// `Result` with it.
    pub fn when_created<O: Creation<A>>(self, create: impl FnOnce() -> O) -> When<A, (), O::Error> {
        let (aggregate, outcome, recorded) = match create().into_result() {
            Ok(aggregate) => {
                let recorded = aggregate
                    .meta()
                    .pending_events()
                    .iter()
                    .map(|envelope| envelope.event.clone())
                    .collect();
                (Some(aggregate), Ok(()), recorded)
            }
            Err(error) => (None, Err(error), Vec::new()),
        };
        When {
            aggregate,
            history: Vec::new(),
            outcome,
            recorded,
        }
    }
}

/// What a command returns: `()` or a `Result`.
#[diagnostic::on_unimplemented(
    message = "a `when` command returns `()` or a `Result`, not `{Self}`",
    label = "the closure passed to `when` returns this"
)]
pub trait Outcome {
    /// The value of a command that succeeded.
    type Value;
    /// Why a command failed.
    type Error;
    /// The outcome as a `Result`.
    fn into_result(self) -> Result<Self::Value, Self::Error>;
}

impl Outcome for () {
    type Value = ();
    type Error = Infallible;

    fn into_result(self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl<T, E> Outcome for Result<T, E> {
    type Value = T;
    type Error = E;

    fn into_result(self) -> Self {
        self
    }
}

/// What a creation call returns: the aggregate, or a `Result` with it.
#[diagnostic::on_unimplemented(
    message = "a creation call returns the aggregate `{A}` or a `Result` with it, not `{Self}`",
    label = "the closure passed to `when_created` returns this"
)]
pub trait Creation<A> {
    /// Why a creation failed.
    type Error;
    /// The outcome as a `Result`.
    fn into_result(self) -> Result<A, Self::Error>;
}

impl<A: Aggregate> Creation<A> for A {
    type Error = Infallible;

    fn into_result(self) -> Result<A, Infallible> {
        Ok(self)
    }
}

impl<A: Aggregate, E> Creation<A> for Result<A, E> {
    type Error = E;

    fn into_result(self) -> Self {
        self
    }
}

/// A command that ran, ready for expectations.
#[must_use = "check the outcome with `.then(...)` or one of the `then_error` methods"]
pub struct When<A: Aggregate, T, E> {
    /// `None` only after a creation call that failed.
    aggregate: Option<A>,
    history: Vec<A::Event>,
    outcome: Result<T, E>,
    recorded: Vec<A::Event>,
}

impl<A, T, E> When<A, T, E>
where
    A: Aggregate,
    A::Event: PartialEq,
    E: Debug,
{
    /// Expects the command to succeed and to have recorded exactly these
    /// events, in order. Returns the aggregate, for checks of its state.
    ///
    /// # Panics
    ///
    /// When the command failed, or recorded other events (the message shows
    /// a diff).
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        if let Err(error) = &self.outcome {
            panic!(
                "then: the command failed with {error:?}, but it should have recorded:\n{}{}",
                listing(&expected),
                self.context()
            );
        }
        if self.recorded != expected {
            panic!(
                "then: the recorded events differ from the expected ones (- expected, + recorded)\n{}{}",
                diff(&expected, &self.recorded),
                self.context()
            );
        }
        self.into_aggregate()
    }

    /// Expects the command to succeed without recording anything (a command
    /// that found nothing to do). Returns the aggregate.
    ///
    /// # Panics
    ///
    /// When the command failed or recorded events.
    #[track_caller]
    pub fn then_no_events(self) -> A {
        self.then([])
    }

    /// Expects the command to fail with `expected` and to have recorded
    /// nothing.
    ///
    /// # Panics
    ///
    /// When the command succeeded, failed otherwise, or recorded events.
    #[track_caller]
    pub fn then_error(self, expected: E)
    where
        E: PartialEq,
    {
        let shown = format!("{expected:?}");
        self.expect_error(&shown, |error| *error == expected);
    }

    /// Expects the command to fail with an error for which `check` holds
    /// (`|e| matches!(e, SchoolError::AlreadyKnown { .. })`), and to have
    /// recorded nothing.
    ///
    /// # Panics
    ///
    /// When the command succeeded, `check` is false, or events were recorded.
    #[track_caller]
    pub fn then_error_matching(self, check: impl FnOnce(&E) -> bool) {
        self.expect_error("an error for which the check holds", check);
    }

    /// Expects the command to fail with an error that displays as `message`,
    /// and to have recorded nothing.
    ///
    /// # Panics
    ///
    /// When the command succeeded, failed with another message, or recorded
    /// events.
    #[track_caller]
    pub fn then_error_message(self, message: &str)
    where
        E: Display,
    {
        let shown = format!("an error displayed as {message:?}");
        self.expect_error(&shown, |error| error.to_string() == message);
    }

    #[track_caller]
    fn expect_error(self, expected: &str, check: impl FnOnce(&E) -> bool) {
        let error = match &self.outcome {
            Ok(_) if self.recorded.is_empty() => panic!(
                "then: the command succeeded without recording anything, but it should have failed with {expected}{}",
                self.context()
            ),
            Ok(_) => panic!(
                "then: the command succeeded, but it should have failed with {expected}; it recorded:\n{}{}",
                listing(&self.recorded),
                self.context()
            ),
            Err(error) => error,
        };
        let displayed = format!("{error:?}");
        if !check(error) {
            panic!(
                "then: the command failed with {displayed}, but it should have failed with {expected}{}",
                self.context()
            );
        }
        if !self.recorded.is_empty() {
            panic!(
                "then: the command failed as expected, but a failed command must record nothing, and it recorded:\n{}{}",
                listing(&self.recorded),
                self.context()
            );
        }
    }

    /// What the test started from, for failure messages.
    fn context(&self) -> String {
        if self.history.is_empty() {
            return String::new();
        }
        format!("\ngiven:\n{}", listing(&self.history))
    }

    #[track_caller]
    fn into_aggregate(self) -> A {
        // Only a failed creation leaves no aggregate, and `then` reports
        // failed commands before getting here.
        match self.aggregate {
            Some(aggregate) => aggregate,
            None => panic!("then: the creation call created no aggregate"),
        }
    }
}

impl<A: Aggregate, T, E> When<A, T, E> {
    /// The events the command recorded, oldest first.
    pub fn recorded(&self) -> &[A::Event] {
        &self.recorded
    }

    /// What the command returned.
    pub fn outcome(&self) -> &Result<T, E> {
        &self.outcome
    }
}

/// One event per line, indented.
fn listing<E: Debug>(events: &[E]) -> String {
    if events.is_empty() {
        return "    (no events)\n".to_owned();
    }
    events.iter().map(|event| line(" ", event)).collect()
}

/// An event after a two-character marker: on one line when it is short, as
/// `{:#?}` with every line marked when it is not.
fn line<E: Debug>(marker: &str, event: &E) -> String {
    const WIDE: usize = 96;
    let compact = format!("{event:?}");
    if compact.len() <= WIDE {
        return format!("  {marker} {compact}\n");
    }
    format!("{event:#?}")
        .lines()
        .map(|text| format!("  {marker} {text}\n"))
        .collect()
}

/// A line diff of two event lists: their longest common subsequence
/// unmarked, events only expected marked `-`, events only recorded `+`.
fn diff<E: PartialEq + Debug>(expected: &[E], recorded: &[E]) -> String {
    let (n, m) = (expected.len(), recorded.len());
    // common[i][j]: the length of the longest common subsequence of
    // expected[i..] and recorded[j..].
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == recorded[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == recorded[j] {
            out.push_str(&line(" ", &expected[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            out.push_str(&line("-", &expected[i]));
            i += 1;
        } else {
            out.push_str(&line("+", &recorded[j]));
            j += 1;
        }
    }
    if out.is_empty() {
        out.push_str("    (no events)\n");
    }
    out
}

impl<A: Aggregate> fmt::Debug for Given<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Given")
            .field("aggregate", &A::TYPE_NAME)
            .field("history", &self.history)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Event(&'static str);

    fn events(names: &[&'static str]) -> Vec<Event> {
        names.iter().copied().map(Event).collect()
    }

    #[test]
    fn the_diff_keeps_common_events_and_marks_the_others() {
        let expected = events(&["a", "b", "c"]);
        let recorded = events(&["a", "x", "c", "d"]);
        assert_eq!(
            diff(&expected, &recorded),
            "    Event(\"a\")\n  - Event(\"b\")\n  + Event(\"x\")\n    Event(\"c\")\n  + Event(\"d\")\n"
        );
        assert_eq!(diff::<Event>(&[], &[]), "    (no events)\n");
        assert_eq!(diff(&events(&["a"]), &[]), "  - Event(\"a\")\n");
    }

    #[test]
    fn wide_events_are_shown_over_several_marked_lines() {
        #[derive(Debug, PartialEq)]
        struct Wide {
            first: String,
            second: String,
        }
        let wide = Wide {
            first: "x".repeat(50),
            second: "y".repeat(50),
        };
        let shown = diff(&[wide], &[]);
        assert!(
            shown.starts_with("  - Wide {\n  -     first: \""),
            "{shown}"
        );
        assert!(shown.ends_with("  - }\n"), "{shown}");
    }
}
