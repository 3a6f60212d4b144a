use super::*;

fn new_event(n: u8) -> NewEvent {
    NewEvent {
        event_id: Uuid::from_u128(u128::from(n)),
        aggregate_type: "Dog".into(),
        event_type: "TrickAdded".into(),
        schema_version: 1,
        timestamp: Timestamp::from_unix_micros(1_000 + i64::from(n)),
        metadata: Metadata::new().with("user", "ann"),
        payload: vec![n; 3],
        chain_hash: None,
    }
}

/// `count` events of one stream, linked, as stored.
fn stored(stream_id: Uuid, count: u8) -> Vec<StoredEvent> {
    let mut events: Vec<NewEvent> = (1..=count).map(new_event).collect();
    link_new(stream_id, 0, None, &mut events);
    events
        .into_iter()
        .zip(1..)
        .map(|(event, version)| event.into_stored(version, stream_id, version))
        .collect()
}

fn verify(
    events: &[StoredEvent],
    verifier: ChainVerifier,
) -> Result<Option<StreamHead>, ChainBreak> {
    let mut verifier = verifier;
    for event in events {
        verifier.check(event)?;
    }
    verifier.finish()
}

#[test]
fn hashes_print_and_parse_as_hex() {
    let hash = ChainHash::from_bytes([0xab; 32]);
    assert_eq!(hash.to_string(), "ab".repeat(32));
    assert_eq!("ab".repeat(32).parse::<ChainHash>().unwrap(), hash);
    for bad in ["", "ab", &"zz".repeat(32), &"é".repeat(32)] {
        assert!(bad.parse::<ChainHash>().is_err(), "{bad}");
    }
    assert_eq!(ChainHash::from_slice(&[1; 31]), None);
}

#[test]
fn every_covered_field_changes_the_hash() {
    let stream = Uuid::from_u128(9);
    let base = stored(stream, 1).remove(0);
    let hash = |event: &StoredEvent| Covered::from(event).link(&ChainHash::GENESIS);
    let changes: [fn(&mut StoredEvent); 10] = [
        |e| e.stream_id = Uuid::from_u128(10),
        |e| e.version = 2,
        |e| e.event_id = Uuid::from_u128(99),
        |e| e.aggregate_type = Some("Cat".into()),
        |e| e.event_type = "Registered".into(),
        |e| e.schema_version = 2,
        |e| e.timestamp = Timestamp::from_unix_micros(0),
        |e| e.metadata = Metadata::new().with("user", "bob"),
        |e| e.metadata.correlation_id = Some(Uuid::from_u128(1)),
        |e| e.payload.push(0),
    ];
    for (index, change) in changes.iter().enumerate() {
        let mut changed = base.clone();
        change(&mut changed);
        assert_ne!(hash(&changed), hash(&base), "change {index}");
    }
    // Not covered: where the store put it in the log.
    let moved = StoredEvent {
        position: 77,
        ..base.clone()
    };
    assert_eq!(hash(&moved), hash(&base));
    // Field boundaries are not ambiguous.
    let mut a = base.clone();
    let mut b = base.clone();
    (a.event_type, a.payload) = ("Ab".into(), b"c".to_vec());
    (b.event_type, b.payload) = ("A".into(), b"bc".to_vec());
    assert_ne!(hash(&a), hash(&b));
}

#[test]
fn a_linked_stream_verifies_and_gives_its_head() {
    let stream = Uuid::from_u128(1);
    let events = stored(stream, 4);
    let head = verify(&events, ChainVerifier::new(stream))
        .unwrap()
        .unwrap();
    assert_eq!((head.version, head.hash), (4, events[3].chain_hash));
    // From a trusted head, the rest.
    let after = StreamHead {
        stream_id: stream,
        version: 2,
        hash: events[1].chain_hash,
    };
    assert_eq!(
        verify(&events[2..], ChainVerifier::after(after)).unwrap(),
        Some(head)
    );
    // Linking a later append continues the same chain.
    let mut more = vec![new_event(5)];
    link_new(stream, 4, events[3].chain_hash, &mut more);
    let mut whole = stored(stream, 5);
    whole[4].chain_hash = more[0].chain_hash;
    assert!(verify(&whole, ChainVerifier::new(stream)).is_ok());
}

#[test]
fn faults_are_named_at_the_first_bad_version() {
    let stream = Uuid::from_u128(1);
    let events = stored(stream, 4);
    let at = |events: &[StoredEvent]| {
        let error = verify(events, ChainVerifier::new(stream)).unwrap_err();
        (error.version, error.fault)
    };
    let mut gap = events.clone();
    gap.remove(1);
    assert_eq!(at(&gap), (2, ChainFault::UnexpectedVersion { found: 3 }));
    let mut changed = events.clone();
    changed[2].payload[0] ^= 1;
    assert_eq!(at(&changed), (3, ChainFault::Mismatch));
    let mut stripped = events.clone();
    stripped[3].chain_hash = None;
    assert_eq!(at(&stripped), (4, ChainFault::Missing));
    let mut elsewhere = events.clone();
    elsewhere[0].stream_id = Uuid::from_u128(2);
    assert_eq!(
        at(&elsewhere),
        (
            1,
            ChainFault::WrongStream {
                found: Uuid::from_u128(2)
            }
        )
    );

    let head = StreamHead {
        stream_id: stream,
        version: 4,
        hash: events[3].chain_hash,
    };
    let truncated = verify(&events[..3], ChainVerifier::new(stream).anchored(head)).unwrap_err();
    assert_eq!(
        (truncated.version, truncated.fault),
        (4, ChainFault::Truncated { last: 3 })
    );
    let other = StreamHead {
        hash: Some(ChainHash::GENESIS),
        ..head
    };
    let mismatch = verify(&events, ChainVerifier::new(stream).anchored(other)).unwrap_err();
    assert_eq!(mismatch.version, 4);
    assert!(matches!(mismatch.fault, ChainFault::AnchorMismatch { .. }));
    assert_eq!(
        mismatch.to_string(),
        format!(
            "hash chain of stream {stream} broken at version 4: the hash differs from the anchored head's ({})",
            ChainHash::GENESIS
        )
    );
}

#[test]
fn unhashed_events_before_the_first_hashed_one_are_not_covered() {
    let stream = Uuid::from_u128(1);
    let mut events = stored(stream, 3);
    let mut later = vec![new_event(3)];
    link_new(stream, 2, None, &mut later);
    events[0].chain_hash = None;
    events[1].chain_hash = None;
    events[2].chain_hash = later[0].chain_hash;
    assert!(verify(&events, ChainVerifier::new(stream)).is_ok());
}
