//! A TCP proxy between clients and a server that a test cuts: closed, it cuts every connection
//! and refuses new ones (the server is out of reach); armed with a needle, it cuts the
//! connection whose next bytes from the server hold it, before passing them on (the server did
//! what it was asked, and its answer is lost).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The proxy; it stops with the test's runtime.
pub struct Gate {
    /// Where clients connect.
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<JoinHandle<()>>>>,
    needle: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Gate {
    /// A gate, open, in front of `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gate = Self {
            addr,
            open: Arc::new(AtomicBool::new(true)),
            live: Arc::default(),
            needle: Arc::default(),
        };
        let (open, live, needle) = (gate.open.clone(), gate.live.clone(), gate.needle.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let pipe = tokio::spawn(pipe(inbound, target, needle.clone()));
                live.lock().expect("lock").push(pipe);
            }
        });
        gate
    }

    /// The address as the apps take it.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts every connection and refuses new ones.
    pub fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        for pipe in std::mem::take(&mut *self.live.lock().expect("lock")) {
            pipe.abort();
        }
    }

    /// Lets connections through again.
    pub fn reopen(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// The next bytes from the server holding `needle` cut their connection instead of
    /// reaching the client (once).
    pub fn cut_on(&self, needle: &str) {
        *self.needle.lock().expect("lock") = Some(needle.as_bytes().to_vec());
    }

    /// Whether the needle of [`Self::cut_on`] is still waiting (false once it cut).
    pub fn armed(&self) -> bool {
        self.needle.lock().expect("lock").is_some()
    }
}

/// One connection through the gate: bytes both ways, until either side ends or the needle
/// comes from the server.
async fn pipe(mut inbound: TcpStream, target: SocketAddr, needle: Arc<Mutex<Option<Vec<u8>>>>) {
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_read, mut client_write) = inbound.split();
    let (mut server_read, mut server_write) = outbound.split();
    let upstream = tokio::io::copy(&mut client_read, &mut server_write);
    let downstream = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let chunk = &buffer[..read];
            {
                let mut needle = needle.lock().expect("lock");
                let hit = needle
                    .as_ref()
                    .is_some_and(|n| chunk.windows(n.len()).any(|w| w == n.as_slice()));
                if hit {
                    *needle = None;
                    return;
                }
            }
            if client_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        () = downstream => {}
    }
}
