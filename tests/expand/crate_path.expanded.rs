//! `crate = "..."` names the library for generated code (a re-export here);
//! `Debug`, `Hash` and `Serialize` on the struct show the aggregate with its
//! identity in front; snapshots store the state.

use platform::es::aggregate;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Counter {
    __state: CounterState,
    __meta: ::platform::es::__private::AggregateMeta<CounterEvent>,
}

/// The state of [`Counter`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `Counter`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CounterState {
    count: u64,
}

#[automatically_derived]
impl ::platform::es::__private::Deref for Counter {
    type Target = CounterState;
    #[inline]
    fn deref(&self) -> &CounterState {
        &self.__state
    }
}

impl Counter {
    /// The aggregate's id.
    pub(crate) fn id(&self) -> ::platform::es::__private::Uuid {
        self.__meta.id()
    }
    /// The version of the last event (1 after creation).
    pub(crate) fn version(&self) -> ::platform::es::__private::u64 {
        self.__meta.version()
    }
    /// When the creation event happened.
    pub(crate) fn created_on(&self) -> ::platform::es::__private::Timestamp {
        self.__meta.created_on()
    }
    /// When the last event happened.
    pub(crate) fn modified_on(&self) -> ::platform::es::__private::Timestamp {
        self.__meta.modified_on()
    }
    /// Events recorded since the aggregate was last saved, oldest first.
    pub(crate) fn pending_events(
        &self,
    ) -> &[::platform::es::__private::Envelope<CounterEvent>] {
        self.__meta.pending_events()
    }
    /// Takes the pending events, oldest first, leaving none.
    pub(crate) fn collect_events(
        &mut self,
    ) -> ::platform::es::__private::Vec<
        ::platform::es::__private::Envelope<CounterEvent>,
    > {
        self.__meta.collect_events()
    }
}

#[automatically_derived]
impl ::platform::es::__private::Aggregate for Counter {
    const TYPE_NAME: &'static ::platform::es::__private::str = "Counter";
    const TYPE_ALIASES: &'static [&'static ::platform::es::__private::str] = &[];
    const SNAPSHOTS: ::platform::es::__private::bool = true;
    const SNAPSHOT_EVERY: ::platform::es::__private::Option<
        ::platform::es::__private::u64,
    > = ::platform::es::__private::Some(50);
    const STATE_VERSION: ::platform::es::__private::u32 = 1;
    type Event = CounterEvent;
    fn meta(&self) -> &::platform::es::__private::AggregateMeta<CounterEvent> {
        &self.__meta
    }
    fn __plain_event(__event: &CounterEvent) -> ::platform::es::__private::bool {
        <CounterEvent as ::platform::es::__private::AggregateEvents<
            Self,
        >>::plain(__event)
    }
    fn meta_mut(
        &mut self,
    ) -> &mut ::platform::es::__private::AggregateMeta<CounterEvent> {
        &mut self.__meta
    }
    fn create(
        __header: &::platform::es::__private::EventHeader,
        __event: CounterEvent,
    ) -> ::platform::es::__private::Result<Self, ::platform::es::__private::ApplyError> {
        <CounterEvent as ::platform::es::__private::AggregateEvents<
            Self,
        >>::create(__header, __event)
    }
    fn mutate(
        &mut self,
        __event: CounterEvent,
    ) -> ::platform::es::__private::Result<(), ::platform::es::__private::ApplyError> {
        <CounterEvent as ::platform::es::__private::AggregateEvents<
            Self,
        >>::mutate(self, __event)
    }
    fn encode_snapshot<__C: ::platform::es::__private::Codec>(
        &self,
        __codec: &__C,
    ) -> ::platform::es::__private::Result<
        ::platform::es::__private::Vec<::platform::es::__private::u8>,
        ::platform::es::__private::CodecError,
    > {
        (::platform::es::__private::snapshot_codec::<__C, CounterState>()
            .encode)(__codec, self.__meta.created_on().unix_micros(), &self.__state)
    }
    fn decode_snapshot<__C: ::platform::es::__private::Codec>(
        __codec: &__C,
        __header: &::platform::es::__private::EventHeader,
        __schema_version: ::platform::es::__private::u32,
        __payload: &[::platform::es::__private::u8],
    ) -> ::platform::es::__private::Result<
        Self,
        ::platform::es::__private::PayloadError,
    > {
        let __snapshot = (::platform::es::__private::snapshot_codec::<
            __C,
            CounterState,
        >()
            .decode)(
            __codec,
            __payload,
            __schema_version,
            <Self as ::platform::es::__private::Aggregate>::STATE_VERSION,
            <CounterEvent as ::platform::es::__private::AggregateEvents<
                Self,
            >>::upcast_state,
            true,
        )?;
        ::platform::es::__private::Ok(Self {
            __state: __snapshot.state,
            __meta: ::platform::es::__private::AggregateMeta::__from_snapshot(
                __header,
                __snapshot.created_on,
            ),
        })
    }
    fn __same_value(
        &self,
        __other: &Self,
    ) -> ::platform::es::__private::Option<::platform::es::__private::bool> {
        ::platform::es::__private::Some(::core::cmp::PartialEq::eq(self, __other))
    }
}

