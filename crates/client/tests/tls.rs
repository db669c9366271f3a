//! `wss://` end to end: nginx (Debian's, as an operator runs it) terminates TLS in front of a
//! real server with a certificate from a CA this test makes; `charla-cli` and the client core
//! connect through it, trusting that CA through `CHARLA_CA_FILE`, and without it they do not
//! connect at all; behind it, with nginx as the server's trusted proxy, each client is counted
//! by its own address. nginx runs in the foreground as a child and is stopped by its PID.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use charla_client::{spawn, ClientEvent, ClientOptions};
use charla_testkit::{eventually_blocking, free_port, Process, TestServer};
use tokio::sync::mpsc;

const NGINX: &str = "/usr/sbin/nginx";

/// nginx in the foreground (one process: `master_process off`), killed by its PID when
/// dropped.
struct Nginx {
    process: Process,
    log: PathBuf,
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate it signed for `localhost` and 127.0.0.1: `ca.pem`, `server.pem`,
/// `server.key` in `dir`.
fn make_certificates(dir: &Path) {
    let subject_names = dir.join("san.ext");
    std::fs::write(
        &subject_names,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write");
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Charla test CA",
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        dir,
    );
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
        dir,
    );
}

/// nginx on `port` with TLS (and on `plain`, without, for the tests that pick their source
/// address), proxying WebSocket and polling requests to `upstream`, as the README configures
/// it: the client's address goes on in `X-Forwarded-For`.
fn start_nginx(dir: &Path, port: u16, plain: u16, upstream: SocketAddr) -> Nginx {
    let d = dir.display();
    let config = format!(
        "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        listen 127.0.0.1:{plain};
        server_name localhost;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
        }}
    }}
}}
"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).expect("write nginx.conf");
    let log = dir.join("error.log");
    let child = Command::new(NGINX)
        .args(["-p", &d.to_string(), "-c"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{NGINX} starts (scripts/setup.sh installs nginx): {e}"));
    let mut nginx = Nginx {
        process: Process(child),
        log,
    };
    eventually_blocking(Duration::from_secs(10), "nginx listening", || {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        assert!(
            listening || matches!(nginx.process.0.try_wait(), Ok(None)),
            "nginx exited:\n{}",
            std::fs::read_to_string(&nginx.log).unwrap_or_default()
        );
        listening
    });
    nginx
}

/// `charla-cli` sends one line as a guest through `url`; its exit status (0: delivered).
fn cli_sends(url: &str, ca_file: Option<&Path>, data_dir: &Path, text: &str) -> (bool, String) {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_charla-cli"));
    command
        .args([
            "--server",
            url,
            "--username",
            "cli",
            "--guest",
            "--drain-timeout",
            "5",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("CHARLA_CA_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(ca) = ca_file {
        command.env("CHARLA_CA_FILE", ca);
    }
    let mut child = command.spawn().expect("charla-cli starts");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{text}").expect("write a line");
    drop(stdin);
    let out = child.wait_with_output().expect("charla-cli ends");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_through_nginx_with_a_private_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_certificates(dir.path());
    let server = TestServer::open().await;
    let port = free_port();
    let nginx = start_nginx(dir.path(), port, free_port(), server.addr);
    let url = format!("wss://localhost:{port}");
    let ca = dir.path().join("ca.pem");

    // Not trusted: nothing goes through.
    let (delivered, said) = tokio::task::spawn_blocking({
        let (url, data) = (url.clone(), dir.path().join("cli-untrusted"));
        move || cli_sends(&url, None, &data, "should not arrive")
    })
    .await
    .expect("cli");
    assert!(!delivered, "delivered without trusting the CA:\n{said}");

    // Trusted through CHARLA_CA_FILE: delivered.
    let (delivered, said) = tokio::task::spawn_blocking({
        let (url, ca, data) = (url.clone(), ca.clone(), dir.path().join("cli-trusted"));
        move || cli_sends(&url, Some(&ca), &data, "hello over tls")
    })
    .await
    .expect("cli");
    assert!(delivered, "charla-cli over wss:\n{said}");

    // The core, in this process: its join's history has the line, and its own message is acked.
    std::env::set_var("CHARLA_CA_FILE", &ca);
    let options =
        ClientOptions::new(&url, "core", dir.path().join("core-outbox.json")).expect("options");
    let (events, mut received) = mpsc::unbounded_channel();
    let handle = spawn(options, events);
    handle
        .send("and from the core".to_owned())
        .await
        .expect("queued");
    let mut saw_history = false;
    let mut saw_own = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(saw_history && saw_own) {
        let event = tokio::time::timeout_at(deadline, received.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "history={saw_history} own={saw_own} within 20 s; nginx:\n{}",
                    std::fs::read_to_string(&nginx.log).unwrap_or_default()
                )
            })
            .expect("the client runs");
        match event {
            ClientEvent::Joined { history, .. } => {
                let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
                assert!(!texts.contains(&"should not arrive"), "{texts:?}");
                saw_history |= texts.contains(&"hello over tls");
            }
            ClientEvent::Message(m) if m.text == "and from the core" && m.seq.is_some() => {
                saw_own = true;
            }
            _ => {}
        }
    }
    drop(handle);
    drop(nginx);
    server.stop().await;
}

/// Opens a WebSocket to `target` from the local address `from` (sending `forwarded_for` as
/// `X-Forwarded-For` when given); the HTTP status of the handshake (101: open), and the
/// socket, open until dropped.
async fn open_from(
    from: std::net::IpAddr,
    target: SocketAddr,
    forwarded_for: Option<&str>,
) -> (
    u16,
    Option<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>>,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind a loopback address");
    let stream = socket.connect(target).await.expect("connects");
    let mut request = format!("ws://{target}/socket.io/?EIO=4&transport=websocket")
        .into_client_request()
        .expect("a request");
    if let Some(forwarded_for) = forwarded_for {
        request.headers_mut().insert(
            "x-forwarded-for",
            forwarded_for.parse().expect("a header value"),
        );
    }
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((ws, response)) => (response.status().as_u16(), Some(ws)),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            (response.status().as_u16(), None)
        }
        Err(e) => panic!("the handshake failed: {e}"),
    }
}

