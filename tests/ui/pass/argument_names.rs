//! Event arguments may have any name, including the names generated code
//! uses for its own parameters and locals (`header`, `codec`, `event`,
//! `payload`, ...): those are mixed-site identifiers that no argument can
//! capture. Live calls, replay and snapshots all run here.

#![deny(warnings)]

use chronicle_es::prelude::*;
use serde::{Deserialize, Serialize};

#[aggregate(snapshots)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kennel {
    log: Vec<String>,
}

#[aggregate]
impl Kennel {
    #[event("Opened")]
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        header: String,
        codec: String,
        event: String,
        snapshot: String,
        state: String,
        meta: String,
        id: String,
        version: u64,
        pending: bool,
        payload: Vec<u8>,
        store: String,
    ) -> Self {
        let log = vec![
            header, codec, event, snapshot, state, meta, id,
            version.to_string(), pending.to_string(), payload.len().to_string(), store,
        ];
        Self { log }
    }

    #[event("Noted")]
    pub fn note(&mut self, header: String, codec: String, other: String, aggregate: String, from: u32) {
        self.log.extend([header, codec, other, aggregate, from.to_string()]);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), chronicle_es::Error> {
    let app = Application::in_memory();
    let s = |text: &str| text.to_owned();
    let mut kennel = Kennel::open(
        s("header"), s("codec"), s("event"), s("snapshot"), s("state"), s("meta"), s("id"),
        7, true, vec![1, 2], s("store"),
    );
    kennel.note(s("h"), s("c"), s("o"), s("a"), 3);
    app.save(&mut kennel).await?;
    let replayed: Kennel = app.get(kennel.id()).await?;
    assert_eq!(replayed, kennel);
    app.take_snapshot::<Kennel>(kennel.id()).await?;
    let from_snapshot: Kennel = app.get(kennel.id()).await?;
    assert_eq!(from_snapshot, kennel);
    assert_eq!(from_snapshot.log.len(), 16);
    assert_eq!(from_snapshot.log[..3], ["header", "codec", "event"]);
    Ok(())
}
