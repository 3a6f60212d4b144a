//! Two creation events, one with an id derived from its arguments, and a
//! private aggregate.

use chronicle_es::prelude::*;

const NAMESPACE: Uuid = Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8);

struct Customer {
    __state: CustomerState,
    __meta: ::chronicle_es::__private::AggregateMeta<CustomerEvent>,
}

/// The state of [`Customer`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `Customer`.
struct CustomerState {
    email: String,
    name: Option<String>,
    active: bool,
}

#[automatically_derived]
impl ::chronicle_es::__private::Deref for Customer {
    type Target = CustomerState;
    #[inline]
    fn deref(&self) -> &CustomerState {
        &self.__state
    }
}

impl Customer {
    /// The aggregate's id.
    fn id(&self) -> ::chronicle_es::__private::Uuid {
        self.__meta.id()
    }
    /// The version of the last event (1 after creation).
    fn version(&self) -> ::chronicle_es::__private::u64 {
        self.__meta.version()
    }
    /// When the creation event happened.
    fn created_on(&self) -> ::chronicle_es::__private::Timestamp {
        self.__meta.created_on()
    }
    /// When the last event happened.
    fn modified_on(&self) -> ::chronicle_es::__private::Timestamp {
        self.__meta.modified_on()
    }
    /// Events recorded since the aggregate was last saved, oldest first.
    fn pending_events(&self) -> &[::chronicle_es::__private::Envelope<CustomerEvent>] {
        self.__meta.pending_events()
    }
    /// Takes the pending events, oldest first, leaving none.
    fn collect_events(
        &mut self,
    ) -> ::chronicle_es::__private::Vec<
        ::chronicle_es::__private::Envelope<CustomerEvent>,
    > {
        self.__meta.collect_events()
    }
}

#[automatically_derived]
impl ::chronicle_es::__private::Aggregate for Customer {
    const TYPE_NAME: &'static ::chronicle_es::__private::str = "Customer";
    const TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
    const SNAPSHOTS: ::chronicle_es::__private::bool = false;
    const SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = ::chronicle_es::__private::None;
    const STATE_VERSION: ::chronicle_es::__private::u32 = 1;
    type Event = CustomerEvent;
    fn meta(&self) -> &::chronicle_es::__private::AggregateMeta<CustomerEvent> {
        &self.__meta
    }
    fn __plain_event(__event: &CustomerEvent) -> ::chronicle_es::__private::bool {
        <CustomerEvent as ::chronicle_es::__private::AggregateEvents<
            Self,
        >>::plain(__event)
    }
    fn meta_mut(
        &mut self,
    ) -> &mut ::chronicle_es::__private::AggregateMeta<CustomerEvent> {
        &mut self.__meta
    }
    fn create(
        __header: &::chronicle_es::__private::EventHeader,
        __event: CustomerEvent,
    ) -> ::chronicle_es::__private::Result<Self, ::chronicle_es::__private::ApplyError> {
        <CustomerEvent as ::chronicle_es::__private::AggregateEvents<
            Self,
        >>::create(__header, __event)
    }
    fn mutate(
        &mut self,
        __event: CustomerEvent,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        <CustomerEvent as ::chronicle_es::__private::AggregateEvents<
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
            ::chronicle_es::__private::snapshots_disabled("Customer"),
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
                ::chronicle_es::__private::snapshots_disabled("Customer"),
            ),
        )
    }
}

#[automatically_derived]
impl ::core::fmt::Debug for Customer {
    fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        let mut __builder = ::core::fmt::Formatter::debug_struct(
            __formatter,
            "Customer",
        );
        ::core::fmt::DebugStruct::field(&mut __builder, "id", &self.__meta.id());
        ::core::fmt::DebugStruct::field(
            &mut __builder,
            "version",
            &self.__meta.version(),
        );
        ::core::fmt::DebugStruct::field(&mut __builder, "email", &self.__state.email);
        ::core::fmt::DebugStruct::field(&mut __builder, "name", &self.__state.name);
        ::core::fmt::DebugStruct::field(&mut __builder, "active", &self.__state.active);
        ::core::fmt::DebugStruct::finish(&mut __builder)
    }
}

