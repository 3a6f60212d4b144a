//! What a save accepts, a load returns: the check that each payload a save
//! is about to store reads back as the value it was encoded from.
//!
//! A codec may write a value it cannot read back (JSON writes a NaN as
//! `null`, which no `f64` reads), or read back another value (`Some(NaN)`
//! comes back from JSON as `None`), and a hand-written `Serialize` may
//! disagree with its `Deserialize`. Stored, such a payload would make every
//! later load of the aggregate fail, or differ from what was saved. So the
//! [`Mapper`](crate::Mapper) decodes each payload it has just encoded and
//! compares the result with the original, before anything is stored:
//!
//! - events with their `PartialEq` (every event enum derives it);
//! - snapshots with the aggregate's `PartialEq` when it derives one, else
//!   they must decode;
//! - a value that is not equal to itself (it holds a NaN somewhere) is
//!   accepted when its decoded copy is not equal to itself either and
//!   re-encodes to the very same bytes: a NaN that round-trips bit for bit
//!   (MessagePack), not one that turned into `None` (JSON).
//!
//! Only the refusal path looks further, to name the field: the codec's
//! decoding error already names it for events (the payload decoder prefixes
//! its errors with the field), and a value that decodes but differs is
//! serialized, original and copy, into a [`Tree`] (floats kept bit for bit,
//! maps in a canonical order) that is compared field by field.

use std::fmt::{self, Write as _};
use std::sync::{Mutex, PoisonError};

use serde::ser::{self, Serialize};

use crate::aggregate::Aggregate;
use crate::codec::{Codec, CodecError};
use crate::event::{DomainEvent, EventHeader, PayloadError};

/// Checks that `payload`, just encoded from `event` with `codec`, decodes
/// back to `event`; the error says why not, naming the field when it can.
/// Events whose fields all have plain types are not checked with a codec
/// exact for those ([`Codec::EXACT_FOR_PLAIN_TYPES`]).
pub(crate) fn check_event<C: Codec, A: Aggregate>(
    codec: &C,
    event: &A::Event,
    payload: &[u8],
) -> Result<(), CodecError> {
    if C::EXACT_FOR_PLAIN_TYPES && A::__plain_event(event) {
        return Ok(());
    }
    let decoded = match <A::Event as DomainEvent>::decode_payload(
        codec,
        event.event_type(),
        event.schema_version(),
        payload,
    ) {
        Ok(decoded) => decoded,
        Err(error) => {
            return Err(does_not_decode::<C>(&error, |tree| {
                event.encode_payload(tree)
            }));
        }
    };
    if decoded == *event
        || same_but_not_self_equal(event, &decoded, payload, |copy| copy.encode_payload(codec))
    {
        return Ok(());
    }
    Err(differs::<C>(
        |tree| event.encode_payload(tree),
        |tree| decoded.encode_payload(tree),
        "the event read back",
    ))
}

/// Checks that a snapshot `payload`, just encoded from `aggregate` with
/// `codec` (at `header`'s version and time), decodes back to it: equal by
/// the aggregate's `PartialEq` when it derives one; otherwise it must decode.
pub(crate) fn check_snapshot<C: Codec, A: Aggregate>(
    codec: &C,
    aggregate: &A,
    header: &EventHeader,
    payload: &[u8],
) -> Result<(), CodecError> {
    let decoded = match A::decode_snapshot(codec, header, A::STATE_VERSION, payload) {
        Ok(decoded) => decoded,
        Err(error) => {
            return Err(does_not_decode::<C>(&error, |tree| {
                aggregate.encode_snapshot(tree)
            }));
        }
    };
    let same = |a: &A, b: &A| a.__same_value(b).unwrap_or(true);
    if same(aggregate, &decoded)
        || (!same(aggregate, aggregate)
            && !same(&decoded, &decoded)
            && decoded
                .encode_snapshot(codec)
                .is_ok_and(|again| again == payload))
    {
        return Ok(());
    }
    Err(differs::<C>(
        |tree| aggregate.encode_snapshot(tree),
        |tree| decoded.encode_snapshot(tree),
        "the snapshot read back",
    ))
}

