//! Connecting to a replicated cluster: the hosts of a multi-host URL tried
//! in order, a preference for a primary whose commits can complete (it has a
//! synchronous standby streaming), and a watch on the warnings that say a
//! commit's synchronous-replication wait was cut short.
//!
//! Why a host loop of our own instead of the driver's: the driver takes the
//! first host that answers `read-write`. A primary whose Patroni died keeps
//! answering `read-write` after its standbys were promoted away from it, and
//! every commit there waits forever for a standby that will not come back
//! (see `PostgresStore`'s docs on failover). A primary without a streaming
//! synchronous standby is therefore taken only when no host has one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use deadpool_postgres::Connect;
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::{AsyncMessage, Client, Config, Error, NoTls};

/// Asks a read-write server whether a synchronous standby streams from it.
const HAS_SYNC_STANDBY: &str = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_replication \
     WHERE sync_state IN ('sync', 'quorum') AND state = 'streaming')";

/// Counts the warnings with which a server ends a commit's wait for
/// synchronous replication early: the commit is then local only, and may be
/// lost when the node is rewound. Shared by every connection of one store;
/// an append compares the count before and after (the connection task counts
/// a notice before it hands the statement's result to the client).
#[derive(Debug, Default, Clone)]
pub(super) struct CommitWarnings(Arc<AtomicU64>);

impl CommitWarnings {
    /// The count so far.
    pub(super) fn seen(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn count(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whether a notice is one of the synchronous-replication warnings:
/// "canceling wait for synchronous replication due to user request" (SQLSTATE
/// 01000) and "... terminating connection due to administrator command"
/// (57P01 sent as a WARNING). Matched by code, so that the server's message
/// language does not matter; another warning of class 01 during an append
/// only costs a settlement.
fn is_commit_warning(code: &str) -> bool {
    code.starts_with("01") || code == "57P01"
}

/// deadpool's connector for the store's pools.
pub(super) struct ClusterConnect {
    /// One configuration per host of the URL, in the URL's order.
    hosts: Vec<Config>,
    /// Prefer a primary with a streaming synchronous standby.
    prefer_synchronous: bool,
    warnings: CommitWarnings,
}

type Connected = (Client, JoinHandle<()>);

impl ClusterConnect {
    pub(super) fn new(config: &Config, prefer_synchronous: bool, warnings: CommitWarnings) -> Self {
        ClusterConnect {
            hosts: per_host(config),
            prefer_synchronous,
            warnings,
        }
    }

    async fn open(&self, config: &Config) -> Result<Connected, Error> {
        let (client, mut connection) = config.connect(NoTls).await?;
        let warnings = self.warnings.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(message)) =
                std::future::poll_fn(|cx| connection.poll_message(cx)).await
            {
                if let AsyncMessage::Notice(notice) = message {
                    if is_commit_warning(notice.code().code()) {
                        warnings.count();
                    }
                }
            }
        });
        Ok((client, task))
    }

    async fn connect_any(&self) -> Result<Connected, Error> {
        let mut fallback = None;
        let mut last_error = None;
        for config in &self.hosts {
            let connected = match self.open(config).await {
                Ok(connected) => connected,
                Err(error) => {
                    last_error = Some(error);
                    continue;
                }
            };
            if !self.prefer_synchronous {
                return Ok(connected);
            }
            match connected.0.query_one(HAS_SYNC_STANDBY, &[]).await {
                Ok(row) if row.try_get::<_, bool>(0).unwrap_or(false) => return Ok(connected),
                Ok(_) => {
                    if fallback.is_none() {
                        fallback = Some(connected);
                    }
                }
                Err(error) => last_error = Some(error),
            }
        }
        match (fallback, last_error) {
            (Some(connected), _) => Ok(connected),
            (None, Some(error)) => Err(error),
            // `per_host` always yields at least one configuration.
            (None, None) => self.open(&self.hosts[0]).await,
        }
    }
}

impl Connect for ClusterConnect {
    fn connect(
        &self,
        _config: &Config,
    ) -> Pin<Box<dyn Future<Output = Result<Connected, Error>> + Send + '_>> {
        Box::pin(self.connect_any())
    }
}

