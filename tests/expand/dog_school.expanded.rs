//! The DogSchool aggregate of the README: one creation event, one event
//! with an argument, and an ordinary command method.

use chronicle_es::prelude::*;

/// A dog at the school.
#[derive(Clone, PartialEq)]
pub struct Dog {
    __state: DogState,
    __meta: ::chronicle_es::__private::AggregateMeta<DogEvent>,
}

/// The state of [`Dog`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `Dog`.
#[derive(Clone, PartialEq)]
pub struct DogState {
    name: String,
    tricks: Vec<String>,
}

#[automatically_derived]
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

#[automatically_derived]
impl ::chronicle_es::__private::Aggregate for Dog {
    const TYPE_NAME: &'static ::chronicle_es::__private::str = "Dog";
    const TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
    const SNAPSHOTS: ::chronicle_es::__private::bool = false;
    const SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = ::chronicle_es::__private::None;
    const STATE_VERSION: ::chronicle_es::__private::u32 = 1;
    type Event = DogEvent;
    fn meta(&self) -> &::chronicle_es::__private::AggregateMeta<DogEvent> {
        &self.__meta
    }
    fn __plain_event(__event: &DogEvent) -> ::chronicle_es::__private::bool {
        <DogEvent as ::chronicle_es::__private::AggregateEvents<Self>>::plain(__event)
    }
    fn meta_mut(&mut self) -> &mut ::chronicle_es::__private::AggregateMeta<DogEvent> {
        &mut self.__meta
    }
    fn create(
        __header: &::chronicle_es::__private::EventHeader,
        __event: DogEvent,
    ) -> ::chronicle_es::__private::Result<Self, ::chronicle_es::__private::ApplyError> {
        <DogEvent as ::chronicle_es::__private::AggregateEvents<
            Self,
        >>::create(__header, __event)
    }
    fn mutate(
        &mut self,
        __event: DogEvent,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        <DogEvent as ::chronicle_es::__private::AggregateEvents<
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
            ::chronicle_es::__private::snapshots_disabled("Dog"),
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
                ::chronicle_es::__private::snapshots_disabled("Dog"),
            ),
        )
    }
}

#[automatically_derived]
impl ::core::fmt::Debug for Dog {
    fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        let mut __builder = ::core::fmt::Formatter::debug_struct(__formatter, "Dog");
        ::core::fmt::DebugStruct::field(&mut __builder, "id", &self.__meta.id());
        ::core::fmt::DebugStruct::field(
            &mut __builder,
            "version",
            &self.__meta.version(),
        );
        ::core::fmt::DebugStruct::field(&mut __builder, "name", &self.__state.name);
        ::core::fmt::DebugStruct::field(&mut __builder, "tricks", &self.__state.tricks);
        ::core::fmt::DebugStruct::finish(&mut __builder)
    }
}

#[doc(hidden)]
#[allow(non_snake_case)]
mod __add_aggregate_above_struct_Dog {
    /// Carries what `#[aggregate] struct Dog` knows to `#[aggregate] impl Dog`. Its name is what rustc reports when the struct lacks `#[aggregate]`.
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
        pub enum DogEvent {}
    }
}

#[allow(unused_imports)]
use __add_aggregate_above_struct_Dog::bridge as __add_aggregate_above_struct_Dog;

#[allow(unused_imports)]
use __add_aggregate_above_struct_Dog::fallback::*;