#[doc(hidden)]
#[allow(non_snake_case)]
mod __add_aggregate_above_struct_Customer {
    /// Carries what `#[aggregate] struct Customer` knows to `#[aggregate] impl Customer`. Its name is what rustc reports when the struct lacks `#[aggregate]`.
    #[allow(unused_macros)]
    macro_rules! bridge {
        (@ body $($body:tt)*) => {
            { #[allow(unused_imports)] use ::chronicle_es::__private as __chronicle_es;
            $($body)* }
        };
        (@ items $($items:tt)*) => {
            ::chronicle_es::__private::aggregate_impl! { { ::chronicle_es } {} {}
            $($items)* }
        };
    }
    pub(crate) use bridge;
    pub mod fallback {
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
        pub enum CustomerEvent {}
    }
}

#[allow(unused_imports)]
use __add_aggregate_above_struct_Customer::bridge as __add_aggregate_above_struct_Customer;

#[allow(unused_imports)]
use __add_aggregate_above_struct_Customer::fallback::*;

#[automatically_derived]
impl ::chronicle_es::__private::DomainEvent
for __add_aggregate_above_struct_Customer::fallback::CustomerEvent {
    const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[];
    const AGGREGATE_TYPE: &'static ::chronicle_es::__private::str = <Customer as ::chronicle_es::__private::Aggregate>::TYPE_NAME;
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
impl ::chronicle_es::__private::AggregateEvents<Customer>
for __add_aggregate_above_struct_Customer::fallback::CustomerEvent {
    fn create(
        _: &::chronicle_es::__private::EventHeader,
        __event: Self,
    ) -> ::chronicle_es::__private::Result<
        Customer,
        ::chronicle_es::__private::ApplyError,
    > {
        match __event {}
    }
    fn mutate(
        _: &mut Customer,
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

impl Customer {
    /// Signs a customer up; the same email always gives the same id.
    fn sign_up(email: String, name: Option<String>) -> Self {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __id: __chronicle_es::Uuid = Uuid::new_v5(&NAMESPACE, email.as_bytes());
            let __event = CustomerEvent::SignedUp {
                email,
                name,
            };
            let __state = match ::core::clone::Clone::clone(&__event) {
                CustomerEvent::SignedUp { email, name } => {
                    CustomerState::__event_sign_up(email, name)
                }
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            };
            Self {
                __state: __state,
                __meta: __chronicle_es::AggregateMeta::__record_created(__id, __event),
            }
        }
    }
    /// Imports a customer from the old system, with a fresh random id.
    fn import(email: String) -> Customer {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __id: __chronicle_es::Uuid = __chronicle_es::new_id();
            let __event = CustomerEvent::Imported { email };
            let __state = match ::core::clone::Clone::clone(&__event) {
                CustomerEvent::Imported { email } => CustomerState::__event_import(email),
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            };
            Self {
                __state: __state,
                __meta: __chronicle_es::AggregateMeta::__record_created(__id, __event),
            }
        }
    }
    fn activate(&mut self) {
        {
            #[allow(unused_imports)]
            use ::chronicle_es::__private as __chronicle_es;
            let __event = CustomerEvent::Activate {};
            match ::core::clone::Clone::clone(&__event) {
                CustomerEvent::Activate {} => {
                    CustomerState::__event_activate(&mut self.__state)
                }
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!(),
            }
            self.__meta.__record(__event);
        }
    }
}

/// The events of [`Customer`], one variant per `#[event]` method.
#[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq)]
enum CustomerEvent {
    /// Recorded by [`Customer::sign_up`].
    SignedUp {
        /// The `email` argument of [`Customer::sign_up`].
        email: String,
        /// The `name` argument of [`Customer::sign_up`].
        name: Option<String>,
    },
    /// Recorded by [`Customer::import`].
    Imported {
        /// The `email` argument of [`Customer::import`].
        email: String,
    },
    /// Recorded by [`Customer::activate`].
    Activate {},
}

impl CustomerState {
    #[doc(hidden)]
    fn __event_sign_up(email: String, name: Option<String>) -> Self {
        Self { email, name, active: true }
    }
    #[doc(hidden)]
    fn __event_import(email: String) -> Self {
        Self {
            email,
            name: None,
            active: false,
        }
    }
    #[doc(hidden)]
    fn __event_activate(&mut self) {
        self.active = true;
    }
}

const _: () = {
    struct __SignedUpFields<'__a> {
        email: &'__a String,
        name: &'__a Option<String>,
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __SignedUpFields<'_> {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "SignedUp",
                2,
            )?;
            ::chronicle_es::__private::serialize_field::<
                String,
                _,
            >(&mut __fields, "email", self.email)?;
            ::chronicle_es::__private::serialize_field::<
                Option<String>,
                _,
            >(&mut __fields, "name", self.name)?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __SignedUpOwned {
        email: String,
        name: Option<String>,
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __SignedUpOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "SignedUp";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &[
            "email",
            "name",
        ];
        type Slots = (
            ::chronicle_es::__private::Option<String>,
            ::chronicle_es::__private::Option<Option<String>>,
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
                            ::chronicle_es::__private::duplicate_field("email"),
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
                            ::chronicle_es::__private::duplicate_field("name"),
                        );
                    }
                    __slots.1 = ::chronicle_es::__private::deserialize_field::<
                        Option<String>,
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
                email: match __slots.0 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                String,
                                _,
                            >(
                                ::chronicle_es::__private::MissingField::<__E>::new("email"),
                            )?,
                            "email",
                        )?
                    }
                },
                name: match __slots.1 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                Option<String>,
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
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __SignedUpOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    struct __ImportedFields<'__a> {
        email: &'__a String,
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __ImportedFields<'_> {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Imported",
                1,
            )?;
            ::chronicle_es::__private::serialize_field::<
                String,
                _,
            >(&mut __fields, "email", self.email)?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __ImportedOwned {
        email: String,
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __ImportedOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "Imported";
        const FIELDS: &'static [&'static ::chronicle_es::__private::str] = &["email"];
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
                            ::chronicle_es::__private::duplicate_field("email"),
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
                email: match __slots.0 {
                    ::chronicle_es::__private::Some(__value) => __value,
                    ::chronicle_es::__private::None => {
                        ::chronicle_es::__private::required(
                            ::chronicle_es::__private::deserialize_field::<
                                String,
                                _,
                            >(
                                ::chronicle_es::__private::MissingField::<__E>::new("email"),
                            )?,
                            "email",
                        )?
                    }
                },
            })
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __ImportedOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    struct __ActivateFields {}
    #[automatically_derived]
    impl ::chronicle_es::__private::serde::Serialize for __ActivateFields {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            let mut __fields = ::chronicle_es::__private::serde::Serializer::serialize_struct(
                __serializer,
                "Activate",
                0,
            )?;
            ::chronicle_es::__private::serde::ser::SerializeStruct::end(__fields)
        }
    }
    struct __ActivateOwned {}
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::PayloadFields<'de> for __ActivateOwned {
        const EVENT: &'static ::chronicle_es::__private::str = "Activate";
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
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for __ActivateOwned {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_payload(__deserializer)
        }
    }
    #[automatically_derived]
    impl ::chronicle_es::__private::DomainEvent for CustomerEvent {
        const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[
            "SignedUp",
            "Imported",
            "Activate",
        ];
        const ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
        const AGGREGATE_TYPE: &'static ::chronicle_es::__private::str = <Customer as ::chronicle_es::__private::Aggregate>::TYPE_NAME;
        const AGGREGATE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = <Customer as ::chronicle_es::__private::Aggregate>::TYPE_ALIASES;
        fn event_type(&self) -> &'static ::chronicle_es::__private::str {
            match self {
                CustomerEvent::SignedUp { .. } => "SignedUp",
                CustomerEvent::Imported { .. } => "Imported",
                CustomerEvent::Activate { .. } => "Activate",
            }
        }
        fn schema_version(&self) -> ::chronicle_es::__private::u32 {
            match self {
                CustomerEvent::SignedUp { .. } => 1,
                CustomerEvent::Imported { .. } => 1,
                CustomerEvent::Activate { .. } => 1,
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
                CustomerEvent::SignedUp { email, name } => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__SignedUpFields { email, name },
                    )
                }
                CustomerEvent::Imported { email } => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__ImportedFields { email },
                    )
                }
                CustomerEvent::Activate {} => {
                    ::chronicle_es::__private::Codec::encode(
                        __codec,
                        &__ActivateFields {},
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
                "SignedUp" => {
                    let __SignedUpOwned { email, name } = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(CustomerEvent::SignedUp {
                        email,
                        name,
                    })
                }
                "Imported" => {
                    let __ImportedOwned { email } = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(CustomerEvent::Imported { email })
                }
                "Activate" => {
                    let __ActivateOwned {} = {
                        ::chronicle_es::__private::check_schema_version(
                            __schema_version,
                            1,
                        )?;
                        ::chronicle_es::__private::Codec::decode(__codec, __payload)?
                    };
                    ::chronicle_es::__private::Ok(CustomerEvent::Activate {})
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
    impl ::chronicle_es::__private::AggregateEvents<Customer> for CustomerEvent {
        fn plain(__event: &Self) -> ::chronicle_es::__private::bool {
            #[allow(unused_imports)]
            use ::chronicle_es::__private::{IsPlain as _, NotPlain as _};
            match __event {
                CustomerEvent::SignedUp { .. } => {
                    (&&::chronicle_es::__private::PlainProbe::<String>::NEW).is_plain()
                        && (&&::chronicle_es::__private::PlainProbe::<
                            Option<String>,
                        >::NEW)
                            .is_plain()
                }
                CustomerEvent::Imported { .. } => {
                    (&&::chronicle_es::__private::PlainProbe::<String>::NEW).is_plain()
                }
                CustomerEvent::Activate { .. } => true,
            }
        }
        fn create(
            __header: &::chronicle_es::__private::EventHeader,
            __event: Self,
        ) -> ::chronicle_es::__private::Result<
            Customer,
            ::chronicle_es::__private::ApplyError,
        > {
            match __event {
                CustomerEvent::SignedUp { email, name } => {
                    ::chronicle_es::__private::Ok(Customer {
                        __state: CustomerState::__event_sign_up(email, name),
                        __meta: ::chronicle_es::__private::AggregateMeta::__replayed(
                            __header,
                        ),
                    })
                }
                CustomerEvent::Imported { email } => {
                    ::chronicle_es::__private::Ok(Customer {
                        __state: CustomerState::__event_import(email),
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
            __aggregate: &mut Customer,
            __event: Self,
        ) -> ::chronicle_es::__private::Result<
            (),
            ::chronicle_es::__private::ApplyError,
        > {
            match __event {
                CustomerEvent::Activate {} => {
                    CustomerState::__event_activate(&mut __aggregate.__state);
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
    impl ::chronicle_es::__private::serde::Serialize for CustomerEvent {
        fn serialize<__S: ::chronicle_es::__private::serde::Serializer>(
            &self,
            __serializer: __S,
        ) -> ::chronicle_es::__private::Result<__S::Ok, __S::Error> {
            match self {
                CustomerEvent::SignedUp { email, name } => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CustomerEvent",
                        0,
                        "SignedUp",
                        &__SignedUpFields { email, name },
                    )
                }
                CustomerEvent::Imported { email } => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CustomerEvent",
                        1,
                        "Imported",
                        &__ImportedFields { email },
                    )
                }
                CustomerEvent::Activate {} => {
                    ::chronicle_es::__private::serde::Serializer::serialize_newtype_variant(
                        __serializer,
                        "CustomerEvent",
                        2,
                        "Activate",
                        &__ActivateFields {},
                    )
                }
            }
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::serde::Deserialize<'de> for CustomerEvent {
        fn deserialize<__D: ::chronicle_es::__private::serde::Deserializer<'de>>(
            __deserializer: __D,
        ) -> ::chronicle_es::__private::Result<Self, __D::Error> {
            ::chronicle_es::__private::deserialize_event_enum(__deserializer)
        }
    }
    #[automatically_derived]
    impl<'de> ::chronicle_es::__private::EventVariants<'de> for CustomerEvent {
        const ENUM: &'static ::chronicle_es::__private::str = "CustomerEvent";
        const VARIANTS: &'static [&'static ::chronicle_es::__private::str] = &[
            "SignedUp",
            "Imported",
            "Activate",
        ];
        fn deserialize_variant<
            __A: ::chronicle_es::__private::serde::de::VariantAccess<'de>,
        >(
            __index: ::chronicle_es::__private::usize,
            __variant: __A,
        ) -> ::chronicle_es::__private::Result<Self, __A::Error> {
            match __index {
                0 => {
                    let __SignedUpOwned { email, name } = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __SignedUpOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(CustomerEvent::SignedUp {
                        email,
                        name,
                    })
                }
                1 => {
                    let __ImportedOwned { email } = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __ImportedOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(CustomerEvent::Imported { email })
                }
                2 => {
                    let __ActivateOwned {} = ::chronicle_es::__private::serde::de::VariantAccess::newtype_variant::<
                        __ActivateOwned,
                    >(__variant)?;
                    ::chronicle_es::__private::Ok(CustomerEvent::Activate {})
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
