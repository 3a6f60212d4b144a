//! The one path between domain events and stored records.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::aggregate::{Aggregate, ApplyError};
use crate::codec::{Codec, JsonCodec};
use crate::error::{Error, SnapshotError};
use crate::event::{DomainEvent, Envelope, EventHeader};
use crate::metadata::Metadata;
use crate::protect::{PayloadProtection, ProtectionError};
use crate::round_trip;
use crate::store::{EventRef, NewEvent, Snapshot, StoredEvent, StreamAppend};

/// Turns domain events into the records stores keep, and records back into
/// events: the codec (JSON unless configured) with each event's schema
/// version, and the payload protection (compression, encryption) when the
/// application has one. On the way back it unprotects, upcasts older schema
/// versions and decodes, and it rebuilds aggregates from their events and
/// snapshots.
///
/// Every component that reads or writes events (the [`Application`],
/// [`AggregateCache`], subscriptions, projections and process applications)
/// goes through its application's mapper, so a payload is encoded,
/// protected, unprotected and decoded in exactly one place.
///
/// [`Application`]: crate::Application
/// [`AggregateCache`]: crate::AggregateCache
pub struct Mapper<C = JsonCodec> {
    codec: C,
    protection: Option<Arc<dyn PayloadProtection>>,
}

impl<C: Clone> Clone for Mapper<C> {
    fn clone(&self) -> Self {
        Self {
            codec: self.codec.clone(),
            protection: self.protection.clone(),
        }
    }
}

impl<C: Codec> fmt::Debug for Mapper<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapper")
            .field("codec", &C::NAME)
            .field("protected", &self.protection.is_some())
            .finish()
    }
}

/// Which way a payload goes through the protection.
#[derive(Clone, Copy)]
enum Direction {
    Protect,
    Unprotect,
}

impl<C: Codec> Mapper<C> {
    /// A mapper encoding payloads with `codec`, unprotected.
    pub fn new(codec: C) -> Self {
        Self {
            codec,
            protection: None,
        }
    }

    /// Protects every payload (events and snapshots) with `protection` after
    /// encoding, and unprotects it before decoding.
    pub fn with_protection(mut self, protection: impl PayloadProtection) -> Self {
        self.protection = Some(Arc::new(protection));
        self
    }

    pub(crate) fn from_parts(codec: C, protection: Option<Arc<dyn PayloadProtection>>) -> Self {
        Self { codec, protection }
    }

    /// The payload codec.
    pub fn codec(&self) -> &C {
        &self.codec
    }

    /// Decodes a record read from a store into a typed envelope, unprotecting
    /// its payload first. A record that does not decode (or unprotect) is an
    /// error naming its stream, version and type.
    pub async fn decode<E: DomainEvent>(&self, record: &StoredEvent) -> Result<Envelope<E>, Error> {
        let event = match &self.protection {
            None => self.decode_payload(EventRef::from(record))?,
            Some(_) => {
                let mut payload = [record.payload.clone()];
                self.transform(Direction::Unprotect, record.stream_id, &mut payload, |p| p)
                    .await?;
                self.decode_payload(EventRef {
                    payload: &payload[0],
                    ..EventRef::from(record)
                })?
            }
        };
        Ok(Envelope {
            event_id: record.event_id,
            stream_id: record.stream_id,
            version: record.version,
            timestamp: record.timestamp,
            metadata: record.metadata.clone(),
            event,
        })
    }

    /// Decodes a record whose payload is already plain (not protected): an
    /// event received from a broker, which carries the plain payload.
    #[cfg(any(feature = "nats", feature = "rabbitmq"))]
    pub(crate) fn decode_plain<E: DomainEvent>(
        &self,
        record: &StoredEvent,
    ) -> Result<Envelope<E>, Error> {
        Ok(Envelope {
            event_id: record.event_id,
            stream_id: record.stream_id,
            version: record.version,
            timestamp: record.timestamp,
            metadata: record.metadata.clone(),
            event: self.decode_payload(EventRef::from(record))?,
        })
    }

    /// The plain payload of one stored event: what leaves the application
    /// on the wire (a broker's consumers hold no keys).
    #[cfg(any(feature = "nats", feature = "rabbitmq"))]
    pub(crate) async fn plain_payload(&self, record: &StoredEvent) -> Result<Vec<u8>, Error> {
        let mut payload = [record.payload.clone()];
        self.transform(Direction::Unprotect, record.stream_id, &mut payload, |p| p)
            .await?;
        let [payload] = payload;
        Ok(payload)
    }

