//! Generated code names everything by absolute path: this crate has no
//! prelude, defines its own `Result`, `Option`, `Vec`, `String`, `Box`,
//! `Clone`, `Ok`, `Some`, ... and `core`/`std`/`serde`/`chronicle_es` modules,
//! and its aggregate's fields and event arguments use its own `String` and
//! `Vec`. (Shadowing primitive types such as `str` or `u64` is not covered:
//! the code that serde's derives generate names them unqualified; the code
//! `#[aggregate]` generates itself does not.)

#![no_implicit_prelude]
#![allow(dead_code, non_camel_case_types)]

use ::chronicle_es::aggregate;

mod core {}
mod std {}
mod serde {}
mod chronicle_es {}

pub struct Result;
pub struct Option;
pub struct Box;
pub struct Ok;
pub struct Err;
pub struct Some;
pub struct None;
pub trait Clone {}
pub trait Deref {}
pub trait Debug {}
pub trait PartialEq {}
pub trait Default {}
pub trait Into {}
pub trait From {}
pub trait ToOwned {}
pub trait Serialize {}
pub trait Deserialize {}

/// The crate's own string type.
#[derive(
    ::core::fmt::Debug,
    ::core::clone::Clone,
    ::core::cmp::PartialEq,
    ::serde::Serialize,
    ::serde::Deserialize,
)]
pub struct String(::std::string::String);

/// The crate's own list type.
#[derive(
    ::core::fmt::Debug,
    ::core::clone::Clone,
    ::core::cmp::PartialEq,
    ::serde::Serialize,
    ::serde::Deserialize,
)]
pub struct Vec(::std::vec::Vec<String>);

fn s(text: &::core::primitive::str) -> String {
    String(::std::string::ToString::to_string(text))
}

#[aggregate]
#[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec(::std::vec::Vec::new()),
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.0.push(trick);
    }

    #[event]
    pub fn forget_tricks(&mut self) {
        self.tricks.0.clear();
    }
}

fn main() {
    let mut dog = Dog::register(s("Fido"));
    dog.add_trick(s("sit"));
    ::std::assert_eq!(dog.tricks.0.len(), 1);
    dog.forget_tricks();
    ::std::assert_eq!(dog.version(), 3);
    ::std::assert_eq!(dog.name, s("Fido"));
    let events = dog.collect_events();
    ::std::assert_eq!(events.len(), 3);
    ::std::assert_eq!(events[1].event, DogEvent::TrickAdded { trick: s("sit") });
}
