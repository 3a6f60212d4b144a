//! Hash chains: tamper-evident streams.
//!
//! With [`ApplicationBuilder::hash_chain`](crate::ApplicationBuilder::hash_chain)
//! on, every event an application stores carries a [`ChainHash`]: SHA-256
//! over its predecessor's hash and its own stored fields (stream, version,
//! event id, aggregate type, event type, schema version, timestamp,
//! metadata and the payload *as stored*, so an encrypted payload is covered
//! as ciphertext and a crypto-shredded stream still verifies). Loading an
//! aggregate checks the chain of the events it reads; a [`ChainVerifier`]
//! checks a whole stream (the `chronicle verify` command uses it).
//!
//! What a broken chain reveals: a changed payload, metadata or header; a
//! removed, inserted or reordered event; and, when the head of the stream
//! (its last version and hash, a [`StreamHead`]) was kept somewhere else, a
//! truncated end.
//!
//! What it does not protect against: someone with write access to the
//! database who rewrites a whole stream from its first chained event on,
//! recomputing every hash (the algorithm is public and keyless), or who
//! removes the stream's tail together with any head kept in the same
//! database. To detect that, anchor heads outside the database's reach:
//! record [`Application::stream_head`](crate::Application::stream_head)
//! (or `chronicle heads`) in another system, an append-only log or a signed
//! receipt, and pass it back to
//! [`Application::verify_stream`](crate::Application::verify_stream) (or
//! `chronicle verify --heads`). Events stored before the option was turned
//! on carry no hash and are not covered; the chain starts at the first
//! hashed event.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::metadata::Metadata;
use crate::store::{NewEvent, StoredEvent};
use crate::timestamp::Timestamp;

/// Separates this hash's inputs from any other use of SHA-256, and names the
/// encoding version so that it can change without ambiguity.
const DOMAIN: &[u8] = b"chronicle-es hash chain v1\0";

/// The SHA-256 hash that links a stored event to its predecessor. Shown and
/// parsed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// What the first hashed event of a stream links to.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    /// The hash with these bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        ChainHash(bytes)
    }

    /// The hash in `bytes`, when they are 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(ChainHash)
    }

    /// Its 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a chain hash is 64 hex digits, not `{0}`")]
pub struct ChainHashParseError(String);

impl FromStr for ChainHash {
    type Err = ChainHashParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || ChainHashParseError(text.to_owned());
        if text.len() != 64 || !text.is_ascii() {
            return Err(fail());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| fail())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| fail())?;
        }
        Ok(ChainHash(bytes))
    }
}

/// The last event of a stream as the chain sees it: keep it outside the
/// database to detect a truncated stream later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamHead {
    /// The stream.
    pub stream_id: Uuid,
    /// Its last version.
    pub version: u64,
    /// The hash of that event; `None` when it was stored unhashed.
    #[serde(with = "optional_hex")]
    pub hash: Option<ChainHash>,
}

/// `Option<ChainHash>` as a hex string or null, in JSON.
mod optional_hex {
    use super::ChainHash;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Option<ChainHash>, s: S) -> Result<S::Ok, S::Error> {
        match hash {
            Some(hash) => s.collect_str(hash),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ChainHash>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| text.parse().map_err(D::Error::custom))
            .transpose()
    }
}

/// The fields of one event that its hash covers, borrowed.
struct Covered<'a> {
    stream_id: Uuid,
    version: u64,
    event_id: Uuid,
    aggregate_type: Option<&'a str>,
    event_type: &'a str,
    schema_version: u32,
    timestamp: Timestamp,
    metadata: &'a Metadata,
    payload: &'a [u8],
}

