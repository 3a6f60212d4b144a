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

#[automatically_derived]
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

#[automatically_derived]
impl ::chronicle_es::__private::Aggregate for Counter {
    const TYPE_NAME: &'static ::chronicle_es::__private::str = "Counter";
    const TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
    const SNAPSHOTS: ::chronicle_es::__private::bool = false;
    const SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = ::chronicle_es::__private::None;
    const STATE_VERSION: ::chronicle_es::__private::u32 = 1;
    type Event = CounterEvent;
    fn meta(&self) -> &::chronicle_es::__private::AggregateMeta<CounterEvent> {
        &self.__meta
    }
    fn __plain_event(__event: &CounterEvent) -> ::chronicle_es::__private::bool {
        <CounterEvent as ::chronicle_es::__private::AggregateEvents<
            Self,
        >>::plain(__event)
    }
    fn meta_mut(
        &mut self,
    ) -> &mut ::chronicle_es::__private::AggregateMeta<CounterEvent> {
        &mut self.__meta
    }
    fn create(
        __header: &::chronicle_es::__private::EventHeader,
        __event: CounterEvent,
    ) -> ::chronicle_es::__private::Result<Self, ::chronicle_es::__private::ApplyError> {
        <CounterEvent as ::chronicle_es::__private::AggregateEvents<
            Self,
        >>::create(__header, __event)
    }
    fn mutate(
        &mut self,
        __event: CounterEvent,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        <CounterEvent as ::chronicle_es::__private::AggregateEvents<
            Self,
        >>::mutate(self, __event)
    }
    fn encode_snapshot<__C: ::chronicle_es::__private::Codec>(
        &self,
        __codec: &__C,
    ) -> ::chronicle_es::__private::Result<
        ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
        ::chronicle_es::__private::CodecError,
    > {
        ::chronicle_es::__private::Err(
            ::chronicle_es::__private::snapshots_disabled("Counter"),
        )
    }
    fn decode_snapshot<__C: ::chronicle_es::__private::Codec>(
        __codec: &__C,
        __header: &::chronicle_es::__private::EventHeader,
        __schema_version: ::chronicle_es::__private::u32,
        __payload: &[::chronicle_es::__private::u8],
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

#[doc(hidden)]
#[allow(non_snake_case)]
mod __add_aggregate_above_struct_Counter {
    /// Carries what `#[aggregate] struct Counter` knows to `#[aggregate] impl Counter`. Its name is what rustc reports when the struct lacks `#[aggregate]`.
    #[allow(unused_macros)]
    macro_rules! bridge {
        (@ body $($body:tt)*) => {
            { #[allow(unused_imports)] use ::chronicle_es::__private as __chronicle_es;
            $($body)* }
        };
        (@ items $($items:tt)*) => {
            ::chronicle_es::__private::aggregate_impl! { { ::chronicle_es } { pub } {}
            $($items)* }
        };
    }
    pub(crate) use bridge;
    pub mod fallback {
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
        pub enum CounterEvent {}
    }
}

#[allow(unused_imports)]
use __add_aggregate_above_struct_Counter::bridge as __add_aggregate_above_struct_Counter;

#[allow(unused_imports)]
use __add_aggregate_above_struct_Counter::fallback::*;

#[automatically_derived]
impl ::chronicle_es::__private::DomainEvent
for __add_aggregate_above_struct_Counter::fallback::CounterEvent {
    const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[];
    const AGGREGATE_TYPE: &'static ::chronicle_es::__private::str = <Counter as ::chronicle_es::__private::Aggregate>::TYPE_NAME;
    fn event_type(&self) -> &'static ::chronicle_es::__private::str {
        match *self {}
    }
    fn schema_version(&self) -> ::chronicle_es::__private::u32 {
        match *self {}
    }
    fn encode_payload<__C: ::chronicle_es::__private::Codec>(
        &self,
        _: &__C,
    ) -> ::chronicle_es::__private::Result<
        ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
        ::chronicle_es::__private::CodecError,
    > {
        match *self {}
    }
    fn decode_payload<__C: ::chronicle_es::__private::Codec>(
        _: &__C,
        __event_type: &::chronicle_es::__private::str,
        _: ::chronicle_es::__private::u32,
        _: &[::chronicle_es::__private::u8],
    ) -> ::chronicle_es::__private::Result<
        Self,
        ::chronicle_es::__private::PayloadError,
    > {
        ::chronicle_es::__private::Err(::chronicle_es::__private::PayloadError::UnknownEventType {
            event_type: ::chronicle_es::__private::ToOwned::to_owned(__event_type),
        })
    }
}

#[automatically_derived]
impl ::chronicle_es::__private::AggregateEvents<Counter>
for __add_aggregate_above_struct_Counter::fallback::CounterEvent {
    fn create(
        _: &::chronicle_es::__private::EventHeader,
        __event: Self,
    ) -> ::chronicle_es::__private::Result<
        Counter,
        ::chronicle_es::__private::ApplyError,
    > {
        match __event {}
    }
    fn mutate(
        _: &mut Counter,
        __event: Self,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        match __event {}
    }
    fn upcast_state(
        _: ::chronicle_es::__private::u32,
        _: ::chronicle_es::__private::Value,
    ) -> ::chronicle_es::__private::Option<::chronicle_es::__private::Value> {
        ::chronicle_es::__private::None
    }
}

impl Counter {
    pub fn start() -> Self {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __id: __chronicle_es::Uuid = __chronicle_es::new_id();
            let __event = CounterEvent::Start {};
            let __state = match ::core::clone::Clone::clone(&__event) {
                CounterEvent::Start {} => CounterState::__event_start(),
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            };
            Self {
                __state: __state,
                __meta: __chronicle_es::AggregateMeta::__record_created(__id, __event),
            }
        }
    }
    pub fn increment(&mut self) {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __event = CounterEvent::Increment {};
            match ::core::clone::Clone::clone(&__event) {
                CounterEvent::Increment {} => {
                    CounterState::__event_increment(&mut self.__state)
                }
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            }
            self.__meta.__record(__event);
        }
    }
    pub fn label(&mut self, label: String, times: u8) {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __event = CounterEvent::Labelled {
                label,
                times,
            };
            match ::core::clone::Clone::clone(&__event) {
                CounterEvent::Labelled { label, times } => {
                    CounterState::__event_label(&mut self.__state, label, times)
                }
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            }
            self.__meta.__record(__event);
        }
    }
}

