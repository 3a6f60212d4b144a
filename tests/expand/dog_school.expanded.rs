//! The DogSchool aggregate of the README: one creation event, one event
//! with an argument, and an ordinary command method.

use chronicle_es::prelude::*;

/// A dog at the school.
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    __state: DogState,
    __meta: ::chronicle_es::__private::AggregateMeta<DogEvent>,
}

/// The state of [`Dog`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `Dog`.
#[derive(Debug, Clone, PartialEq)]
pub struct DogState {
    name: String,
    tricks: Vec<String>,
}

impl ::chronicle_es::__private::Deref for Dog {
    type Target = DogState;
    #[inline]
    fn deref(&self) -> &DogState {
        &self.__state
    }
}

impl Dog {
    /// The aggregate's id.
    pub fn id(&self) -> ::chronicle_es::__private::Uuid {
        self.__meta.id()
    }
    /// The version of the last event (1 after creation).
    pub fn version(&self) -> ::chronicle_es::__private::u64 {
        self.__meta.version()
    }
    /// When the creation event happened.
    pub fn created_on(&self) -> ::chronicle_es::__private::Timestamp {
        self.__meta.created_on()
    }
    /// When the last event happened.
    pub fn modified_on(&self) -> ::chronicle_es::__private::Timestamp {
        self.__meta.modified_on()
    }
    /// Events recorded since the aggregate was last saved, oldest first.
    pub fn pending_events(&self) -> &[::chronicle_es::__private::Envelope<DogEvent>] {
        self.__meta.pending_events()
    }
    /// Takes the pending events, oldest first, leaving none.
    pub fn collect_events(
        &mut self,
    ) -> ::chronicle_es::__private::Vec<::chronicle_es::__private::Envelope<DogEvent>> {
        self.__meta.collect_events()
    }
}

impl Dog {
    #[doc(hidden)]
    const __TYPE_NAME: &'static ::chronicle_es::__private::str = "Dog";
    #[doc(hidden)]
    const __TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
    #[doc(hidden)]
    const __SNAPSHOTS: ::chronicle_es::__private::bool = false;
    #[doc(hidden)]
    const __SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = ::chronicle_es::__private::None;
    #[doc(hidden)]
    const __STATE_VERSION: ::chronicle_es::__private::u32 = 1;
    #[doc(hidden)]
    fn __encode_snapshot<C: ::chronicle_es::__private::Codec>(
        &self,
        _codec: &C,
    ) -> ::chronicle_es::__private::Result<
        ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
        ::chronicle_es::__private::CodecError,
    > {
        ::chronicle_es::__private::Err(
            ::chronicle_es::__private::snapshots_disabled("Dog"),
        )
    }
    #[doc(hidden)]
    fn __decode_snapshot<C: ::chronicle_es::__private::Codec>(
        _codec: &C,
        _header: &::chronicle_es::__private::EventHeader,
        _schema_version: ::chronicle_es::__private::u32,
        _payload: &[::chronicle_es::__private::u8],
    ) -> ::chronicle_es::__private::Result<
        Self,
        ::chronicle_es::__private::PayloadError,
    > {
        ::chronicle_es::__private::Err(
            ::chronicle_es::__private::PayloadError::Codec(
                ::chronicle_es::__private::snapshots_disabled("Dog"),
            ),
        )
    }
}

const _: () = {
    ::chronicle_es::__private::assert_event_field::<String>();
    ::chronicle_es::__private::assert_event_field::<String>();
};

/// The events of [`Dog`], one variant per `#[event]` method.
#[derive(
    ::core::fmt::Debug,
    ::chronicle_es::__private::Clone,
    ::core::cmp::PartialEq,
    ::chronicle_es::__private::serde::Serialize,
    ::chronicle_es::__private::serde::Deserialize,
)]
#[serde(crate = "::chronicle_es::__private::serde")]
pub enum DogEvent {
    /// Recorded by [`Dog::register`].
    Registered {
        /// The `name` argument of [`Dog::register`].
        name: String,
    },
    /// Recorded by [`Dog::add_trick`].
    TrickAdded {
        /// The `trick` argument of [`Dog::add_trick`].
        trick: String,
    },
}

impl Dog {
    /// Registers a new dog.
    pub fn register(name: String) -> Self {
        let __id: ::chronicle_es::__private::Uuid = ::chronicle_es::__private::new_id();
        let __event = DogEvent::Registered {
            name: ::chronicle_es::__private::Clone::clone(&name),
        };
        Self {
            __state: DogState::__event_register(name),
            __meta: ::chronicle_es::__private::AggregateMeta::__record_created(
                __id,
                __event,
            ),
        }
    }
    /// Records that the dog learnt a trick.
    fn add_trick(&mut self, trick: String) {
        let __event = DogEvent::TrickAdded {
            trick: ::chronicle_es::__private::Clone::clone(&trick),
        };
        DogState::__event_add_trick(&mut self.__state, trick);
        self.__meta.__record(__event);
    }
    /// The command: rejects a trick the dog already knows.
    pub fn teach(&mut self, trick: &str) -> Result<(), String> {
        if self.tricks.iter().any(|known| known == trick) {
            return Err(format!("{} already knows {trick}", self.name));
        }
        self.add_trick(trick.to_owned());
        Ok(())
    }
}

