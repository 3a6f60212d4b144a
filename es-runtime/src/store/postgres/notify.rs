//! Wake-ups for followers: appends notify the schema's channel when they
//! commit events while a listener is registered, and a lazily started task
//! holds one dedicated connection, registered (`chronicle_listen`) and
//! listening, and publishes the highest position it heard (documented on
//! [`PostgresStore`](super::PostgresStore), "Notifications").

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::fnv1a;

/// The notification channel of a schema: `chronicle_events_<schema>`, or a
/// hash of the schema when that is longer than PostgreSQL's 63-byte names.
pub(super) fn channel(schema: &str) -> String {
    let channel = format!("chronicle_events_{schema}");
    if channel.len() <= 63 {
        return channel;
    }
    format!("chronicle_events_{:016x}", fnv1a(schema.as_bytes()))
}

/// What the listener has heard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Heard {
    /// The highest position notified.
    position: u64,
    /// How many times `LISTEN` has been established: a waiter that saw
    /// another epoch may have missed notifications (and appends that found
    /// no listener registered sent none), and re-reads.
    epoch: u64,
    /// True while the listening connection is up.
    listening: bool,
}

/// The lazily started `LISTEN` task and what it publishes.
pub(super) struct Listener {
    config: tokio_postgres::Config,
    /// Registers the connection and listens (`Sql::listen`).
    listen_sql: String,
    heard: watch::Sender<Heard>,
    started: AtomicBool,
    /// Dropped with the store, which ends the task.
    alive: watch::Sender<()>,
}

impl Listener {
    /// A listener that runs `listen_sql` (`Sql::listen`: registers the
    /// session, then `LISTEN`s) on a connection made with `config`, once
    /// started.
    pub(super) fn new(mut config: tokio_postgres::Config, listen_sql: String) -> Self {
        // Find a silently dead connection in about a minute, not hours.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        Self {
            config,
            listen_sql,
            heard: watch::Sender::new(Heard::default()),
            started: AtomicBool::new(false),
            alive: watch::Sender::new(()),
        }
    }

    fn start(&self) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.started.store(false, Ordering::SeqCst);
            return;
        };
        runtime.spawn(listen(
            self.config.clone(),
            self.listen_sql.clone(),
            self.heard.clone(),
            self.alive.subscribe(),
        ));
    }

    /// Waits for a notification past `position`, a new `LISTEN` (events
    /// may have been missed), or `timeout`.
    pub(super) async fn wait(&self, position: u64, timeout: Duration) {
        self.start();
        let mut heard = self.heard.subscribe();
        let entry = *heard.borrow_and_update();
        if entry.position > position {
            return;
        }
        let _ = tokio::time::timeout(
            timeout,
            heard.wait_for(|now| now.position > position || now.epoch != entry.epoch),
        )
        .await;
    }
}

/// How one listening connection ended.
enum Ended {
    /// The store was dropped.
    Stop,
    /// The connection failed or closed; `listened` says whether `LISTEN`
    /// had been established (then the next attempt starts without delay).
    Lost { listened: bool },
}

async fn listen(
    config: tokio_postgres::Config,
    listen_sql: String,
    heard: watch::Sender<Heard>,
    mut alive: watch::Receiver<()>,
) {
    let mut failures = 0u32;
    loop {
        match listen_once(&config, &listen_sql, &heard, &mut alive).await {
            Ended::Stop => return,
            Ended::Lost { listened } => {
                heard.send_if_modified(|now| std::mem::replace(&mut now.listening, false));
                if listened {
                    failures = 0;
                }
            }
        }
        let delay = (Duration::from_millis(50) * 2u32.saturating_pow(failures.min(7)))
            .min(Duration::from_secs(5));
        failures = failures.saturating_add(1);
        tracing::warn!(
            store = "PostgresStore",
            attempt = failures,
            "the LISTEN connection for new events was lost; reconnecting"
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = alive.changed() => return,
        }
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    listen_sql: &str,
    heard: &watch::Sender<Heard>,
    alive: &mut watch::Receiver<()>,
) -> Ended {
    let connected = tokio::select! {
        connected = config.connect(NoTls) => connected,
        _ = alive.changed() => return Ended::Stop,
    };
    let Ok((client, mut connection)) = connected else {
        return Ended::Lost { listened: false };
    };
    // Registers first (waiting for appends that found no listener to end),
    // then listens: the new epoch makes waiters re-read, and what they read
    // includes those appends; every later append notifies. The session's
    // locks end with the connection.
    let listen = client.batch_execute(listen_sql);
    tokio::pin!(listen);
    let mut listened = false;
    loop {
        tokio::select! {
            result = &mut listen, if !listened => {
                if result.is_err() {
                    return Ended::Lost { listened };
                }
                listened = true;
                heard.send_modify(|now| {
                    now.listening = true;
                    now.epoch += 1;
                });
            }
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(notification))) => {
                    // A payload that is not a position still wakes waiters.
                    let position = notification.payload().parse::<u64>().unwrap_or(u64::MAX);
                    heard.send_if_modified(|now| {
                        let newer = position > now.position;
                        now.position = now.position.max(position);
                        newer
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ended::Lost { listened },
            },
            _ = alive.changed() => return Ended::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_fit_postgres_names() {
        assert_eq!(channel("chronicle"), "chronicle_events_chronicle");
        let long = channel(&"s".repeat(63));
        assert!(
            long.len() <= 63 && long.starts_with("chronicle_events_"),
            "{long}"
        );
        // Processes of different versions must agree on the channel: pinned.
        assert_eq!(
            channel(&"s".repeat(47)),
            "chronicle_events_5e73c7f0a2497184"
        );
    }

    #[tokio::test]
    async fn a_waiter_wakes_on_a_higher_position_or_a_new_listen() {
        let config: tokio_postgres::Config = "postgres://u@127.0.0.1:1/db".parse().unwrap();
        let listener = Listener::new(config, "SELECT 1".to_owned());
        // No runtime listener task here (start needs none to be useful):
        // publish by hand what the task would.
        listener.started.store(true, Ordering::SeqCst);
        listener.heard.send_modify(|now| now.position = 5);
        // Already past: returns at once.
        tokio::time::timeout(
            Duration::from_secs(1),
            listener.wait(4, Duration::from_secs(60)),
        )
        .await
        .expect("a position already heard wakes at once");
        let waiting = listener.wait(5, Duration::from_secs(60));
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut waiting)
                .await
                .is_err()
        );
        listener.heard.send_modify(|now| now.epoch += 1);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("a new LISTEN wakes waiters: they may have missed notifications");
        // A timeout bounds the wait.
        listener.wait(5, Duration::from_millis(10)).await;
    }
}
