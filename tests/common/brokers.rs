//! Brokers for the tests: which servers to use, a `nats-server` of a
//! test's own (to kill and restart), RabbitMQ virtual hosts of a test's own
//! (so that closing connections touches no other test), and a TCP
//! forwarder that plays a broker which is down, then up.
//!
//! `CHRONICLE_TEST_NATS_URL` (`nats://127.0.0.1:4222`) and
//! `CHRONICLE_TEST_AMQP_URL` (`amqp://guest:guest@127.0.0.1:5672/%2f`)
//! follow [`service_url`](super::service_url); a URL that is set but whose
//! server does not answer fails the test at once, naming the variable.

use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chronicle_es::Uuid;

use super::stores::TempDir;

pub const NATS_URL_ENV: &str = "CHRONICLE_TEST_NATS_URL";
pub const AMQP_URL_ENV: &str = "CHRONICLE_TEST_AMQP_URL";

/// The NATS server with JetStream to test against, or `None`: skip.
pub fn nats_url() -> Option<String> {
    let url = super::service_url(NATS_URL_ENV, "NATS", "nats://127.0.0.1:4222")?;
    reachable(NATS_URL_ENV, &url);
    Some(url)
}

/// The RabbitMQ server to test against, or `None`: skip.
pub fn amqp_url() -> Option<String> {
    let url = super::service_url(
        AMQP_URL_ENV,
        "RabbitMQ",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    )?;
    reachable(AMQP_URL_ENV, &url);
    Some(url)
}

/// `host:port` of a URL `scheme://[user[:password]@]host:port[/path]`.
fn address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Panics unless something answers at the URL's address.
fn reachable(var: &str, url: &str) {
    let address = address(url);
    let answered = address.to_socket_addrs().ok().is_some_and(|mut addresses| {
        addresses.any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)).is_ok())
    });
    assert!(
        answered,
        "{var}={url} is set, but nothing answers at {address}"
    );
}

/// A loopback port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free loopback port")
}

fn wait_until_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `nats-server` with JetStream of the test's own, on a free loopback
/// port, storing in a temporary directory; killed when dropped.
pub struct NatsServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl NatsServer {
    /// A server not started yet, on a port of its own.
    pub fn stopped() -> NatsServer {
        NatsServer {
            port: free_port(),
            dir: TempDir::create(),
            child: None,
        }
    }

    /// A started server.
    pub fn start() -> NatsServer {
        let mut server = NatsServer::stopped();
        server.run();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port and storage).
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "nats-server already runs");
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        self.child = Some(child);
        wait_until_listening(self.port, "nats-server");
    }

    /// Stops it with SIGSTOP: it keeps its connections but reads nothing
    /// and answers nothing until killed.
    pub fn freeze(&self) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args(["-STOP", &child.id().to_string()])
                .status()
                .expect("cannot run kill");
            assert!(status.success(), "kill -STOP failed");
        }
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `rabbitmqctl` with `args`; panics when it fails.
fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run rabbitmqctl: {error}"));
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A RabbitMQ virtual host of the test's own, its permissions given to the
/// base URL's user; deleted, with all in it, when dropped.
pub struct Vhost {
    url: String,
    name: String,
}

impl Vhost {
    pub fn create(base_url: &str) -> Vhost {
        let name = format!("chronicle_test_{}", Uuid::new_v4().simple());
        let rest = base_url
            .split_once("://")
            .map_or(base_url, |(_, rest)| rest);
        let user = rest
            .rsplit_once('@')
            .map(|(credentials, _)| credentials.split(':').next().unwrap_or("guest"))
            .unwrap_or("guest");
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, user, ".*", ".*", ".*"]);
        let scheme_end = base_url.find("://").map_or(0, |at| at + 3);
        let root = match base_url[scheme_end..].find('/') {
            Some(slash) => &base_url[..scheme_end + slash],
            None => base_url,
        };
        Vhost {
            url: format!("{root}/{name}"),
            name,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes every client connection to this virtual host, as a broker
    /// restart would.
    pub fn close_all_connections(&self) {
        rabbitmqctl(&[
            "close_all_connections",
            "--vhost",
            &self.name,
            "chronicle test",
        ]);
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
    }
}

/// Forwards connections from a loopback port to `target` once started: a
/// broker that is down until [`Forwarder::start`].
pub struct Forwarder {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Forwarder {
    /// `url` with its address replaced by a port that answers nothing yet.
    pub fn down(url: &str) -> (Forwarder, String) {
        let target = address(url);
        let port = free_port();
        let url = url.replacen(&target, &format!("127.0.0.1:{port}"), 1);
        (
            Forwarder {
                port,
                target,
                task: None,
            },
            url,
        )
    }

    /// Starts forwarding.
    pub async fn start(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("cannot listen on the forwarder's port");
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