/// `config` split into one configuration per host (with its port and
/// address), every other setting kept. A configuration without hosts (the
/// driver's defaults) stays as it is.
fn per_host(config: &Config) -> Vec<Config> {
    let hosts = config.get_hosts();
    if hosts.len() <= 1 {
        return vec![config.clone()];
    }
    let ports = config.get_ports();
    let addrs = config.get_hostaddrs();
    hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let mut one = settings_of(config);
            match host {
                Host::Tcp(name) => one.host(name),
                #[cfg(unix)]
                Host::Unix(path) => one.host_path(path),
            };
            if let Some(addr) = addrs.get(i) {
                one.hostaddr(*addr);
            }
            match ports {
                [] => {}
                [port] => {
                    one.port(*port);
                }
                _ => {
                    if let Some(port) = ports.get(i) {
                        one.port(*port);
                    }
                }
            }
            one
        })
        .collect()
}

/// Every setting of `config` but its hosts, ports and addresses.
fn settings_of(config: &Config) -> Config {
    let mut one = Config::new();
    if let Some(user) = config.get_user() {
        one.user(user);
    }
    if let Some(password) = config.get_password() {
        one.password(password);
    }
    if let Some(dbname) = config.get_dbname() {
        one.dbname(dbname);
    }
    if let Some(options) = config.get_options() {
        one.options(options);
    }
    if let Some(name) = config.get_application_name() {
        one.application_name(name);
    }
    if let Some(timeout) = config.get_connect_timeout() {
        one.connect_timeout(*timeout);
    }
    if let Some(timeout) = config.get_tcp_user_timeout() {
        one.tcp_user_timeout(*timeout);
    }
    one.ssl_mode(config.get_ssl_mode())
        .ssl_negotiation(config.get_ssl_negotiation())
        .keepalives(config.get_keepalives())
        .keepalives_idle(config.get_keepalives_idle())
        .target_session_attrs(config.get_target_session_attrs())
        .channel_binding(config.get_channel_binding());
    if let Some(interval) = config.get_keepalives_interval() {
        one.keepalives_interval(interval);
    }
    if let Some(retries) = config.get_keepalives_retries() {
        one.keepalives_retries(retries);
    }
    one
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::TargetSessionAttrs;

    #[test]
    fn a_multi_host_url_becomes_one_configuration_per_host() {
        let config: Config = "postgres://ann:pw@a:1,b:2,c:3/db?target_session_attrs=read-write&application_name=x&connect_timeout=3"
            .parse()
            .unwrap();
        let hosts = per_host(&config);
        assert_eq!(hosts.len(), 3);
        for (one, (name, port)) in hosts.iter().zip([("a", 1), ("b", 2), ("c", 3)]) {
            assert_eq!(one.get_hosts(), [Host::Tcp(name.into())]);
            assert_eq!(one.get_ports(), [port]);
            assert_eq!(one.get_user(), Some("ann"));
            assert_eq!(one.get_password(), Some(&b"pw"[..]));
            assert_eq!(one.get_dbname(), Some("db"));
            assert_eq!(one.get_application_name(), Some("x"));
            assert_eq!(
                one.get_connect_timeout(),
                Some(&std::time::Duration::from_secs(3))
            );
            assert_eq!(
                one.get_target_session_attrs(),
                TargetSessionAttrs::ReadWrite
            );
        }
        let shared_port: Config = "host=a,b port=7 user=u".parse().unwrap();
        let hosts = per_host(&shared_port);
        assert_eq!(hosts[1].get_hosts(), [Host::Tcp("b".into())]);
        assert_eq!(hosts[1].get_ports(), [7]);
        let single: Config = "postgres://u@a:1/db".parse().unwrap();
        assert_eq!(per_host(&single).len(), 1);
    }

    #[test]
    fn commit_warnings_are_matched_by_code() {
        assert!(is_commit_warning("01000"));
        assert!(is_commit_warning("57P01"));
        assert!(!is_commit_warning("00000"));
        assert!(!is_commit_warning("42P07"));
    }
}