impl Covered<'_> {
    /// SHA-256 of `previous` and these fields, each length-prefixed so that
    /// no two different events encode alike.
    fn link(&self, previous: &ChainHash) -> ChainHash {
        let mut hash = Sha256::new();
        let mut bytes = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        bytes(DOMAIN);
        bytes(&previous.0);
        bytes(self.stream_id.as_bytes());
        bytes(&self.version.to_be_bytes());
        bytes(self.event_id.as_bytes());
        bytes(self.aggregate_type.unwrap_or_default().as_bytes());
        bytes(self.event_type.as_bytes());
        bytes(&self.schema_version.to_be_bytes());
        bytes(&self.timestamp.unix_micros().to_be_bytes());
        // Metadata by its fields, not its stored JSON: PostgreSQL keeps it
        // as `jsonb`, which does not preserve the text it was given.
        let ids = |id: Option<Uuid>| id.map_or([0; 17], |id| prefixed(1, id.as_bytes()));
        bytes(&ids(self.metadata.correlation_id));
        bytes(&ids(self.metadata.causation_id));
        bytes(&(self.metadata.extra.len() as u64).to_be_bytes());
        for (key, value) in &self.metadata.extra {
            bytes(key.as_bytes());
            bytes(value.as_bytes());
        }
        bytes(self.payload);
        ChainHash(hash.finalize().into())
    }
}

/// `tag` followed by `id`.
fn prefixed(tag: u8, id: &[u8; 16]) -> [u8; 17] {
    let mut out = [tag; 17];
    out[1..].copy_from_slice(id);
    out
}

impl<'a> From<&'a StoredEvent> for Covered<'a> {
    fn from(event: &'a StoredEvent) -> Self {
        Covered {
            stream_id: event.stream_id,
            version: event.version,
            event_id: event.event_id,
            aggregate_type: event.aggregate_type.as_deref(),
            event_type: &event.event_type,
            schema_version: event.schema_version,
            timestamp: event.timestamp,
            metadata: &event.metadata,
            payload: &event.payload,
        }
    }
}

/// Sets the hash of each of `events`, to be stored in `stream_id` after an
/// event whose hash is `previous` (`None`: none, or one stored unhashed).
pub(crate) fn link_new(
    stream_id: Uuid,
    expected_version: u64,
    previous: Option<ChainHash>,
    events: &mut [NewEvent],
) {
    let mut previous = previous.unwrap_or(ChainHash::GENESIS);
    for (event, version) in events.iter_mut().zip(expected_version + 1..) {
        let hash = Covered {
            stream_id,
            version,
            event_id: event.event_id,
            aggregate_type: Some(&event.aggregate_type),
            event_type: &event.event_type,
            schema_version: event.schema_version,
            timestamp: event.timestamp,
            metadata: &event.metadata,
            payload: &event.payload,
        }
        .link(&previous);
        event.chain_hash = Some(hash);
        previous = hash;
    }
}

/// What is wrong at the first bad version of a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    /// The event read has another version than the one that should follow.
    #[error("found version {found} instead (an event was removed, inserted or reordered)")]
    UnexpectedVersion {
        /// The version found.
        found: u64,
    },
    /// The stored hash is not the hash of the event and its predecessor's.
    #[error("the stored hash does not match the event and its predecessor (its payload, metadata or header was changed, or an event before it was removed, inserted or reordered)")]
    Mismatch,
    /// The event has no hash although its predecessor has one.
    #[error("the event has no hash although the event before it has one")]
    Missing,
    /// The event belongs to another stream.
    #[error("the event belongs to stream {found}")]
    WrongStream {
        /// The stream it names.
        found: Uuid,
    },
    /// The stream ends before the version of its anchored head.
    #[error(
        "the stream ends at version {last}, before its anchored head (the stream was truncated)"
    )]
    Truncated {
        /// The last version stored.
        last: u64,
    },
    /// The event at the anchored head's version has another hash.
    #[error("the hash differs from the anchored head's ({anchored})")]
    AnchorMismatch {
        /// The anchored hash.
        anchored: String,
    },
}