#[automatically_derived]
impl ::chronicle_es::__private::DomainEvent
for __add_aggregate_above_struct_Dog::fallback::DogEvent {
    const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[];
    const AGGREGATE_TYPE: &'static ::chronicle_es::__private::str = <Dog as ::chronicle_es::__private::Aggregate>::TYPE_NAME;
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
impl ::chronicle_es::__private::AggregateEvents<Dog>
for __add_aggregate_above_struct_Dog::fallback::DogEvent {
    fn create(
        _: &::chronicle_es::__private::EventHeader,
        __event: Self,
    ) -> ::chronicle_es::__private::Result<Dog, ::chronicle_es::__private::ApplyError> {
        match __event {}
    }
    fn mutate(
        _: &mut Dog,
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

impl Dog {
    /// Registers a new dog.
    pub fn register(name: String) -> Self {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __id: __chronicle_es::Uuid = __chronicle_es::new_id();
            let __event = DogEvent::Registered { name };
            let __state = match ::core::clone::Clone::clone(&__event) {
                DogEvent::Registered { name } => DogState::__event_register(name),
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            };
            Self {
                __state: __state,
                __meta: __chronicle_es::AggregateMeta::__record_created(__id, __event),
            }
        }
    }
    /// Records that the dog learnt a trick.
    fn add_trick(&mut self, trick: String) {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __event = DogEvent::TrickAdded { trick };
            match ::core::clone::Clone::clone(&__event) {
                DogEvent::TrickAdded { trick } => {
                    DogState::__event_add_trick(&mut self.__state, trick)
                }
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            }
            self.__meta.__record(__event);
        }
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

/// The events of [`Dog`], one variant per `#[event]` method.
#[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
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

const _: () = {
    struct __RegisteredFields<'__a> {
        name: &'__a String,
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __RegisteredFields<'_> {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Registered",
                1,
            )?;
            ::chronicle_es::__private::serialize_field::<
                String,
                _,
            >(&mut __fields, "name", self.name)?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __RegisteredOwned {
        name: String,
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __RegisteredOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "Registered";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &["name"];
        type Slots = (::chronicle_es::__private::Option<String>,);
        fn empty_slots() -> Self::Slots {
            (::chronicle_es::__private::None,)
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
                            ::chronicle_es::__private::duplicate_field("name"),
                        );
                    }
                    __slots.0 = ::chronicle_es::__private::deserialize_field::<
                        String,
                        __S,
                    >(__source)?;
                    ::chronicle_es::__private::Ok(__slots.0.is_some())
                }
                _ => ::chronicle_es::__private::Ok(true),
            }
        }
        fn finish<__E: ::chronicle_es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::chronicle_es::__private::Result<Self, __E> {
            ::chronicle_es::__private::Ok(Self {
                name: match __slots.0 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                String,
                                _,
                            >(
                                ::chronicle_es::__private::MissingField::<__E>::new("name"),
                            )?,
                            "name",
                        )?
                    }
                },
            })
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __RegisteredOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    struct __TrickAddedFields<'__a> {
        trick: &'__a String,
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __TrickAddedFields<'_> {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "TrickAdded",
                1,
            )?;
            ::chronicle_es::__private::serialize_field::<
                String,
                _,
            >(&mut __fields, "trick", self.trick)?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __TrickAddedOwned {
        trick: String,
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __TrickAddedOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "TrickAdded";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &["trick"];
        type Slots = (::chronicle_es::__private::Option<String>,);
        fn empty_slots() -> Self::Slots {
            (::chronicle_es::__private::None,)
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
                            ::chronicle_es::__private::duplicate_field("trick"),
                        );
                    }
                    __slots.0 = ::chronicle_es::__private::deserialize_field::<
                        String,
                        __S,
                    >(__source)?;
                    ::chronicle_es::__private::Ok(__slots.0.is_some())
                }
                _ => ::chronicle_es::__private::Ok(true),
            }
        }
        fn finish<__E: ::chronicle_es::__private::serde::de::Error>(
            __slots: Self::Slots,
        ) -> ::chronicle_es::__private::Result<Self, __E> {
            ::chronicle_es::__private::Ok(Self {
                trick: match __slots.0 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                String,
                                _,
                            >(
                                ::chronicle_es::__private::MissingField::<__E>::new("trick"),
                            )?,
                            "trick",
                        )?
                    }
                },
            })
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __TrickAddedOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::DomainEvent for DogEvent {
        const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[
            "Registered",
            "TrickAdded",
        ];
        const ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
        const AGGREGATE_TYPE: &'static ::chronicle_es::__private::str = <Dog as ::chronicle_es::__private::Aggregate>::TYPE_NAME;
        const AGGREGATE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = <Dog as ::chronicle_es::__private::Aggregate>::TYPE_ALIASES;
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
        fn encode_payload<__C: ::chronicle_es::__private::Codec>(
            &self,
            __codec: &__C,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
            ::chronicle_es::__private::CodecError,
        > {
            match self {
                DogEvent::Registered { name } => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__RegisteredFields { name },
                    )
                }
                DogEvent::TrickAdded { trick } => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__TrickAddedFields { trick },
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
                "Registered" => {
                    let __RegisteredOwned { name } = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(DogEvent::Registered { name })
                }
                "TrickAdded" => {
                    let __TrickAddedOwned { trick } = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(DogEvent::TrickAdded { trick })
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
    impl ::chronicle_es::__private::AggregateEvents<Dog> for DogEvent {
        fn plain(__event: &Self) -> ::chronicle_es::__private::bool {
            #[allow(unused_imports)]
            use ::chronicle_es::__private::{IsPlain as _, NotPlain as _};
            match __event {
                DogEvent::Registered { .. } => {
                    (&&::chronicle_es::__private::PlainProbe::<String>::NEW).is_plain()
                }
                DogEvent::TrickAdded { .. } => {
                    (&&::chronicle_es::__private::PlainProbe::<String>::NEW).is_plain()
                }
            }
        }
        fn create(
            __header: &::chronicle_es::__private::EventHeader,
            __event: Self,
        ) -> ::chronicle_es::__private::Result<
            Dog,
            ::chronicle_es::__private::ApplyError,
        > {
            match __event {
                DogEvent::Registered { name } => {
                    ::chronicle_es::__private::Ok(Dog {
                        __state: DogState::__event_register(name),
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
            __aggregate: &mut Dog,
            __event: Self,
        ) -> ::chronicle_es::__private::Result<
            (),
            ::chronicle_es::__private::ApplyError,
        > {
            match __event {
                DogEvent::TrickAdded { trick } => {
                    DogState::__event_add_trick(&mut __aggregate.__state, trick);
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
    impl ::chronicle_es::__private::serde::Serialize for DogEvent {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            match self {
                DogEvent::Registered { name } => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "DogEvent",
                        0,
                        "Registered",
                        &__RegisteredFields { name },
                    )
                }
                DogEvent::TrickAdded { trick } => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "DogEvent",
                        1,
                        "TrickAdded",
                        &__TrickAddedFields { trick },
                    )
                }
            }
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for DogEvent {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_event_enum(__deserializer)
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::EventVariants<'de> for DogEvent {
        const ENUM: &'static ::chronicle_es::__private::str = "DogEvent";
        const VARIANTS: &'static [&'static ::chronicle_es::__private::str] = &[
            "Registered",
            "TrickAdded",
        ];
        fn deserialize_variant<
            __A: ::chronicle_es::__private::serde::de::VariantAccess<'de>,
        >(
            __index: ::chronicle_es::__private::usize,
            __variant: __A,
        ) -> ::chronicle_es::__private::Result<Self, __A::Error> {
            match __index {
                0 => {
                    let __RegisteredOwned { name } = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __RegisteredOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(DogEvent::Registered { name })
                }
                1 => {
                    let __TrickAddedOwned { trick } = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __TrickAddedOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(DogEvent::TrickAdded { trick })
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