/// Behind nginx, with nginx as the server's trusted proxy, the cap per address counts each
/// client by its own address (`X-Forwarded-For`), not nginx's: two sessions from 127.0.0.2
/// fill its share, 127.0.0.3 still gets in. A client that reaches the server directly cannot
/// choose its address with the same header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_behind_a_trusted_proxy_has_its_own_share() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_certificates(dir.path());
    let server = TestServer::start(charla_server::ServerConfig {
        max_connections_per_address: 2,
        trusted_proxies: charla_server::proxy::TrustedProxies::new(vec!["127.0.0.1"
            .parse()
            .expect("an address")]),
        ..TestServer::unlimited()
    })
    .await;
    let plain = free_port();
    let _nginx = start_nginx(dir.path(), free_port(), plain, server.addr);
    let proxy: SocketAddr = ([127, 0, 0, 1], plain).into();
    let (two, three) = ([127, 0, 0, 2].into(), [127, 0, 0, 3].into());

    let (first, _a) = open_from(two, proxy, None).await;
    let (second, _b) = open_from(two, proxy, None).await;
    assert_eq!((first, second), (101, 101), "two sessions for 127.0.0.2");
    let (third, _c) = open_from(two, proxy, None).await;
    assert_eq!(third, 503, "127.0.0.2's share is full");
    let (other, _d) = open_from(three, proxy, None).await;
    assert_eq!(
        other, 101,
        "127.0.0.3 is another client, though nginx carries all of them"
    );
    // What a client writes itself is kept to the left of what nginx saw: still 127.0.0.2.
    let (lying, _e) = open_from(two, proxy, Some("127.0.0.9")).await;
    assert_eq!(
        lying, 503,
        "a client behind the proxy cannot pick its address"
    );

    // Straight to the server, from an address that is not a trusted proxy: the header is
    // ignored, whatever it says. 127.0.0.2's share is full: a client at 127.0.0.5 saying it is
    // 127.0.0.2 still gets in as itself.
    let five = [127, 0, 0, 5].into();
    let (direct, _f) = open_from(five, server.addr, Some("127.0.0.2")).await;
    assert_eq!(
        direct, 101,
        "counted as 127.0.0.5, not as the address it claims"
    );
    server.stop().await;
}
