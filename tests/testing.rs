//! The given/when/then test kit (`chronicle_es::testing`): expectations that
//! hold, and the messages of expectations that do not.

use std::panic::{catch_unwind, AssertUnwindSafe};

use chronicle_es::prelude::*;
use chronicle_es::testing::{given, given_created, given_no_events};

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub enum SchoolError {
    NoName,
    AlreadyKnown(String),
}

impl std::fmt::Display for SchoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchoolError::NoName => write!(f, "a dog needs a name"),
            SchoolError::AlreadyKnown(trick) => write!(f, "already knows {trick:?}"),
        }
    }
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    /// A creation command that validates.
    pub fn enrol(name: &str) -> Result<Self, SchoolError> {
        if name.is_empty() {
            return Err(SchoolError::NoName);
        }
        Ok(Self::register(name.to_owned()))
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }

    pub fn teach(&mut self, trick: &str) -> Result<(), SchoolError> {
        if self.tricks.iter().any(|known| known == trick) {
            return Err(SchoolError::AlreadyKnown(trick.to_owned()));
        }
        self.add_trick(trick.to_owned());
        Ok(())
    }

    /// Teaches several tricks, skipping known ones: may record nothing.
    pub fn teach_all(&mut self, tricks: &[&str]) -> Result<usize, SchoolError> {
        let mut taught = 0;
        for trick in tricks {
            if self.teach(trick).is_ok() {
                taught += 1;
            }
        }
        Ok(taught)
    }

    /// A buggy command: records, then fails.
    pub fn teach_carelessly(&mut self, trick: &str) -> Result<(), SchoolError> {
        self.add_trick(trick.to_owned());
        Err(SchoolError::AlreadyKnown(trick.to_owned()))
    }
}

fn registered(name: &str) -> DogEvent {
    DogEvent::Registered { name: name.into() }
}

fn trick(trick: &str) -> DogEvent {
    DogEvent::TrickAdded {
        trick: trick.into(),
    }
}

/// The message a failed expectation panics with.
fn failure(test: impl FnOnce()) -> String {
    let panic = catch_unwind(AssertUnwindSafe(test)).expect_err("the expectation should fail");
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic
            .downcast::<&str>()
            .map(|message| (*message).to_owned())
            .unwrap_or_default(),
    }
}

#[test]
fn given_past_events_when_a_command_then_its_events() {
    let dog = given::<Dog>([registered("Fido")])
        .when(|dog| dog.teach("sit"))
        .then([trick("sit")]);
    assert_eq!(dog.tricks, ["sit"]);
    assert_eq!(dog.version(), 2);
}

#[test]
fn given_a_creation_call_and_more_events() {
    given_created(|| Dog::register("Fido".into()))
        .and([trick("sit"), trick("stay")])
        .when(|dog| dog.teach_all(&["sit", "roll over", "beg"]))
        .then([trick("roll over"), trick("beg")]);
}

#[test]
fn an_event_method_can_be_the_command() {
    given::<Dog>([registered("Fido")])
        .when(|dog| dog.add_trick("sit".into()))
        .then([trick("sit")]);
}

#[test]
fn a_command_that_records_nothing() {
    let dog = given::<Dog>([registered("Fido"), trick("sit")])
        .when(|dog| dog.teach_all(&["sit"]))
        .then_no_events();
    assert_eq!(dog.tricks, ["sit"]);
}

#[test]
fn a_refused_command_by_value_by_check_and_by_message() {
    let known = || given::<Dog>([registered("Fido"), trick("sit")]).when(|dog| dog.teach("sit"));
    known().then_error(SchoolError::AlreadyKnown("sit".into()));
    known().then_error_matching(|error| matches!(error, SchoolError::AlreadyKnown(_)));
    known().then_error_message("already knows \"sit\"");
}

#[test]
fn creation_calls_succeed_or_fail() {
    let dog = given_no_events::<Dog>()
        .when_created(|| Dog::register("Fido".into()))
        .then([registered("Fido")]);
    assert_eq!(dog.name, "Fido");
    given_no_events::<Dog>()
        .when_created(|| Dog::enrol("Rex"))
        .then([registered("Rex")]);
    given_no_events::<Dog>()
        .when_created(|| Dog::enrol(""))
        .then_error(SchoolError::NoName);
}

#[test]
fn the_outcome_and_the_recorded_events_can_be_inspected() {
    let when = given::<Dog>([registered("Fido")]).when(|dog| dog.teach_all(&["sit", "sit"]));
    assert_eq!(when.outcome(), &Ok(1));
    assert_eq!(when.recorded(), [trick("sit")]);
}