    /// True when payloads go through a protection, which works a batch of
    /// owned payloads at a time (so they cannot be folded as borrowed rows).
    pub(crate) fn protects(&self) -> bool {
        self.protection.is_some()
    }

    /// True when every payload this mapper stores is JSON as `serde_json`
    /// writes it: the [`JsonCodec`], unprotected.
    pub(crate) fn stores_json(&self) -> bool {
        self.protection.is_none() && TypeId::of::<C>() == TypeId::of::<JsonCodec>()
    }

    fn decode_payload<E: DomainEvent>(&self, record: EventRef<'_>) -> Result<E, Error> {
        E::decode_payload(
            &self.codec,
            record.event_type,
            record.schema_version,
            record.payload,
        )
        .map_err(|source| Error::Decode {
            stream_id: record.stream_id,
            version: record.version,
            event_type: record.event_type.to_owned(),
            source,
        })
    }

    /// Appends `aggregate`'s pending events, encoded, to `out` (one append
    /// expecting the saved version). Payloads are protected later, by
    /// [`protect_appends`](Self::protect_appends).
    ///
    /// Each payload must read back as the event it was encoded from
    /// ([`round_trip`](crate::round_trip)); one that would not is an
    /// [`Error::Encode`] naming the field, before anything is stored.
    pub(crate) fn encode_pending<A: Aggregate>(
        &self,
        aggregate: &A,
        metadata: &Metadata,
        out: &mut Vec<StreamAppend>,
    ) -> Result<(), Error> {
        let meta = aggregate.meta();
        let pending = meta.pending_events();
        if pending.is_empty() {
            return Ok(());
        }
        let mut events = Vec::with_capacity(pending.len());
        for envelope in pending {
            let event_type = envelope.event.event_type();
            let payload = envelope
                .event
                .encode_payload(&self.codec)
                .and_then(|payload| {
                    round_trip::check_event::<C, A>(&self.codec, &envelope.event, &payload)?;
                    Ok(payload)
                })
                .map_err(|source| Error::Encode {
                    stream_id: envelope.stream_id,
                    version: envelope.version,
                    event_type,
                    source,
                })?;
            events.push(NewEvent {
                event_id: envelope.event_id,
                aggregate_type: A::TYPE_NAME.to_owned(),
                event_type: event_type.to_owned(),
                schema_version: envelope.event.schema_version(),
                timestamp: envelope.timestamp,
                metadata: envelope.metadata.clone().or(metadata),
                payload,
                // Linked after protection, over the payload as stored.
                chain_hash: None,
            });
        }
        out.push(StreamAppend {
            stream_id: meta.id(),
            expected_version: meta.saved_version(),
            events,
        });
        Ok(())
    }

    /// Protects the payloads of encoded appends, stream by stream.
    pub(crate) async fn protect_appends(&self, appends: &mut [StreamAppend]) -> Result<(), Error> {
        for append in appends {
            self.transform(
                Direction::Protect,
                append.stream_id,
                &mut append.events,
                |event| &mut event.payload,
            )
            .await?;
        }
        Ok(())
    }

    /// A snapshot of `aggregate` at its current version, encoded; protected
    /// later, by [`protect_snapshot`](Self::protect_snapshot). It must read
    /// back as `aggregate` ([`round_trip`](crate::round_trip)): one that
    /// would not is a [`SnapshotError::Encode`].
    pub(crate) fn encode_snapshot<A: Aggregate>(&self, aggregate: &A) -> Result<Snapshot, Error> {
        let meta = aggregate.meta();
        let header = EventHeader {
            stream_id: meta.id(),
            version: meta.version(),
            timestamp: meta.modified_on(),
        };
        let payload = aggregate
            .encode_snapshot(&self.codec)
            .and_then(|payload| {
                round_trip::check_snapshot(&self.codec, aggregate, &header, &payload)?;
                Ok(payload)
            })
            .map_err(|source| Error::Snapshot {
                aggregate: A::TYPE_NAME,
                stream_id: meta.id(),
                version: meta.version(),
                reason: SnapshotError::Encode(source),
            })?;
        Ok(Snapshot {
            stream_id: meta.id(),
            version: meta.version(),
            snapshot_type: A::TYPE_NAME.to_owned(),
            schema_version: A::STATE_VERSION,
            timestamp: meta.modified_on(),
            payload,
        })
    }

    /// Protects a snapshot's payload.
    pub(crate) async fn protect_snapshot(&self, snapshot: &mut Snapshot) -> Result<(), Error> {
        let stream_id = snapshot.stream_id;
        self.transform(
            Direction::Protect,
            stream_id,
            std::slice::from_mut(snapshot),
            |snapshot| &mut snapshot.payload,
        )
        .await
        .map_err(Error::from)
    }