#[automatically_derived]
impl ::core::fmt::Debug for Counter {
    fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        let mut __builder = ::core::fmt::Formatter::debug_struct(__formatter, "Counter");
        ::core::fmt::DebugStruct::field(&mut __builder, "id", &self.__meta.id());
        ::core::fmt::DebugStruct::field(
            &mut __builder,
            "version",
            &self.__meta.version(),
        );
        ::core::fmt::DebugStruct::field(&mut __builder, "count", &self.__state.count);
        ::core::fmt::DebugStruct::finish(&mut __builder)
    }
}

#[automatically_derived]
impl ::core::hash::Hash for Counter {
    fn hash<__H: ::core::hash::Hasher>(&self, __hasher: &mut __H) {
        ::core::hash::Hash::hash(&self.__meta.id(), __hasher);
        ::core::hash::Hash::hash(&self.__meta.version(), __hasher);
        ::core::hash::Hash::hash(&self.__state.count, __hasher);
    }
}

const _: () = {
    #[derive(::platform::es::__private::serde::Serialize)]
    #[serde(crate = "::platform::es::__private::serde")]
    struct __Shown<'__a> {
        id: ::platform::es::__private::Uuid,
        version: ::platform::es::__private::u64,
        #[serde(flatten)]
        state: &'__a CounterState,
    }
    #[automatically_derived]
    impl ::platform::es::__private::serde::Serialize for Counter {
        fn serialize<__S: ::platform::es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::platform::es::__private::Result<__S::Ok, __S::Error> {
            ::platform::es::__private::serde::Serialize::serialize(
                &__Shown {
                    id: self.__meta.id(),
                    version: self.__meta.version(),
                    state: &self.__state,
                },
                __serializer,
            )
        }
    }
};

