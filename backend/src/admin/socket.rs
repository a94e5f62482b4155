//! The admin socket: bound with mode 0600 before anyone can connect, served one request per
//! connection, removed when the server stops.

use std::{
    future::Future,
    io,
    os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
};

use super::{
    protocol::{Reply, Request, MAX_REQUEST},
    Commands,
};

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the admin socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdminSocketError {
    /// Another server answers on it.
    #[error(
        "admin socket {0} is in use by another running accounts-server (give this one its own \
         --admin-socket)"
    )]
    InUse(PathBuf),
    /// Something that is not a socket is in the way.
    #[error("{0} exists and is not a socket; remove it or choose another --admin-socket")]
    NotASocket(PathBuf),
    /// Creating, binding or securing it failed.
    #[error("cannot create admin socket {path}")]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// A bound admin socket. Dropping it removes the socket file.
pub struct AdminSocket {
    listener: UnixListener,
    path: PathBuf,
    /// The socket file's owner: peers must run as this user (or as root).
    owner: u32,
}

impl AdminSocket {
    /// Binds `path` with mode 0600 (the parent folder is created if missing). A socket left by
    /// a server that died is replaced; one a live server answers on is not.
    pub fn bind(path: &Path) -> Result<Self, AdminSocketError> {
        let io_error = |source| AdminSocketError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(AdminSocketError::NotASocket(path.to_owned()))
            }
            Ok(_) => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(AdminSocketError::InUse(path.to_owned()));
                }
                std::fs::remove_file(path).map_err(io_error)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(e)),
        }
        // Bound under a temporary name, made private, then moved into place: nobody can
        // connect while it still has the default mode.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "admin.sock".into());
        let staging = path.with_file_name(format!(".{file_name}.{}", std::process::id()));
        let _ = std::fs::remove_file(&staging);
        let std_listener = std::os::unix::net::UnixListener::bind(&staging).map_err(io_error)?;
        let secured = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::rename(&staging, path));
        if let Err(e) = secured {
            let _ = std::fs::remove_file(&staging);
            return Err(io_error(e));
        }
        let owner = std::fs::metadata(path).map_err(io_error)?.uid();
        std_listener.set_nonblocking(true).map_err(io_error)?;
        let listener = UnixListener::from_std(std_listener).map_err(io_error)?;
        Ok(Self {
            listener,
            path: path.to_owned(),
            owner,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers requests with `commands` until `stop` completes; then the socket is removed.
    /// Requests already being answered finish on their own tasks.
    pub async fn serve(self, commands: Commands, stop: impl Future<Output = ()>) {
        tracing::info!(path = %self.path.display(), "admin socket listening");
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let commands = commands.clone();
                        let owner = self.owner;
                        tokio::spawn(async move {
                            if let Err(e) = answer(stream, owner, &commands).await {
                                tracing::debug!(error = %e, "admin connection ended early");
                            }
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors, usually: wait instead of spinning.
                        tracing::warn!(error = %e, "admin socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        // The socket goes first: once the server lets go of the store, it is gone.
        drop(self);
        drop(commands);
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One connection: check the peer, read a request line, answer, close.
async fn answer(stream: UnixStream, owner: u32, commands: &Commands) -> io::Result<()> {
    let peer = stream.peer_cred()?.uid();
    let (read, mut write) = stream.into_split();
    let reply = if peer != owner && peer != 0 {
        tracing::warn!(peer, "admin socket: refused a connection from another user");
        Reply::Failed {
            message: "permission denied: run as the user the server runs as".into(),
        }
    } else {
        let mut line = Vec::new();
        let mut limited = BufReader::new(read).take(MAX_REQUEST as u64 + 1);
        match tokio::time::timeout(REQUEST_TIMEOUT, limited.read_until(b'\n', &mut line)).await {
            Err(_) => Reply::Failed {
                message: "no request arrived in time".into(),
            },
            Ok(read) => {
                read?;
                if line.len() > MAX_REQUEST {
                    Reply::Failed {
                        message: format!("request longer than {MAX_REQUEST} bytes"),
                    }
                } else {
                    match serde_json::from_slice::<Request>(&line) {
                        Ok(request) => commands.run(request).await,
                        Err(e) => Reply::Failed {
                            message: format!("not a request this server understands: {e}"),
                        },
                    }
                }
            }
        }
    };
    let mut out = serde_json::to_vec(&reply).map_err(io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await
}