#[test]
fn other_events_fail_with_a_diff() {
    let message = failure(|| {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach_all(&["sit", "roll over"]))
            .then([trick("sit"), trick("stay")]);
    });
    assert_eq!(
        message,
        "then: the recorded events differ from the expected ones (- expected, + recorded)
    TrickAdded { trick: \"sit\" }
  - TrickAdded { trick: \"stay\" }
  + TrickAdded { trick: \"roll over\" }

given:
    Registered { name: \"Fido\" }
"
    );
}

#[test]
fn missing_and_unexpected_events_are_marked() {
    let message = failure(|| {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach("sit"))
            .then([]);
    });
    assert!(
        message.contains("(- expected, + recorded)\n  + TrickAdded { trick: \"sit\" }\n"),
        "{message}"
    );
    let message = failure(|| {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach_all(&[]))
            .then([trick("sit")]);
    });
    assert!(
        message.contains("(- expected, + recorded)\n  - TrickAdded { trick: \"sit\" }\n"),
        "{message}"
    );
}

#[test]
fn a_failed_command_fails_then() {
    let message = failure(|| {
        given::<Dog>([registered("Fido"), trick("sit")])
            .when(|dog| dog.teach("sit"))
            .then([trick("sit")]);
    });
    assert!(
        message.starts_with(
            "then: the command failed with AlreadyKnown(\"sit\"), but it should have recorded:\n    TrickAdded { trick: \"sit\" }\n"
        ),
        "{message}"
    );
}

#[test]
fn a_command_that_succeeds_fails_then_error() {
    let message = failure(|| {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach("sit"))
            .then_error(SchoolError::AlreadyKnown("sit".into()));
    });
    assert!(
        message.starts_with(
            "then: the command succeeded, but it should have failed with AlreadyKnown(\"sit\"); it recorded:\n    TrickAdded { trick: \"sit\" }\n"
        ),
        "{message}"
    );
    let message = failure(|| {
        given::<Dog>([registered("Fido"), trick("sit")])
            .when(|dog| dog.teach_all(&["sit"]))
            .then_error_matching(|_| true);
    });
    assert!(
        message.starts_with("then: the command succeeded without recording anything, but it should have failed with an error for which the check holds"),
        "{message}"
    );
}

#[test]
fn another_error_fails_then_error() {
    let message = failure(|| {
        given::<Dog>([registered("Fido"), trick("sit")])
            .when(|dog| dog.teach("sit"))
            .then_error(SchoolError::NoName);
    });
    assert!(
        message.starts_with("then: the command failed with AlreadyKnown(\"sit\"), but it should have failed with NoName"),
        "{message}"
    );
    let message = failure(|| {
        given::<Dog>([registered("Fido"), trick("sit")])
            .when(|dog| dog.teach("sit"))
            .then_error_message("a dog needs a name");
    });
    assert!(
        message.contains(
            "but it should have failed with an error displayed as \"a dog needs a name\""
        ),
        "{message}"
    );
}

#[test]
fn a_failed_command_that_recorded_events_fails_then_error() {
    let message = failure(|| {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach_carelessly("sit"))
            .then_error(SchoolError::AlreadyKnown("sit".into()));
    });
    assert!(
        message.starts_with(
            "then: the command failed as expected, but a failed command must record nothing, and it recorded:\n    TrickAdded { trick: \"sit\" }\n"
        ),
        "{message}"
    );
}

#[test]
fn past_events_that_do_not_replay_are_reported() {
    let message = failure(|| {
        let _ = given::<Dog>([trick("sit")]);
    });
    assert_eq!(
        message,
        "given: past event 1 of `Dog` cannot be applied: event `TrickAdded` cannot start a stream: it is not a creation event\n  event: TrickAdded { trick: \"sit\" }"
    );
    let message = failure(|| {
        let _ = given::<Dog>([registered("Fido"), registered("Rex")]);
    });
    assert!(
        message.starts_with(
            "given: past event 2 of `Dog` cannot be applied: creation event `Registered`"
        ),
        "{message}"
    );
    let message = failure(|| {
        let _ = given::<Dog>([]).when(|dog| dog.teach("sit"));
    });
    assert!(
        message.starts_with("when: there is no `Dog` yet"),
        "{message}"
    );
}

#[test]
fn wide_events_are_shown_pretty_printed() {
    let long = "a very long trick name that makes the event wider than a line of a terminal";
    let message = failure(|| {
        given::<Dog>([registered("Fido")])
            .when(|dog| dog.teach(long))
            .then([]);
    });
    assert!(
        message.contains(&format!(
            "  + TrickAdded {{\n  +     trick: \"{long}\",\n  + }}\n"
        )),
        "{message}"
    );
}