#[doc(hidden)]
#[allow(non_snake_case)]
mod __add_aggregate_above_struct_Counter {
    /// Carries what `#[aggregate] struct Counter` knows to `#[aggregate] impl Counter`. Its name is what rustc reports when the struct lacks `#[aggregate]`.
    #[allow(unused_macros)]
    macro_rules! bridge {
        (@ body $($body:tt)*) => {
            { #[allow(unused_imports)] use ::platform::es::__private as __chronicle_es;
            $($body)* }
        };
        (@ items $($items:tt)*) => {
            ::platform::es::__private::aggregate_impl! { { ::platform::es } { pub (crate)
            } {} $($items)* }
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
impl ::platform::es::__private::DomainEvent
for __add_aggregate_above_struct_Counter::fallback::CounterEvent {
    const EVENT_TYPES: &'static [&'static ::platform::es::__private::str] = &[];
    const AGGREGATE_TYPE: &'static ::platform::es::__private::str = <Counter as ::platform::es::__private::Aggregate>::TYPE_NAME;
    fn event_type(&self) -> &'static ::platform::es::__private::str {
        match *self {}
    }
    fn schema_version(&self) -> ::platform::es::__private::u32 {
        match *self {}
    }
    fn encode_payload<__C: ::platform::es::__private::Codec>(
        &self,
        _: &__C,
    ) -> ::platform::es::__private::Result<
        ::platform::es::__private::Vec<::platform::es::__private::u8>,
        ::platform::es::__private::CodecError,
    > {
        match *self {}
    }
    fn decode_payload<__C: ::platform::es::__private::Codec>(
        _: &__C,
        __event_type: &::platform::es::__private::str,
        _: ::platform::es::__private::u32,
        _: &[::platform::es::__private::u8],
    ) -> ::platform::es::__private::Result<
        Self,
        ::platform::es::__private::PayloadError,
    > {
        ::platform::es::__private::Err(::platform::es::__private::PayloadError::UnknownEventType {
            event_type: ::platform::es::__private::ToOwned::to_owned(__event_type),
        })
    }
}

#[automatically_derived]
impl ::platform::es::__private::AggregateEvents<Counter>
for __add_aggregate_above_struct_Counter::fallback::CounterEvent {
    fn create(
        _: &::platform::es::__private::EventHeader,
        __event: Self,
    ) -> ::platform::es::__private::Result<
        Counter,
        ::platform::es::__private::ApplyError,
    > {
        match __event {}
    }
    fn mutate(
        _: &mut Counter,
        __event: Self,
    ) -> ::platform::es::__private::Result<(), ::platform::es::__private::ApplyError> {
        match __event {}
    }
    fn upcast_state(
        _: ::platform::es::__private::u32,
        _: ::platform::es::__private::Value,
    ) -> ::platform::es::__private::Option<::platform::es::__private::Value> {
        ::platform::es::__private::None
    }
}

impl Counter {
    pub fn start() -> Self {
        {
            #[allow(unused_imports)]
            use ::platform::es::__private as __chronicle_es;
            let __id: __chronicle_es::Uuid = __chronicle_es::new_id();
            let __event = CounterEvent::Started {};
            let __state = match ::core::clone::Clone::clone(&__event) {
                CounterEvent::Started {} => CounterState::__event_start(),
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            };
            Self {
                __state: __state,
                __meta: __chronicle_es::AggregateMeta::__record_created(__id, __event),
            }
        }
    }
    pub fn increment(&mut self, by: u64) {
        {
            #[allow(unused_imports)]
            use ::platform::es::__private as __chronicle_es;
            let __event = CounterEvent::Incremented { by };
            match ::core::clone::Clone::clone(&__event) {
                CounterEvent::Incremented { by } => {
                    CounterState::__event_increment(&mut self.__state, by)
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
pub(crate) enum CounterEvent {
    /// Recorded by [`Counter::start`].
    Started {},
    /// Recorded by [`Counter::increment`].
    Incremented {
        /// The `by` argument of [`Counter::increment`].
        by: u64,
    },
}

impl CounterState {
    #[doc(hidden)]
    fn __event_start() -> Self {
        Self { count: 0 }
    }
    #[doc(hidden)]
    fn __event_increment(&mut self, by: u64) {
        self.count += by;
    }
}

const _: () = {
    struct __StartedFields {}
    #[automatically_derived]
    impl ::platform::es::__private::serde::Serialize for __StartedFields {
        fn serialize<__S: ::platform::es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::platform::es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::platform::es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Started",
                0,
            )?;
            ::platform::es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __StartedOwned {}
    #[automatically_derived]
    impl<'de> ::platform::es::__private::PayloadFields<'de> for __StartedOwned {
        const EVENT: &'static ::platform::es::__private::str = "Started";
        const FIELDS: &'static [&'static ::platform::es::__private::str] = &[];
        type Slots = ();
        fn empty_slots() -> Self::Slots {}
        fn read_field<__S: ::platform::es::__private::FieldSource<'de>>(
            __slots: &mut Self::Slots,
            __index: ::platform::es::__private::usize,
            __source: __S,
        ) -> ::platform::es::__private::Result<
            ::platform::es::__private::bool,
            __S::Error,
        > {
            match __index {
                _ => ::platform::es::__private::Ok(true),
            }
        }
        fn finish<__E: ::platform::es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::platform::es::__private::Result<Self, __E> {
            ::platform::es::__private::Ok(Self {})
        }
    }
    #[automatically_derived]
    impl<'de> ::platform::es::__private::serde::Deserialize<'de> for __StartedOwned {
        fn deserialize<__D: ::platform::es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::platform::es::__private::Result<Self, __D::Error> {
            ::platform::es::__private::deserialize_payload(__deserializer)
        }
    }
    struct __IncrementedFields<'__a> {
        by: &'__a u64,
    }
    #[automatically_derived]
    impl ::platform::es::__private::serde::Serialize for __IncrementedFields<'_> {
        fn serialize<__S: ::platform::es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::platform::es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::platform::es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Incremented",
                1,
            )?;
            ::platform::es::__private::serialize_field::<
                u64,
                _,
            >(&mut __fields, "by", self.by)?;
            ::platform::es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __IncrementedOwned {
        by: u64,
    }
    #[automatically_derived]
    impl<'de> ::platform::es::__private::PayloadFields<'de> for __IncrementedOwned {
        const EVENT: &'static ::platform::es::__private::str = "Incremented";
        const FIELDS: &'static [&'static ::platform::es::__private::str] = &["by"];
        type Slots = (::platform::es::__private::Option<u64>,);
        fn empty_slots() -> Self::Slots {
            (::platform::es::__private::None,)
        }
        fn read_field<__S: ::platform::es::__private::FieldSource<'de>>(
            __slots: &mut Self::Slots,
            __index: ::platform::es::__private::usize,
            __source: __S,
        ) -> ::platform::es::__private::Result<
            ::platform::es::__private::bool,
            __S::Error,
        > {
            match __index {
                0 => {
                    if __slots.0.is_some() {
                        return ::platform::es::__private::Err(
                            ::platform::es::__private::duplicate_field("by"),
                        );
                    }
                    __slots.0 = ::platform::es::__private::deserialize_field::<
                        u64,
                        __S,
                    >(__source)?;
                    ::platform::es::__private::Ok(__slots.0.is_some())
                }
                _ => ::platform::es::__private::Ok(true),
            }
        }
        fn finish<__E: ::platform::es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::platform::es::__private::Result<Self, __E> {
            ::platform::es::__private::Ok(Self {
                by: match __slots.0 {
                    ::platform::es::__private::Some(__value) => __value,
                    ::platform::es::__private::None => {
                        ::platform::es::__private::required(
                            ::platform::es::__private::deserialize_field::<
                                u64,
                                _,
                            >(
                                ::platform::es::__private::MissingField::<__E>::new("by"),
                            )?,
                            "by",
                        )?
                    }
                },
            })
        }
    }
    #[automatically_derived]
    impl<'de> ::platform::es::__private::serde::Deserialize<'de> for __IncrementedOwned {
        fn deserialize<__D: ::platform::es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::platform::es::__private::Result<Self, __D::Error> {
            ::platform::es::__private::deserialize_payload(__deserializer)
        }
    }
    #[automatically_derived]
    impl ::platform::es::__private::DomainEvent for CounterEvent {
        const EVENT_TYPES: &'static [&'static ::platform::es::__private::str] = &[
            "Started",
            "Incremented",
        ];
        const ALIASES: &'static [&'static ::platform::es::__private::str] = &[];
        const AGGREGATE_TYPE: &'static ::platform::es::__private::str = <Counter as ::platform::es::__private::Aggregate>::TYPE_NAME;
        const AGGREGATE_ALIASES: &'static [&'static ::platform::es::__private::str] = <Counter as ::platform::es::__private::Aggregate>::TYPE_ALIASES;
        fn event_type(&self) -> &'static ::platform::es::__private::str {
            match self {
                CounterEvent::Started { .. } => "Started",
                CounterEvent::Incremented { .. } => "Incremented",
            }
        }
        fn schema_version(&self) -> ::platform::es::__private::u32 {
            match self {
                CounterEvent::Started { .. } => 1,
                CounterEvent::Incremented { .. } => 1,
            }
        }
        fn encode_payload<__C: ::platform::es::__private::Codec>(
            &self,
            __codec: &__C,
        ) -> ::platform::es::__private::Result<
            ::platform::es::__private::Vec<::platform::es::__private::u8>,
            ::platform::es::__private::CodecError,
        > {
            match self {
                CounterEvent::Started {} => {
                    ::platform::es::__private::Codec::encode(
                        __codec,
                        &__StartedFields {},
                    )
                }
                CounterEvent::Incremented { by } => {
                    ::platform::es::__private::Codec::encode(
                        __codec,
                        &__IncrementedFields { by },
                    )
                }
            }
        }
        fn decode_payload<__C: ::platform::es::__private::Codec>(
            __codec: &__C,
            __event_type: &::platform::es::__private::str,
            __schema_version: ::platform::es::__private::u32,
            __payload: &[::platform::es::__private::u8],
        ) -> ::platform::es::__private::Result<
            Self,
            ::platform::es::__private::PayloadError,
        > {
            match __event_type {
                "Started" => {
                    let __StartedOwned {} = {
                        ::platform::es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::platform::es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::platform::es::__private::Ok(CounterEvent::Started {})
                }
                "Incremented" => {
                    let __IncrementedOwned { by } = {
                        ::platform::es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::platform::es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::platform::es::__private::Ok(CounterEvent::Incremented { by })
                }
                _ => {
                    ::platform::es::__private::Err(::platform::es::__private::PayloadError::UnknownEventType {
                        event_type: ::platform::es::__private::ToOwned::to_owned(
                            __event_type,
                        ),
                    })
                }
            }
        }
    }
    #[automatically_derived]
    impl ::platform::es::__private::AggregateEvents<Counter> for CounterEvent {
        fn plain(__event: &Self) -> ::platform::es::__private::bool {
            #[allow(unused_imports)]
            use ::platform::es::__private::{IsPlain as _, NotPlain as _};
            match __event {
                CounterEvent::Started { .. } => true,
                CounterEvent::Incremented { .. } => {
                    (&&::platform::es::__private::PlainProbe::<u64>::NEW).is_plain()
                }
            }
        }
        fn create(
            __header: &::platform::es::__private::EventHeader,
            __event: Self,
        ) -> ::platform::es::__private::Result<
            Counter,
            ::platform::es::__private::ApplyError,
        > {
            match __event {
                CounterEvent::Started {} => {
                    ::platform::es::__private::Ok(Counter {
                        __state: CounterState::__event_start(),
                        __meta: ::platform::es::__private::AggregateMeta::__replayed(
                            __header,
                        ),
                    })
                }
                __other => {
                    ::platform::es::__private::Err(::platform::es::__private::ApplyError::NotACreationEvent {
                        event_type: ::platform::es::__private::DomainEvent::event_type(
                            &__other,
                        ),
                    })
                }
            }
        }
        fn mutate(
            __aggregate: &mut Counter,
            __event: Self,
        ) -> ::platform::es::__private::Result<
            (),
            ::platform::es::__private::ApplyError,
        > {
            match __event {
                CounterEvent::Incremented { by } => {
                    CounterState::__event_increment(&mut __aggregate.__state, by);
                    ::platform::es::__private::Ok(())
                }
                __other => {
                    ::platform::es::__private::Err(::platform::es::__private::ApplyError::UnexpectedCreationEvent {
                        event_type: ::platform::es::__private::DomainEvent::event_type(
                            &__other,
                        ),
                    })
                }
            }
        }
        fn upcast_state(
            __from: ::platform::es::__private::u32,
            __state: ::platform::es::__private::Value,
        ) -> ::platform::es::__private::Option<::platform::es::__private::Value> {
            match __from {
                _ => {
                    let _ = __state;
                    ::platform::es::__private::None
                }
            }
        }
    }
    #[automatically_derived]
    impl ::platform::es::__private::serde::Serialize for CounterEvent {
        fn serialize<__S: ::platform::es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::platform::es::__private::Result<__S::Ok, __S::Error> {
            match self {
                CounterEvent::Started {} => {
                    ::platform::es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CounterEvent",
                        0,
                        "Started",
                        &__StartedFields {},
                    )
                }
                CounterEvent::Incremented { by } => {
                    ::platform::es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CounterEvent",
                        1,
                        "Incremented",
                        &__IncrementedFields { by },
                    )
                }
            }
        }
    }
    #[automatically_derived]
    impl<'de> ::platform::es::__private::serde::Deserialize<'de> for CounterEvent {
        fn deserialize<__D: ::platform::es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::platform::es::__private::Result<Self, __D::Error> {
            ::platform::es::__private::deserialize_event_enum(__deserializer)
        }
    }
    #[automatically_derived]
    impl<'de> ::platform::es::__private::EventVariants<'de> for CounterEvent {
        const ENUM: &'static ::platform::es::__private::str = "CounterEvent";
        const VARIANTS: &'static [&'static ::platform::es::__private::str] = &[
            "Started",
            "Incremented",
        ];
        fn deserialize_variant<
            __A: ::platform::es::__private::serde::de::VariantAccess<'de>,
        >(
            __index: ::platform::es::__private::usize,
            __variant: __A,
        ) -> ::platform::es::__private::Result<Self, __A::Error> {
            match __index {
                0 => {
                    let __StartedOwned {} = ::platform::es::__private::serde::de::VariantAccess::newtype_variant::<
                        __StartedOwned,
                    >(__variant)?;
                    ::platform::es::__private::Ok(CounterEvent::Started {})
                }
                1 => {
                    let __IncrementedOwned { by } = ::platform::es::__private::serde::de::VariantAccess::newtype_variant::<
                        __IncrementedOwned,
                    >(__variant)?;
                    ::platform::es::__private::Ok(CounterEvent::Incremented { by })
                }
                _ => {
                    ::platform::es::__private::Err(
                        <__A::Error as ::platform::es::__private::serde::de::Error>::custom(
                            "unknown event index",
                        ),
                    )
                }
            }
        }
    }
};