/// True when `original` and its `decoded` copy differ only in not being
/// equal to themselves (a NaN anywhere makes `PartialEq` false): the copy
/// keeps such a value too and re-encodes to the very bytes stored.
fn same_but_not_self_equal<T: PartialEq>(
    original: &T,
    decoded: &T,
    payload: &[u8],
    encode: impl FnOnce(&T) -> Result<Vec<u8>, CodecError>,
) -> bool {
    original.ne(original)
        && decoded.ne(decoded)
        && encode(decoded).is_ok_and(|again| again == payload)
}

/// The refusal of a payload that does not decode. `encode` serializes the
/// original, to point at the non-finite floats it holds, if any.
#[cold]
fn does_not_decode<C: Codec>(
    error: &PayloadError,
    encode: impl FnOnce(&TreeCodec) -> Result<Vec<u8>, CodecError>,
) -> CodecError {
    let mut message = String::from("does not read back: ");
    match error {
        PayloadError::Codec(error) => message.push_str(&error.message),
        other => {
            let _ = write!(message, "{other}");
        }
    }
    if let Some(tree) = TreeCodec::tree_of(encode) {
        let mut found = Vec::new();
        tree.non_finite_floats(&mut String::new(), &mut found);
        if let Some((path, value)) = found.first() {
            let _ = write!(message, " (`{path}` holds {value})");
        }
    }
    CodecError {
        codec: C::NAME,
        message,
    }
}

/// The refusal of a payload that decodes to another value: names the first
/// field where the serialized original and copy differ.
#[cold]
fn differs<C: Codec>(
    original: impl FnOnce(&TreeCodec) -> Result<Vec<u8>, CodecError>,
    decoded: impl FnOnce(&TreeCodec) -> Result<Vec<u8>, CodecError>,
    what: &str,
) -> CodecError {
    let message = match (TreeCodec::tree_of(original), TreeCodec::tree_of(decoded)) {
        (Some(original), Some(decoded)) => {
            let mut path = String::new();
            match original.first_difference(&decoded, &mut path) {
                Some((was, is)) if path.is_empty() => {
                    format!("does not read back: it was {was}, reads back as {is}")
                }
                Some((was, is)) => format!(
                    "does not read back: field `{}` was {was}, reads back as {is}",
                    path.trim_start_matches('.')
                ),
                None => format!(
                    "does not read back: {what} is not equal to the original, though both \
                     serialize alike (is a part of it not serialized, as with #[serde(skip)]?)"
                ),
            }
        }
        _ => format!("does not read back: {what} is not equal to the original"),
    };
    CodecError {
        codec: C::NAME,
        message,
    }
}

