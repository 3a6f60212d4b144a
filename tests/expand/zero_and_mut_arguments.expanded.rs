//! Events without arguments, and an event whose body takes `mut` arguments
//! (the public method does not show `mut`; the mutator keeps it).

use chronicle_es::prelude::*;

pub struct Counter {
    __state: CounterState,
    __meta: ::chronicle_es::__private::AggregateMeta<CounterEvent>,
}

/// The state of [`Counter`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `Counter`.
pub struct CounterState {
    count: u64,
    labels: Vec<String>,
}

impl ::chronicle_es::__private::Deref for Counter {
    type Target = CounterState;
    #[inline]
    fn deref(&self) -> &CounterState {
        &self.__state
    }
}

impl Counter {
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
    pub fn pending_events(
        &self,
    ) -> &[::chronicle_es::__private::Envelope<CounterEvent>] {
        self.__meta.pending_events()
    }
    /// Takes the pending events, oldest first, leaving none.
    pub fn collect_events(
        &mut self,
    ) -> ::chronicle_es::__private::Vec<
        ::chronicle_es::__private::Envelope<CounterEvent>,
    > {
        self.__meta.collect_events()
    }
}

impl Counter {
    #[doc(hidden)]
    const __TYPE_NAME: &'static ::chronicle_es::__private::str = "Counter";
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
            ::chronicle_es::__private::snapshots_disabled("Counter"),
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
                ::chronicle_es::__private::snapshots_disabled("Counter"),
            ),
        )
    }
}

const _: () = {
    ::chronicle_es::__private::assert_event_field::<String>();
    ::chronicle_es::__private::assert_event_field::<u8>();
};

/// The events of [`Counter`], one variant per `#[event]` method.
#[derive(
    ::core::fmt::Debug,
    ::chronicle_es::__private::Clone,
    ::core::cmp::PartialEq,
    ::chronicle_es::__private::serde::Serialize,
    ::chronicle_es::__private::serde::Deserialize,
)]
#[serde(crate = "::chronicle_es::__private::serde")]
pub enum CounterEvent {
    /// Recorded by [`Counter::start`].
    Start {},
    /// Recorded by [`Counter::increment`].
    Increment {},
    /// Recorded by [`Counter::label`].
    Labelled {
        /// The `label` argument of [`Counter::label`].
        label: String,
        /// The `times` argument of [`Counter::label`].
        times: u8,
    },
}

impl Counter {
    pub fn start() -> Self {
        let __id: ::chronicle_es::__private::Uuid = ::chronicle_es::__private::new_id();
        let __event = CounterEvent::Start {};
        Self {
            __state: CounterState::__event_start(),
            __meta: ::chronicle_es::__private::AggregateMeta::__record_created(
                __id,
                __event,
            ),
        }
    }
    pub fn increment(&mut self) {
        let __event = CounterEvent::Increment {};
        CounterState::__event_increment(&mut self.__state);
        self.__meta.__record(__event);
    }
    pub fn label(&mut self, label: String, times: u8) {
        let __event = CounterEvent::Labelled {
            label: ::chronicle_es::__private::Clone::clone(&label),
            times: ::chronicle_es::__private::Clone::clone(&times),
        };
        CounterState::__event_label(&mut self.__state, label, times);
        self.__meta.__record(__event);
    }
}

impl CounterState {
    #[doc(hidden)]
    fn __event_start() -> Self {
        Self {
            count: 0,
            labels: Vec::new(),
        }
    }
    #[doc(hidden)]
    fn __event_increment(&mut self) {
        self.count += 1;
    }
    #[doc(hidden)]
    fn __event_label(&mut self, mut label: String, mut times: u8) {
        label.make_ascii_uppercase();
        while times > 0 {
            self.labels.push(label.clone());
            times -= 1;
        }
    }
}

impl ::chronicle_es::__private::Aggregate for Counter {
    const TYPE_NAME: &'static ::chronicle_es::__private::str = Self::__TYPE_NAME;
    const TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = Self::__TYPE_ALIASES;
    const SNAPSHOTS: ::chronicle_es::__private::bool = Self::__SNAPSHOTS;
    const SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = Self::__SNAPSHOT_EVERY;
    const STATE_VERSION: ::chronicle_es::__private::u32 = Self::__STATE_VERSION;
    type Event = CounterEvent;
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
    fn meta(&self) -> &::chronicle_es::__private::AggregateMeta<CounterEvent> {
        &self.__meta
    }
    fn meta_mut(
        &mut self,
    ) -> &mut ::chronicle_es::__private::AggregateMeta<CounterEvent> {
        &mut self.__meta
    }
    fn create(
        header: &::chronicle_es::__private::EventHeader,
        event: CounterEvent,
    ) -> ::chronicle_es::__private::Result<Self, ::chronicle_es::__private::ApplyError> {
        match event {
            CounterEvent::Start {} => {
                ::chronicle_es::__private::Ok(Self {
                    __state: CounterState::__event_start(),
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
        event: CounterEvent,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        match event {
            CounterEvent::Increment {} => {
                CounterState::__event_increment(&mut self.__state);
                ::chronicle_es::__private::Ok(())
            }
            CounterEvent::Labelled { label, times } => {
                CounterState::__event_label(&mut self.__state, label, times);
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

impl Counter {
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
    Counter::__STATE_VERSION <= 1,
    "the state of `Counter` is at a version (#[aggregate(version = N)]) for which an #[upcast(state, from = 1)] function is missing: every version below N needs one"
);

const _: () = {
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __StartFields {}
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __StartOwned {}
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __IncrementFields {}
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __IncrementOwned {}
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __LabelledFields<'a> {
        label: &'a String,
        times: &'a u8,
    }
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __LabelledOwned {
        label: String,
        times: u8,
    }
    impl ::chronicle_es::__private::DomainEvent for CounterEvent {
        const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[
            "Start",
            "Increment",
            "Labelled",
        ];
        const ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
        fn event_type(&self) -> &'static ::chronicle_es::__private::str {
            match self {
                CounterEvent::Start { .. } => "Start",
                CounterEvent::Increment { .. } => "Increment",
                CounterEvent::Labelled { .. } => "Labelled",
            }
        }
        fn schema_version(&self) -> ::chronicle_es::__private::u32 {
            match self {
                CounterEvent::Start { .. } => 1,
                CounterEvent::Increment { .. } => 1,
                CounterEvent::Labelled { .. } => 1,
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
                CounterEvent::Start {} => codec.encode(&__StartFields {}),
                CounterEvent::Increment {} => codec.encode(&__IncrementFields {}),
                CounterEvent::Labelled { label, times } => {
                    codec.encode(&__LabelledFields { label, times })
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
                "Start" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __StartOwned {} = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(CounterEvent::Start {})
                }
                "Increment" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __IncrementOwned {} = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(CounterEvent::Increment {})
                }
                "Labelled" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __LabelledOwned { label, times } = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(CounterEvent::Labelled {
                        label,
                        times,
                    })
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