/// The events of [`Counter`], one variant per `#[event]` method.
#[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
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

const _: () = {
    struct __StartFields {}
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __StartFields {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Start",
                0,
            )?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __StartOwned {}
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __StartOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "Start";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &[];
        type Slots = ();
        fn empty_slots() -> Self::Slots {}
        fn read_field<__S: ::chronicle_es::__private::FieldSource<'de>>(
            __slots: &mut Self::Slots,
            __index: ::chronicle_es::__private::usize,
            __source: __S,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::bool,
            __S::Error,
        > {
            match __index {
                _ => ::chronicle_es::__private::Ok(true),
            }
        }
        fn finish<__E: ::chronicle_es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::chronicle_es::__private::Result<Self, __E> {
            ::chronicle_es::__private::Ok(Self {})
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __StartOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    struct __IncrementFields {}
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __IncrementFields {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Increment",
                0,
            )?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __IncrementOwned {}
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __IncrementOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "Increment";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &[];
        type Slots = ();
        fn empty_slots() -> Self::Slots {}
        fn read_field<__S: ::chronicle_es::__private::FieldSource<'de>>(
            __slots: &mut Self::Slots,
            __index: ::chronicle_es::__private::usize,
            __source: __S,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::bool,
            __S::Error,
        > {
            match __index {
                _ => ::chronicle_es::__private::Ok(true),
            }
        }
        fn finish<__E: ::chronicle_es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::chronicle_es::__private::Result<Self, __E> {
            ::chronicle_es::__private::Ok(Self {})
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __IncrementOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    struct __LabelledFields<'__a> {
        label: &'__a String,
        times: &'__a u8,
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __LabelledFields<'_> {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Labelled",
                2,
            )?;
            ::chronicle_es::__private::serialize_field::<
                String,
                _,
            >(&mut __fields, "label", self.label)?;
            ::chronicle_es::__private::serialize_field::<
                u8,
                _,
            >(&mut __fields, "times", self.times)?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __LabelledOwned {
        label: String,
        times: u8,
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __LabelledOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "Labelled";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &[
            "label",
            "times",
        ];
        type Slots = (
            ::chronicle_es::__private::Option<String>,
            ::chronicle_es::__private::Option<u8>,
        );
        fn empty_slots() -> Self::Slots {
            (::chronicle_es::__private::None, ::chronicle_es::__private::None)
        }
        fn read_field<__S: ::chronicle_es::__private::FieldSource<'de>>(
            __slots: &mut Self::Slots,
            __index: ::chronicle_es::__private::usize,
            __source: __S,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::bool,
            __S::Error,
        > {
            match __index {
                0 => {
                    if __slots.0.is_some() {
                        return ::chronicle_es::__private::Err(
                            ::chronicle_es::__private::duplicate_field("label"),
                        );
                    }
                    __slots.0 = ::chronicle_es::__private::deserialize_field::<
                        String,
                        __S,
                    >(__source)?;
                    ::chronicle_es::__private::Ok(__slots.0.is_some())
                }
                1 => {
                    if __slots.1.is_some() {
                        return ::chronicle_es::__private::Err(
                            ::chronicle_es::__private::duplicate_field("times"),
                        );
                    }
                    __slots.1 = ::chronicle_es::__private::deserialize_field::<
                        u8,
                        __S,
                    >(__source)?;
                    ::chronicle_es::__private::Ok(__slots.1.is_some())
                }
                _ => ::chronicle_es::__private::Ok(true),
            }
        }
        fn finish<__E: ::chronicle_es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::chronicle_es::__private::Result<Self, __E> {
            ::chronicle_es::__private::Ok(Self {
                label: match __slots.0 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                String,
                                _,
                            >(
                                ::chronicle_es::__private::MissingField::<__E>::new("label"),
                            )?,
                            "label",
                        )?
                    }
                },
                times: match __slots.1 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                u8,
                                _,
                            >(
                                ::chronicle_es::__private::MissingField::<__E>::new("times"),
                            )?,
                            "times",
                        )?
                    }
                },
            })
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __LabelledOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::DomainEvent for CounterEvent {
        const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[
            "Start",
            "Increment",
            "Labelled",
        ];
        const ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
        const AGGREGATE_TYPE: &'static ::chronicle_es::__private::str = <Counter as ::chronicle_es::__private::Aggregate>::TYPE_NAME;
        const AGGREGATE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = <Counter as ::chronicle_es::__private::Aggregate>::TYPE_ALIASES;
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
        fn encode_payload<__C: ::chronicle_es::__private::Codec>(
            &self,
            __codec: &__C,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
            ::chronicle_es::__private::CodecError,
        > {
            match self {
                CounterEvent::Start {} => {
                    ::chronicle_es::__private::Codec::encode(__codec, &__StartFields {})
                }
                CounterEvent::Increment {} => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__IncrementFields {},
                    )
                }
                CounterEvent::Labelled { label, times } => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__LabelledFields { label, times },
                    )
                }
            }
        }
        fn decode_payload<__C: ::chronicle_es::__private::Codec>(
            __codec: &__C,
            __event_type: &::chronicle_es::__private::str,
            __schema_version: ::chronicle_es::__private::u32,
            __payload: &[::chronicle_es::__private::u8],
        ) -> ::chronicle_es::__private::Result<
            Self,
            ::chronicle_es::__private::PayloadError,
        > {
            match __event_type {
                "Start" => {
                    let __StartOwned {} = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(CounterEvent::Start {})
                }
                "Increment" => {
                    let __IncrementOwned {} = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(CounterEvent::Increment {})
                }
                "Labelled" => {
                    let __LabelledOwned { label, times } = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(CounterEvent::Labelled {
                        label,
                        times,
                    })
                }
                _ => {
                    ::chronicle_es::__private::Err(::chronicle_es::__private::PayloadError::UnknownEventType {
                        event_type: ::chronicle_es::__private::ToOwned::to_owned(
                            __event_type,
                        ),
                    })
                }
            }
        }
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::AggregateEvents<Counter> for CounterEvent {
        fn plain(__event: &Self) -> ::chronicle_es::__private::bool {
            #[allow(unused_imports)]
            use ::chronicle_es::__private::{IsPlain as _, NotPlain as _};
            match __event {
                CounterEvent::Start { .. } => true,
                CounterEvent::Increment { .. } => true,
                CounterEvent::Labelled { .. } => {
                    (&&::chronicle_es::__private::PlainProbe::<String>::NEW).is_plain()
                        && (&&::chronicle_es::__private::PlainProbe::<u8>::NEW)
                            .is_plain()
                }
            }
        }
        fn create(
            __header: &::chronicle_es::__private::EventHeader,
            __event: Self,
        ) -> ::chronicle_es::__private::Result<
            Counter,
            ::chronicle_es::__private::ApplyError,
        > {
            match __event {
                CounterEvent::Start {} => {
                    ::chronicle_es::__private::Ok(Counter {
                        __state: CounterState::__event_start(),
                        __meta: ::chronicle_es::__private::AggregateMeta::__replayed(
                            __header,
                        ),
                    })
                }
                __other => {
                    ::chronicle_es::__private::Err(::chronicle_es::__private::ApplyError::NotACreationEvent {
                        event_type: ::chronicle_es::__private::DomainEvent::event_type(
                            &__other,
                        ),
                    })
                }
            }
        }
        fn mutate(
            __aggregate: &mut Counter,
            __event: Self,
        ) -> ::chronicle_es::__private::Result<
            (),
            ::chronicle_es::__private::ApplyError,
        > {
            match __event {
                CounterEvent::Increment {} => {
                    CounterState::__event_increment(&mut __aggregate.__state);
                    ::chronicle_es::__private::Ok(())
                }
                CounterEvent::Labelled { label, times } => {
                    CounterState::__event_label(&mut __aggregate.__state, label, times);
                    ::chronicle_es::__private::Ok(())
                }
                __other => {
                    ::chronicle_es::__private::Err(::chronicle_es::__private::ApplyError::UnexpectedCreationEvent {
                        event_type: ::chronicle_es::__private::DomainEvent::event_type(
                            &__other,
                        ),
                    })
                }
            }
        }
        fn upcast_state(
            __from: ::chronicle_es::__private::u32,
            __state: ::chronicle_es::__private::Value,
        ) -> ::chronicle_es::__private::Option<::chronicle_es::__private::Value> {
            match __from {
                _ => {
                    let _ = __state;
                    ::chronicle_es::__private::None
                }
            }
        }
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for CounterEvent {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            match self {
                CounterEvent::Start {} => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CounterEvent",
                        0,
                        "Start",
                        &__StartFields {},
                    )
                }
                CounterEvent::Increment {} => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CounterEvent",
                        1,
                        "Increment",
                        &__IncrementFields {},
                    )
                }
                CounterEvent::Labelled { label, times } => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CounterEvent",
                        2,
                        "Labelled",
                        &__LabelledFields { label, times },
                    )
                }
            }
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for CounterEvent {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_event_enum(__deserializer)
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::EventVariants<'de> for CounterEvent {
        const ENUM: &'static ::chronicle_es::__private::str = "CounterEvent";
        const VARIANTS: &'static [&'static ::chronicle_es::__private::str] = &[
            "Start",
            "Increment",
            "Labelled",
        ];
        fn deserialize_variant<
            __A: ::chronicle_es::__private::serde::de::VariantAccess<'de>,
        >(
            __index: ::chronicle_es::__private::usize,
            __variant: __A,
        ) -> ::chronicle_es::__private::Result<Self, __A::Error> {
            match __index {
                0 => {
                    let __StartOwned {} = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __StartOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(CounterEvent::Start {})
                }
                1 => {
                    let __IncrementOwned {} = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __IncrementOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(CounterEvent::Increment {})
                }
                2 => {
                    let __LabelledOwned { label, times } = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __LabelledOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(CounterEvent::Labelled {
                        label,
                        times,
                    })
                }
                _ => {
                    ::chronicle_es::__private::Err(
                        <__A::Error as ::chronicle_es::__private::serde::de::Error>::custom(
                            "unknown event index",
                        ),
                    )
                }
            }
        }
    }
};
