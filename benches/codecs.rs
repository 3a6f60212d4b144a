//! Codecs and payload protection, each next to a JSON baseline measured in
//! the same run.
//!
//! `cargo bench --bench codecs --features msgpack,compression,encryption`
//! (or `--all-features`) prints:
//!
//! 1. **Codecs**: encode and decode throughput (events per second) and
//!    payload sizes of the Dog events with JSON and MessagePack, and their
//!    ratio to JSON;
//! 2. **Protection**: the cost of compressing and/or encrypting those
//!    payloads (JSON encode + protect + unprotect + decode, per event) and the
//!    stored size, against plain JSON encode + decode;
//! 3. **Application**: save and load through an `Application` on the memory
//!    store with each configuration, against the plain JSON application.
//!
//! Two payload shapes: "short" (a trick name, ~20 bytes of JSON, below the
//! compression threshold) and "long" (a trick with a ~600-byte description).
//! Every figure is the best of three rounds of at least 0.2 s each.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chronicle_es::prelude::*;
use chronicle_es::protect::PayloadProtection;
use chronicle_es::protect::{CipherKey, MemoryKeyStore, Protection};
use chronicle_es::store::MemoryStore;
use chronicle_es::{Codec, JsonCodec, MsgPackCodec};

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

const ROUNDS: usize = 3;
const MIN_ROUND: Duration = Duration::from_millis(200);

/// Events per second of `work`, which handles `events` events per call: the
/// best of [`ROUNDS`] rounds of at least [`MIN_ROUND`].
fn throughput(events: usize, mut work: impl FnMut()) -> f64 {
    work(); // warm up
    let mut best = 0.0f64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut calls = 0usize;
        while start.elapsed() < MIN_ROUND {
            work();
            calls += 1;
        }
        let rate = (calls * events) as f64 / start.elapsed().as_secs_f64();
        best = best.max(rate);
    }
    best
}

fn trick(index: usize, long: bool) -> String {
    if long {
        format!(
            "trick {index}: sit, then stay until the whistle; walk to heel past the ducks \
             without looking; fetch the red ball (not the blue one) from the far end of the \
             field and drop it in the basket; roll over twice to the left and once to the \
             right; balance a biscuit on the nose for {index} seconds; bark {index} times \
             when asked how many; then lie down, play dead and wait for the word 'release' \
             before getting up. Practise every morning for a week, with treats for each \
             step done right, before trying the whole sequence in front of the class."
        )
    } else {
        format!("roll over {index}")
    }
}

/// The events of one dog with `tricks` tricks.
fn dog_events(tricks: usize, long: bool) -> Vec<DogEvent> {
    let mut dog = Dog::register("Fido".into());
    for index in 0..tricks {
        dog.add_trick(trick(index, long));
    }
    dog.collect_events()
        .into_iter()
        .map(|envelope| envelope.event)
        .collect()
}

fn encode_all<C: Codec>(codec: &C, events: &[DogEvent]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|event| event.encode_payload(codec).unwrap())
        .collect()
}

fn decode_all<C: Codec>(codec: &C, events: &[DogEvent], payloads: &[Vec<u8>]) {
    for (event, payload) in events.iter().zip(payloads) {
        let decoded =
            DogEvent::decode_payload(codec, event.event_type(), event.schema_version(), payload)
                .unwrap();
        black_box(decoded);
    }
}

fn mean_size(payloads: &[Vec<u8>]) -> f64 {
    payloads.iter().map(Vec::len).sum::<usize>() as f64 / payloads.len() as f64
}

fn codecs(long: bool) {
    let events = dog_events(999, long);
    let n = events.len();
    let json = encode_all(&JsonCodec, &events);
    let msgpack = encode_all(&MsgPackCodec, &events);
    let rows = [
        (
            "json",
            throughput(n, || {
                black_box(encode_all(&JsonCodec, &events));
            }),
            throughput(n, || decode_all(&JsonCodec, &events, &json)),
            mean_size(&json),
        ),
        (
            "msgpack",
            throughput(n, || {
                black_box(encode_all(&MsgPackCodec, &events));
            }),
            throughput(n, || decode_all(&MsgPackCodec, &events, &msgpack)),
            mean_size(&msgpack),
        ),
    ];
    let (_, base_encode, base_decode, base_size) = rows[0];
    for (name, encode, decode, size) in rows {
        println!(
            "  {name:<8} encode {:>10.0} ev/s ({:.2}x)   decode {:>10.0} ev/s ({:.2}x)   {:>6.1} B/event ({:.2}x)",
            encode,
            encode / base_encode,
            decode,
            decode / base_decode,
            size,
            size / base_size,
        );
    }
}