/// A value as serde sees it, for comparing an original with its copy: floats
/// kept bit for bit (a NaN equals a NaN), map entries in a canonical order
/// (two `HashMap`s with the same entries are alike). Built on the refusal
/// path only.
#[derive(Debug)]
enum Tree {
    Unit,
    Bool(bool),
    Int(i128),
    Uint(u128),
    Float(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    None,
    Some(Box<Tree>),
    Seq(Vec<Tree>),
    Map(Vec<(Tree, Tree)>),
    Struct(Vec<(&'static str, Tree)>),
    Variant(&'static str, Box<Tree>),
}

impl Tree {
    /// Equal, with floats equal when their bits are (or `==` says so).
    fn same(&self, other: &Tree) -> bool {
        match (self, other) {
            (Tree::Float(a), Tree::Float(b)) => a.to_bits() == b.to_bits() || a == b,
            (Tree::Some(a), Tree::Some(b)) => a.same(b),
            (Tree::Variant(n, a), Tree::Variant(m, b)) => n == m && a.same(b),
            (Tree::Seq(a), Tree::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same(b))
            }
            (Tree::Map(a), Tree::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka.same(kb) && va.same(vb))
            }
            (Tree::Struct(a), Tree::Struct(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((na, va), (nb, vb))| na == nb && va.same(vb))
            }
            (Tree::Unit, Tree::Unit) | (Tree::None, Tree::None) => true,
            (Tree::Bool(a), Tree::Bool(b)) => a == b,
            (Tree::Int(a), Tree::Int(b)) => a == b,
            (Tree::Uint(a), Tree::Uint(b)) => a == b,
            (Tree::Char(a), Tree::Char(b)) => a == b,
            (Tree::Str(a), Tree::Str(b)) => a == b,
            (Tree::Bytes(a), Tree::Bytes(b)) => a == b,
            _ => false,
        }
    }

    /// The first place where `self` and `other` differ, as a path from the
    /// root (`.reading`, `.points[2].x`, `.scores["a"]`) written to `path`,
    /// with the two values there; `None` when they are alike.
    fn first_difference<'t>(
        &'t self,
        other: &'t Tree,
        path: &mut String,
    ) -> Option<(&'t Tree, &'t Tree)> {
        let depth = path.len();
        let found = match (self, other) {
            (Tree::Some(a), Tree::Some(b)) => a.first_difference(b, path),
            (Tree::Variant(n, a), Tree::Variant(m, b)) if n == m => a.first_difference(b, path),
            (Tree::Struct(a), Tree::Struct(b)) if a.len() == b.len() => {
                a.iter().zip(b).find_map(|((na, va), (nb, vb))| {
                    path.truncate(depth);
                    let _ = write!(path, ".{na}");
                    if na == nb {
                        va.first_difference(vb, path)
                    } else {
                        Some((va, vb))
                    }
                })
            }
            (Tree::Seq(a), Tree::Seq(b)) if a.len() == b.len() => {
                a.iter().zip(b).enumerate().find_map(|(index, (a, b))| {
                    path.truncate(depth);
                    let _ = write!(path, "[{index}]");
                    a.first_difference(b, path)
                })
            }
            (Tree::Map(a), Tree::Map(b))
                if a.len() == b.len() && a.iter().zip(b).all(|((ka, _), (kb, _))| ka.same(kb)) =>
            {
                a.iter().zip(b).find_map(|((key, a), (_, b))| {
                    path.truncate(depth);
                    let _ = write!(path, "[{key}]");
                    a.first_difference(b, path)
                })
            }
            (a, b) => (!a.same(b)).then_some((a, b)),
        };
        if found.is_none() {
            path.truncate(depth);
        }
        found
    }

    /// Appends to `found` the path and value of each NaN or infinity.
    fn non_finite_floats(&self, path: &mut String, found: &mut Vec<(String, f64)>) {
        let depth = path.len();
        match self {
            Tree::Float(value) if !value.is_finite() => {
                found.push((path.trim_start_matches('.').to_owned(), *value));
            }
            Tree::Some(inner) | Tree::Variant(_, inner) => inner.non_finite_floats(path, found),
            Tree::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.truncate(depth);
                    let _ = write!(path, "[{index}]");
                    item.non_finite_floats(path, found);
                }
            }
            Tree::Map(entries) => {
                for (key, value) in entries {
                    path.truncate(depth);
                    let _ = write!(path, "[{key}]");
                    value.non_finite_floats(path, found);
                }
            }
            Tree::Struct(fields) => {
                for (name, value) in fields {
                    path.truncate(depth);
                    let _ = write!(path, ".{name}");
                    value.non_finite_floats(path, found);
                }
            }
            _ => {}
        }
        path.truncate(depth);
    }
}

/// Rust-like: `Some(NaN)`, `[1, 2]`, `{"a": 1}`, `{x: 1.0}`.
impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(
            f: &mut fmt::Formatter<'_>,
            (open, close): (&str, &str),
            items: &[T],
            item: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (index, entry) in items.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                item(f, entry)?;
            }
            f.write_str(close)
        }
        match self {
            Tree::Unit => f.write_str("()"),
            Tree::Bool(value) => write!(f, "{value}"),
            Tree::Int(value) => write!(f, "{value}"),
            Tree::Uint(value) => write!(f, "{value}"),
            Tree::Float(value) => write!(f, "{value:?}"),
            Tree::Char(value) => write!(f, "{value:?}"),
            Tree::Str(value) => write!(f, "{value:?}"),
            Tree::Bytes(value) => write!(f, "{value:?}"),
            Tree::None => f.write_str("None"),
            Tree::Some(inner) => write!(f, "Some({inner})"),
            Tree::Seq(items) => list(f, ("[", "]"), items, |f, item| write!(f, "{item}")),
            Tree::Map(entries) => list(f, ("{", "}"), entries, |f, (key, value)| {
                write!(f, "{key}: {value}")
            }),
            Tree::Struct(fields) => list(f, ("{", "}"), fields, |f, (name, value)| {
                write!(f, "{name}: {value}")
            }),
            Tree::Variant(name, inner) => match **inner {
                Tree::Unit => f.write_str(name),
                _ => write!(f, "{name}({inner})"),
            },
        }
    }
}

