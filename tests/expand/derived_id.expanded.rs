//! Two creation events, one with an id derived from its arguments, and a
//! private aggregate.

use chronicle_es::prelude::*;

const NAMESPACE: Uuid = Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8);

#[derive(Debug)]
struct Customer {
    __state: CustomerState,
    __meta: ::chronicle_es::__private::AggregateMeta<CustomerEvent>,
}

/// The state of [`Customer`]: its fields, readable through `Deref`, changed only by the `#[event]` methods of `Customer`.
#[derive(Debug)]
struct CustomerState {
    email: String,
    name: Option<String>,
    active: bool,
}

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

impl Customer {
    #[doc(hidden)]
    const __TYPE_NAME: &'static ::chronicle_es::__private::str = "Customer";
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
            ::chronicle_es::__private::snapshots_disabled("Customer"),
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
                ::chronicle_es::__private::snapshots_disabled("Customer"),
            ),
        )
    }
}

const _: () = {
    ::chronicle_es::__private::assert_event_field::<String>();
    ::chronicle_es::__private::assert_event_field::<Option<String>>();
    ::chronicle_es::__private::assert_event_field::<String>();
};

/// The events of [`Customer`], one variant per `#[event]` method.
#[derive(
    ::core::fmt::Debug,
    ::chronicle_es::__private::Clone,
    ::core::cmp::PartialEq,
    ::chronicle_es::__private::serde::Serialize,
    ::chronicle_es::__private::serde::Deserialize,
)]
#[serde(crate = "::chronicle_es::__private::serde")]
pub enum CustomerEvent {
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

impl Customer {
    /// Signs a customer up; the same email always gives the same id.
    fn sign_up(email: String, name: Option<String>) -> Self {
        let __id: ::chronicle_es::__private::Uuid = Uuid::new_v5(
            &NAMESPACE,
            email.as_bytes(),
        );
        let __event = CustomerEvent::SignedUp {
            email: ::chronicle_es::__private::Clone::clone(&email),
            name: ::chronicle_es::__private::Clone::clone(&name),
        };
        Self {
            __state: CustomerState::__event_sign_up(email, name),
            __meta: ::chronicle_es::__private::AggregateMeta::__record_created(
                __id,
                __event,
            ),
        }
    }
    /// Imports a customer from the old system, with a fresh random id.
    fn import(email: String) -> Customer {
        let __id: ::chronicle_es::__private::Uuid = ::chronicle_es::__private::new_id();
        let __event = CustomerEvent::Imported {
            email: ::chronicle_es::__private::Clone::clone(&email),
        };
        Self {
            __state: CustomerState::__event_import(email),
            __meta: ::chronicle_es::__private::AggregateMeta::__record_created(
                __id,
                __event,
            ),
        }
    }
    fn activate(&mut self) {
        let __event = CustomerEvent::Activate {};
        CustomerState::__event_activate(&mut self.__state);
        self.__meta.__record(__event);
    }
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

impl ::chronicle_es::__private::Aggregate for Customer {
    const TYPE_NAME: &'static ::chronicle_es::__private::str = Self::__TYPE_NAME;
    const TYPE_ALIASES: &'static [&'static ::chronicle_es::__private::str] = Self::__TYPE_ALIASES;
    const SNAPSHOTS: ::chronicle_es::__private::bool = Self::__SNAPSHOTS;
    const SNAPSHOT_EVERY: ::chronicle_es::__private::Option<
        ::chronicle_es::__private::u64,
    > = Self::__SNAPSHOT_EVERY;
    const STATE_VERSION: ::chronicle_es::__private::u32 = Self::__STATE_VERSION;
    type Event = CustomerEvent;
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
    fn meta(&self) -> &::chronicle_es::__private::AggregateMeta<CustomerEvent> {
        &self.__meta
    }
    fn meta_mut(
        &mut self,
    ) -> &mut ::chronicle_es::__private::AggregateMeta<CustomerEvent> {
        &mut self.__meta
    }
    fn create(
        header: &::chronicle_es::__private::EventHeader,
        event: CustomerEvent,
    ) -> ::chronicle_es::__private::Result<Self, ::chronicle_es::__private::ApplyError> {
        match event {
            CustomerEvent::SignedUp { email, name } => {
                ::chronicle_es::__private::Ok(Self {
                    __state: CustomerState::__event_sign_up(email, name),
                    __meta: ::chronicle_es::__private::AggregateMeta::__replayed(header),
                })
            }
            CustomerEvent::Imported { email } => {
                ::chronicle_es::__private::Ok(Self {
                    __state: CustomerState::__event_import(email),
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
        event: CustomerEvent,
    ) -> ::chronicle_es::__private::Result<(), ::chronicle_es::__private::ApplyError> {
        match event {
            CustomerEvent::Activate {} => {
                CustomerState::__event_activate(&mut self.__state);
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

impl Customer {
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
    Customer::__STATE_VERSION <= 1,
    "the state of `Customer` is at a version (#[aggregate(version = N)]) for which an #[upcast(state, from = 1)] function is missing: every version below N needs one"
);

const _: () = {
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __SignedUpFields<'a> {
        email: &'a String,
        name: &'a Option<String>,
    }
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __SignedUpOwned {
        email: String,
        name: Option<String>,
    }
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __ImportedFields<'a> {
        email: &'a String,
    }
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __ImportedOwned {
        email: String,
    }
    #[derive(::chronicle_es::__private::serde::Serialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __ActivateFields {}
    #[derive(::chronicle_es::__private::serde::Deserialize)]
    #[serde(crate = "::chronicle_es::__private::serde")]
    struct __ActivateOwned {}
    impl ::chronicle_es::__private::DomainEvent for CustomerEvent {
        const EVENT_TYPES: &'static [&'static ::chronicle_es::__private::str] = &[
            "SignedUp",
            "Imported",
            "Activate",
        ];
        const ALIASES: &'static [&'static ::chronicle_es::__private::str] = &[];
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
        fn encode_payload<C: ::chronicle_es::__private::Codec>(
            &self,
            codec: &C,
        ) -> ::chronicle_es::__private::Result<
            ::chronicle_es::__private::Vec<::chronicle_es::__private::u8>,
            ::chronicle_es::__private::CodecError,
        > {
            match self {
                CustomerEvent::SignedUp { email, name } => {
                    codec.encode(&__SignedUpFields { email, name })
                }
                CustomerEvent::Imported { email } => {
                    codec.encode(&__ImportedFields { email })
                }
                CustomerEvent::Activate {} => codec.encode(&__ActivateFields {}),
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
                "SignedUp" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __SignedUpOwned { email, name } = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(CustomerEvent::SignedUp {
                        email,
                        name,
                    })
                }
                "Imported" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __ImportedOwned { email } = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(CustomerEvent::Imported { email })
                }
                "Activate" => {
                    ::chronicle_es::__private::check_schema_version(schema_version, 1)?;
                    let __ActivateOwned {} = codec.decode(payload)?;
                    ::chronicle_es::__private::Ok(CustomerEvent::Activate {})
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