/// Encode + protect + unprotect + decode, one stream batch of `events` at a time.
fn protected_round_trip(
    runtime: &tokio::runtime::Runtime,
    protection: &Protection,
    stream_id: Uuid,
    events: &[DogEvent],
) -> Vec<Vec<u8>> {
    let mut payloads = encode_all(&JsonCodec, events);
    runtime
        .block_on(protection.protect(stream_id, &mut payloads))
        .unwrap();
    let stored = payloads.clone();
    runtime
        .block_on(protection.unprotect(stream_id, &mut payloads))
        .unwrap();
    decode_all(&JsonCodec, events, &payloads);
    stored
}

fn protections() -> Vec<(&'static str, Protection)> {
    let key = CipherKey::from_bytes(&[7; 32]).unwrap();
    vec![
        ("compress", Protection::builder().compress().build()),
        (
            "encrypt",
            Protection::builder().encrypt(key.clone()).build(),
        ),
        (
            "compress+encrypt",
            Protection::builder()
                .compress()
                .encrypt(key.clone())
                .build(),
        ),
        (
            "per-stream keys",
            Protection::builder()
                .compress()
                .encrypt_per_stream(key, MemoryKeyStore::new())
                .build(),
        ),
    ]
}

fn protection_costs(runtime: &tokio::runtime::Runtime, long: bool) {
    // 100 events per stream batch, as an aggregate of 100 events is loaded.
    let events = dog_events(99, long);
    let n = events.len();
    let stream_id = Uuid::new_v4();
    let plain = encode_all(&JsonCodec, &events);
    let baseline = throughput(n, || {
        let payloads = encode_all(&JsonCodec, &events);
        decode_all(&JsonCodec, &events, &payloads);
    });
    let base_size = mean_size(&plain);
    println!(
        "  {:<17} {:>10.0} ev/s (1.00x)   {:>6.1} B/event (1.00x)",
        "json (baseline)", baseline, base_size
    );
    for (name, protection) in protections() {
        let stored = protected_round_trip(runtime, &protection, stream_id, &events);
        let rate = throughput(n, || {
            black_box(protected_round_trip(
                runtime,
                &protection,
                stream_id,
                &events,
            ));
        });
        let size = mean_size(&stored);
        println!(
            "  {name:<17} {rate:>10.0} ev/s ({:.2}x)   {size:>6.1} B/event ({:.2}x)",
            rate / baseline,
            size / base_size
        );
    }
}

/// Saves `dogs` dogs of `tricks` tricks (one save per dog), then loads each.
async fn save_and_load<C: Codec>(
    app: &Application<MemoryStore, C>,
    dogs: usize,
    tricks: usize,
    long: bool,
) {
    let mut ids = Vec::with_capacity(dogs);
    for index in 0..dogs {
        let mut dog = Dog::register(format!("Dog {index}"));
        for trick_index in 0..tricks {
            dog.add_trick(trick(trick_index, long));
        }
        app.save(&mut dog).await.unwrap();
        ids.push(dog.id());
    }
    for id in ids {
        black_box(app.get::<Dog>(id).await.unwrap());
    }
}

fn application(runtime: &tokio::runtime::Runtime, long: bool) {
    const DOGS: usize = 50;
    const TRICKS: usize = 19;
    let events = DOGS * (TRICKS + 1);
    let run = |make: &dyn Fn() -> Application<MemoryStore>| {
        throughput(events, || {
            let app = make();
            runtime.block_on(save_and_load(&app, DOGS, TRICKS, long));
        })
    };
    let baseline = run(&|| Application::in_memory());
    println!(
        "  {:<17} {:>10.0} ev/s (1.00x)",
        "json (baseline)", baseline
    );
    let msgpack = throughput(events, || {
        let app = Application::with_codec(MemoryStore::new(), MsgPackCodec);
        runtime.block_on(save_and_load(&app, DOGS, TRICKS, long));
    });
    println!(
        "  {:<17} {:>10.0} ev/s ({:.2}x)",
        "msgpack",
        msgpack,
        msgpack / baseline
    );
    for (name, protection) in protections() {
        let rate = run(&|| {
            Application::builder(MemoryStore::new())
                .protection(protection.clone())
                .build()
        });
        println!("  {name:<17} {rate:>10.0} ev/s ({:.2}x)", rate / baseline);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for long in [false, true] {
        let shape = if long { "long" } else { "short" };
        println!("codecs, {shape} payloads (1,000 Dog events: encode, decode, size)");
        codecs(long);
        println!("protection, {shape} payloads (JSON encode + protect + unprotect + decode, batches of 100 events)");
        protection_costs(&runtime, long);
        println!("application, {shape} payloads (memory store: 50 dogs x 20 events, save per dog, load each)");
        application(&runtime, long);
        println!();
    }
}