/// A codec that keeps the [`Tree`] of what it encodes, so that the
/// generated encoders (`encode_payload`, `encode_snapshot`) serve the
/// diagnostics too. It decodes nothing.
struct TreeCodec(Mutex<Option<Tree>>);

impl TreeCodec {
    /// The tree of what `encode` encodes with a tree codec, if it encodes.
    fn tree_of(encode: impl FnOnce(&TreeCodec) -> Result<Vec<u8>, CodecError>) -> Option<Tree> {
        let codec = TreeCodec(Mutex::new(None));
        encode(&codec).ok()?;
        codec.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Codec for TreeCodec {
    const NAME: &'static str = "tree";

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        let tree = value
            .serialize(TreeSerializer)
            .map_err(|error| CodecError {
                codec: Self::NAME,
                message: error.0,
            })?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(tree);
        Ok(Vec::new())
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, _bytes: &[u8]) -> Result<T, CodecError> {
        Err(CodecError {
            codec: Self::NAME,
            message: "the tree codec only serializes".to_owned(),
        })
    }
}

#[derive(Debug)]
struct TreeError(String);

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TreeError {}

impl ser::Error for TreeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        TreeError(message.to_string())
    }
}

/// Serializes a value into a [`Tree`].
struct TreeSerializer;

/// A sequence, tuple or map (keys and values alternate until `end`) being
/// serialized; `variant` when it is the content of an enum variant.
struct Items {
    items: Vec<Tree>,
    variant: Option<&'static str>,
}

/// A struct being serialized; `variant` when it is an enum variant's.
struct Fields {
    fields: Vec<(&'static str, Tree)>,
    variant: Option<&'static str>,
}

fn wrap(variant: Option<&'static str>, tree: Tree) -> Tree {
    match variant {
        Some(name) => Tree::Variant(name, Box::new(tree)),
        None => tree,
    }
}

/// `fn serialize_i8(self, v: i8) -> Result<Tree, TreeError>` and the like:
/// the value, widened, in a variant of [`Tree`].
macro_rules! scalars {
    ($($method:ident($ty:ty) => $variant:ident),*) => {
        $(
            fn $method(self, v: $ty) -> Result<Tree, TreeError> {
                Ok(Tree::$variant(v.into()))
            }
        )*
    };
}

impl ser::Serializer for TreeSerializer {
    type Ok = Tree;
    type Error = TreeError;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = Items;
    type SerializeMap = Items;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Fields;