impl DogState {
    #[doc(hidden)]
    fn __event_register(name: String) -> Self {
        Self { name, tricks: Vec::new() }
    }
    #[doc(hidden)]
    fn __event_add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

impl ::chronicle_es::__private::Aggregate for Dog {
    const TYPE_NAME: &'static ::chronicle_es::__private::str = Self::__TYPE_NAME;
    const TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = Self::__TYPE_ALIASES;
    const SNAPSHOTS: ::chronicle_es::__private::bool = Self::__SNAPSHOTS;
    const SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = Self::__SNAPSHOT_EVERY;
    const STATE_VERSION: ::chronicle_es::__private::u32 = Self::__STATE_VERSION;
    type Event = DogEvent;
    fn encode_snapshot<C: ::chronicle_es::__private::Codec>(
        &self,
        codec: &C,
    ) -> ::chronicle_es::__private::Result<
        ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
        ::chronicle_es::__private::CodecError,
    > {
        self.__encode_snapshot(codec)
    }
    fn decode_snapshot<C: ::chronicle_es::__private::Codec>(
        codec: &C,
        header: &::chronicle_es::__private::EventHeader,
        schema_version: ::chronicle_es::__private::u32,
        payload: &[::chronicle_es::__private::u8],
    ) -> ::chronicle_es::__private::Result<
        Self,
        ::chronicle_es::__private::PayloadError,
    > {
        Self::__decode_snapshot(codec, header, schema_version, payload)
    }
    fn meta(&self) -> &::chronicle_es::__private::AggregateMeta<DogEvent> {
        &self.__meta
    }
    fn meta_mut(&mut self) -> &mut ::chronicle_es::__private::AggregateMeta<DogEvent> {
        &mut self.__meta
    }
    fn create(
        header: &::chronicle_es::__private::EventHeader,
        event: DogEvent,
    ) -> ::chronicle_es::__private::Result<Self, ::chronicle_es::__private::ApplyError> {
        match event {
            DogEvent::Registered { name } => {
                ::chronicle_es::__private::Ok(Self {
                    __state: DogState::__event_register(name),
                    __meta: ::chronicle_es::__private::AggregateMeta::__replayed(header),
                })
            }
            other => {
                ::chronicle_es::__private::Err(::chronicle_es::__private::ApplyError::NotACreationEvent {
                    event_type: ::chronicle_es::__private::DomainEvent::event_type(
                        &other,
                    ),
                })
            }
        }
    }
    fn mutate(
        &mut self,
        event: DogEvent,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        match event {
            DogEvent::TrickAdded { trick } => {
                DogState::__event_add_trick(&mut self.__state, trick);
                ::chronicle_es::__private::Ok(())
            }
            other => {
                ::chronicle_es::__private::Err(::chronicle_es::__private::ApplyError::UnexpectedCreationEvent {
                    event_type: ::chronicle_es::__private::DomainEvent::event_type(
                        &other,
                    ),
                })
            }
        }
    }
}

impl Dog {
    #[doc(hidden)]
    fn __upcast_state(
        from: ::chronicle_es::__private::u32,
        state: ::chronicle_es::__private::Value,
    ) -> ::chronicle_es::__private::Option<::chronicle_es::__private::Value> {
        match from {
            _ => {
                let _ = state;
                ::chronicle_es::__private::None
            }
        }
    }
}

const _: () = ::core::assert!(
    Dog::__STATE_VERSION <= 1,
    "the state of `Dog` is at a version (#[aggregate(version = N)]) for which an #[upcast(state, from = 1)] function is missing: every version below N needs one"
);

const _: () = {
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __RegisteredFields<'a> {
        name: &'a String,
    }
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __RegisteredOwned {
        name: String,
    }
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __TrickAddedFields<'a> {
        trick: &'a String,
    }
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __TrickAddedOwned {
        trick: String,
    }
    impl ::chronicle_es::__private::DomainEvent for DogEvent {
        const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[
            "Registered",
            "TrickAdded",
        ];
        const ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
        fn event_type(&self) -> &'static ::chronicle_es::__private::str {
            match self {
                DogEvent::Registered { .. } => "Registered",
                DogEvent::TrickAdded { .. } => "TrickAdded",
            }
        }
        fn schema_version(&self) -> ::chronicle_es::__private::u32 {
            match self {
                DogEvent::Registered { .. } => 1,
                DogEvent::TrickAdded { .. } => 1,
            }
        }
        fn encode_payload<C: ::chronicle_es::__private::Codec>(
            &self,
            codec: &C,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
            ::chronicle_es::__private::CodecError,
        > {
            match self {
                DogEvent::Registered { name } => {
                    codec.encode(&__RegisteredFields { name })
                }
                DogEvent::TrickAdded { trick } => {
                    codec.encode(&__TrickAddedFields { trick })
                }
            }
        }
        fn decode_payload<C: ::chronicle_es::__private::Codec>(
            codec: &C,
            event_type: &::chronicle_es::__private::str,
            schema_version: ::chronicle_es::__private::u32,
            payload: &[::chronicle_es::__private::u8],
        ) -> ::chronicle_es::__private::Result<
            Self,
            ::chronicle_es::__private::PayloadError,
        > {
            match event_type {
                "Registered" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __RegisteredOwned { name } = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(DogEvent::Registered { name })
                }
                "TrickAdded" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __TrickAddedOwned { trick } = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(DogEvent::TrickAdded { trick })
                }
                _ => {
                    ::chronicle_es::__private::Err(::chronicle_es::__private::PayloadError::UnknownEventType {
                        event_type: ::chronicle_es::__private::ToOwned::to_owned(
                            event_type,
                        ),
                    })
                }
            }
        }
    }
};