/// A stream whose hash chain is broken: the first bad version and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hash chain of stream {stream_id} broken at version {version}: {fault}")]
pub struct ChainBreak {
    /// The stream.
    pub stream_id: Uuid,
    /// The first version found wrong.
    pub version: u64,
    /// What is wrong with it.
    pub fault: ChainFault,
}

/// Checks the events of one stream, in version order, against their chain.
///
/// ```
/// # use chronicle_es_runtime::chain::ChainVerifier;
/// # use chronicle_es_runtime::Uuid;
/// let mut verifier = ChainVerifier::new(Uuid::new_v4());
/// // for event in the stream's events: verifier.check(&event)?;
/// assert_eq!(verifier.finish().unwrap(), None); // an empty stream
/// ```
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    stream_id: Uuid,
    /// The last event checked: its version and hash.
    last: Option<(u64, Option<ChainHash>)>,
    anchor: Option<StreamHead>,
}

impl ChainVerifier {
    /// Checks `stream_id` from its first event.
    pub fn new(stream_id: Uuid) -> Self {
        ChainVerifier {
            stream_id,
            last: None,
            anchor: None,
        }
    }

    /// Checks the events after `head` (for example after a snapshot's
    /// version), trusting `head` itself.
    pub fn after(head: StreamHead) -> Self {
        ChainVerifier {
            stream_id: head.stream_id,
            last: (head.version > 0).then_some((head.version, head.hash)),
            anchor: None,
        }
    }

    /// Also checks that the stream still holds `head` (kept elsewhere since):
    /// the same hash at its version, and no end before it.
    pub fn anchored(mut self, head: StreamHead) -> Self {
        self.anchor = Some(head);
        self
    }

    /// Checks the next event of the stream.
    pub fn check(&mut self, event: &StoredEvent) -> Result<(), ChainBreak> {
        let expected = self.last.map_or(1, |(version, _)| version + 1);
        let fail = |fault| ChainBreak {
            stream_id: self.stream_id,
            version: expected,
            fault,
        };
        if event.stream_id != self.stream_id {
            return Err(fail(ChainFault::WrongStream {
                found: event.stream_id,
            }));
        }
        if event.version != expected {
            return Err(fail(ChainFault::UnexpectedVersion {
                found: event.version,
            }));
        }
        let previous = self.last.and_then(|(_, hash)| hash);
        match (event.chain_hash, previous) {
            (None, Some(_)) => return Err(fail(ChainFault::Missing)),
            (None, None) => {}
            (Some(stored), previous) => {
                if Covered::from(event).link(&previous.unwrap_or(ChainHash::GENESIS)) != stored {
                    return Err(fail(ChainFault::Mismatch));
                }
            }
        }
        if let Some(anchor) = self.anchor.filter(|anchor| anchor.version == expected) {
            if anchor.hash != event.chain_hash {
                let anchored = anchor.hash.map_or("none".into(), |hash| hash.to_string());
                return Err(fail(ChainFault::AnchorMismatch { anchored }));
            }
        }
        self.last = Some((expected, event.chain_hash));
        Ok(())
    }

    /// The head of the events checked (`None`: none), after checking that
    /// the stream reaches its anchored head.
    pub fn finish(self) -> Result<Option<StreamHead>, ChainBreak> {
        let last = self.last.map_or(0, |(version, _)| version);
        if let Some(anchor) = self.anchor.filter(|anchor| anchor.version > last) {
            return Err(ChainBreak {
                stream_id: self.stream_id,
                version: anchor.version,
                fault: ChainFault::Truncated { last },
            });
        }
        Ok(self.head())
    }

    /// The head of the events checked so far.
    pub fn head(&self) -> Option<StreamHead> {
        self.last.map(|(version, hash)| StreamHead {
            stream_id: self.stream_id,
            version,
            hash,
        })
    }
}

mod stored;

pub(crate) use stored::{link_appends, read_head, verify_stored};

#[cfg(test)]
mod tests;
