//! A TCP proxy in front of the local DynamoDB server that a test can take down and bring back,
//! the way an outage or a network partition looks to the SDK: refused connections (the server is
//! down) or a black hole (requests vanish, nothing answers).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Up,
    /// Every connection, open or new, is cut at once.
    Refused,
    /// Connections are accepted and then nothing is forwarded or answered.
    BlackHole,
    /// Each new connection is forwarded only after this many milliseconds: a slow service.
    Delayed(u64),
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    link: watch::Sender<Link>,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, watcher) = watch::channel(Link::Up);
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::clone(&tasks);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let state = *watcher.borrow();
                match state {
                    Link::Refused => drop(client),
                    Link::BlackHole => {
                        let handle = tokio::spawn(async move {
                            let mut sink = tokio::io::sink();
                            let _ = tokio::io::copy(&mut client, &mut sink).await;
                        });
                        accepted.lock().unwrap().push(handle.abort_handle());
                    }
                    Link::Up | Link::Delayed(_) => {
                        let handle = tokio::spawn(async move {
                            if let Link::Delayed(millis) = state {
                                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
                            }
                            if let Ok(mut server) = TcpStream::connect(upstream).await {
                                let _ = copy_bidirectional(&mut client, &mut server).await;
                            }
                        });
                        accepted.lock().unwrap().push(handle.abort_handle());
                    }
                }
            }
        });
        Self { addr, link, tasks }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
        if matches!(link, Link::Refused | Link::BlackHole) {
            for task in self.tasks.lock().unwrap().drain(..) {
                task.abort();
            }
        }
    }
}