    scalars!(
        serialize_bool(bool) => Bool,
        serialize_i8(i8) => Int,
        serialize_i16(i16) => Int,
        serialize_i32(i32) => Int,
        serialize_i64(i64) => Int,
        serialize_i128(i128) => Int,
        serialize_u8(u8) => Uint,
        serialize_u16(u16) => Uint,
        serialize_u32(u32) => Uint,
        serialize_u64(u64) => Uint,
        serialize_u128(u128) => Uint,
        serialize_f32(f32) => Float,
        serialize_f64(f64) => Float,
        serialize_char(char) => Char
    );
    fn serialize_str(self, v: &str) -> Result<Tree, TreeError> {
        Ok(Tree::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Tree, TreeError> {
        Ok(Tree::Bytes(v.to_owned()))
    }
    fn serialize_none(self) -> Result<Tree, TreeError> {
        Ok(Tree::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Tree, TreeError> {
        Ok(Tree::Some(Box::new(value.serialize(self)?)))
    }
    fn serialize_unit(self) -> Result<Tree, TreeError> {
        Ok(Tree::Unit)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Tree, TreeError> {
        Ok(Tree::Unit)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Tree, TreeError> {
        Ok(Tree::Variant(variant, Box::new(Tree::Unit)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Tree, TreeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Tree, TreeError> {
        Ok(Tree::Variant(variant, Box::new(value.serialize(self)?)))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items, TreeError> {
        Ok(Items {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items, TreeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Items, TreeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Items, TreeError> {
        Ok(Items {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Items, TreeError> {
        self.serialize_seq(len.map(|len| len * 2))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Fields, TreeError> {
        Ok(Fields {
            fields: Vec::with_capacity(len),
            variant: None,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Fields, TreeError> {
        Ok(Fields {
            fields: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
}

impl Items {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.items.push(value.serialize(TreeSerializer)?);
        Ok(())
    }

    fn seq(self) -> Tree {
        wrap(self.variant, Tree::Seq(self.items))
    }
}

/// The compound serializers that push each element: `Trait::method`.
macro_rules! pushing {
    ($($compound:ident :: $method:ident),*) => {
        $(
            impl ser::$compound for Items {
                type Ok = Tree;
                type Error = TreeError;
                fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
                    self.push(value)
                }
                fn end(self) -> Result<Tree, TreeError> {
                    Ok(self.seq())
                }
            }
        )*
    };
}

pushing!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Items {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), TreeError> {
        self.push(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.push(value)
    }
    /// Entries sorted by their keys' text, so that maps iterated in another
    /// order (`HashMap`) are alike.
    fn end(self) -> Result<Tree, TreeError> {
        let mut items = self.items.into_iter();
        let mut entries = Vec::with_capacity(items.len() / 2);
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            entries.push((key.to_string(), key, value));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let entries = entries
            .into_iter()
            .map(|(_, key, value)| (key, value))
            .collect();
        Ok(wrap(self.variant, Tree::Map(entries)))
    }
}

impl Fields {
    fn push<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), TreeError> {
        self.fields.push((name, value.serialize(TreeSerializer)?));
        Ok(())
    }
}

/// Structs and struct variants alike.
macro_rules! fields {
    ($($compound:ident),*) => {
        $(
            impl ser::$compound for Fields {
                type Ok = Tree;
                type Error = TreeError;
                fn serialize_field<T: Serialize + ?Sized>(
                    &mut self,
                    name: &'static str,
                    value: &T,
                ) -> Result<(), TreeError> {
                    self.push(name, value)
                }
                fn end(self) -> Result<Tree, TreeError> {
                    Ok(wrap(self.variant, Tree::Struct(self.fields)))
                }
            }
        )*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn tree<T: Serialize>(value: &T) -> Tree {
        TreeCodec::tree_of(|codec| codec.encode(value)).unwrap()
    }

    #[derive(serde::Serialize)]
    struct Reading {
        label: String,
        value: Option<f64>,
        points: Vec<(u8, f32)>,
    }

    #[test]
    fn names_the_first_difference() {
        let a = tree(&Reading {
            label: "x".into(),
            value: Some(f64::NAN),
            points: vec![(1, 1.0), (2, f32::INFINITY)],
        });
        let b = tree(&Reading {
            label: "x".into(),
            value: Some(f64::NAN),
            points: vec![(1, 1.0), (2, 0.5)],
        });
        assert!(a.same(&a), "a NaN is like a NaN");
        let mut path = String::new();
        let (was, is) = a.first_difference(&b, &mut path).unwrap();
        assert_eq!(
            (path.as_str(), was.to_string(), is.to_string()),
            (".points[1][1]", "inf".to_owned(), "0.5".to_owned())
        );
        let mut found = Vec::new();
        a.non_finite_floats(&mut String::new(), &mut found);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].0, "points[1][1]");
    }

    #[test]
    fn maps_are_alike_whatever_their_order() {
        let a: HashMap<u32, &str> = (0..50).map(|n| (n, "v")).collect();
        let b: HashMap<u32, &str> = (0..50).rev().map(|n| (n, "v")).collect();
        assert!(tree(&a).same(&tree(&b)));
        let mut path = String::new();
        assert!(tree(&a).first_difference(&tree(&b), &mut path).is_none());
        assert_eq!(path, "");
    }
}