    /// Rebuilds an aggregate from a stored snapshot: checks that it was
    /// taken of `A` (or of a type `A` was once named), unprotects, upcasts and
    /// decodes its state.
    pub(crate) async fn restore<A: Aggregate>(&self, mut snapshot: Snapshot) -> Result<A, Error> {
        let snapshot_error = |snapshot: &Snapshot, reason| Error::Snapshot {
            aggregate: A::TYPE_NAME,
            stream_id: snapshot.stream_id,
            version: snapshot.version,
            reason,
        };
        let type_name = snapshot.snapshot_type.as_str();
        if type_name != A::TYPE_NAME && !A::TYPE_ALIASES.contains(&type_name) {
            let stored = snapshot.snapshot_type.clone();
            return Err(snapshot_error(
                &snapshot,
                SnapshotError::WrongType { stored },
            ));
        }
        self.transform(
            Direction::Unprotect,
            snapshot.stream_id,
            std::slice::from_mut(&mut snapshot),
            |snapshot| &mut snapshot.payload,
        )
        .await?;
        let header = EventHeader {
            stream_id: snapshot.stream_id,
            version: snapshot.version,
            timestamp: snapshot.timestamp,
        };
        A::decode_snapshot(
            &self.codec,
            &header,
            snapshot.schema_version,
            &snapshot.payload,
        )
        .map_err(|source| snapshot_error(&snapshot, SnapshotError::Decode(source)))
    }

    /// Folds the records of one stream, oldest first, onto `aggregate` (or
    /// from nothing when `None`): unprotects their payloads, then
    /// [`replays`](Self::replay) each.
    pub(crate) async fn fold<A: Aggregate>(
        &self,
        mut aggregate: Option<A>,
        mut records: Vec<StoredEvent>,
    ) -> Result<Option<A>, Error> {
        if let Some(first) = records.first() {
            let stream_id = first.stream_id;
            self.transform(Direction::Unprotect, stream_id, &mut records, |record| {
                &mut record.payload
            })
            .await?;
        }
        for record in &records {
            self.replay(&mut aggregate, record.into())?;
        }
        Ok(aggregate)
    }

    /// Replays one stored event (its payload unprotected) onto the aggregate
    /// being rebuilt, or creates it from nothing when `None`: decodes the
    /// event and runs its body. The record's version must be the next one.
    pub(crate) fn replay<A: Aggregate>(
        &self,
        aggregate: &mut Option<A>,
        record: EventRef<'_>,
    ) -> Result<(), Error> {
        let replay_error = |source| Error::Replay {
            aggregate: A::TYPE_NAME,
            stream_id: record.stream_id,
            version: record.version,
            source,
        };
        let expected = aggregate.as_ref().map_or(1, |a| a.meta().version() + 1);
        if record.version != expected {
            return Err(replay_error(ApplyError::VersionGap {
                expected,
                found: record.version,
            }));
        }
        // The event as saved, when the store kept it (memory): equal to
        // what decoding the payload gives, since saves refuse events that
        // would not read back.
        let event: A::Event = match record.decoded.and_then(|d| d.downcast_ref::<A::Event>()) {
            Some(event) => event.clone(),
            None => self.decode_payload(record)?,
        };
        let header = EventHeader {
            stream_id: record.stream_id,
            version: record.version,
            timestamp: record.timestamp,
        };
        match aggregate {
            None => *aggregate = Some(A::create(&header, event).map_err(replay_error)?),
            Some(existing) => {
                existing.mutate(event).map_err(replay_error)?;
                existing.meta_mut().advance(&header);
            }
        }
        Ok(())
    }

    /// Runs the protection over the payloads of one stream's items, in
    /// place: the one place payloads are taken out of their records and put
    /// back. Nothing happens without a protection.
    async fn transform<T>(
        &self,
        direction: Direction,
        stream_id: Uuid,
        items: &mut [T],
        payload: fn(&mut T) -> &mut Vec<u8>,
    ) -> Result<(), ProtectionError> {
        let Some(protection) = &self.protection else {
            return Ok(());
        };
        if items.is_empty() {
            return Ok(());
        }
        let mut payloads: Vec<Vec<u8>> = items
            .iter_mut()
            .map(|item| std::mem::take(payload(item)))
            .collect();
        let result = match direction {
            Direction::Protect => protection.protect(stream_id, &mut payloads).await,
            Direction::Unprotect => protection.unprotect(stream_id, &mut payloads).await,
        };
        for (item, transformed) in items.iter_mut().zip(payloads) {
            *payload(item) = transformed;
        }
        result
    }
}
