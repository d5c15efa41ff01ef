//! The room's directory: where each file is, and writing them. What holds a token (the
//! token file, the join files) and the server's private key are readable by their owner
//! only on Unix (mode 0600, in directories of mode 0700); on Windows they get the ACL of
//! the folder they are in (a folder in your profile is yours alone).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct RoomDir {
    root: PathBuf,
}

impl RoomDir {
    pub fn at(root: impl Into<PathBuf>) -> RoomDir {
        RoomDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The room's settings (`room.toml`).
    pub fn settings(&self) -> PathBuf {
        self.root.join("room.toml")
    }

    /// The collector's token file: one token a line.
    pub fn tokens(&self) -> PathBuf {
        self.root.join("tokens")
    }

    pub fn join_dir(&self) -> PathBuf {
        self.root.join("join")
    }

    /// What attendee `name` gets.
    pub fn join(&self, name: &str) -> PathBuf {
        self.join_dir().join(format!("{name}.toml"))
    }

    pub fn tls_dir(&self) -> PathBuf {
        self.root.join("tls")
    }

    /// The room's CA certificate (public: it is in every join file too).
    pub fn ca_cert(&self) -> PathBuf {
        self.tls_dir().join("ca.crt")
    }

    pub fn server_cert(&self) -> PathBuf {
        self.tls_dir().join("server.crt")
    }

    pub fn server_key(&self) -> PathBuf {
        self.tls_dir().join("server.key")
    }

    /// Where `room serve` keeps Prometheus' data, across runs.
    pub fn prometheus_data(&self) -> PathBuf {
        self.root.join("prometheus")
    }

    /// What `room init` writes, and replaces when forced.
    fn made_by_init(&self) -> [PathBuf; 4] {
        [
            self.settings(),
            self.tokens(),
            self.join_dir(),
            self.tls_dir(),
        ]
    }

    /// Makes way for a new room: the directory is created, or it must be empty, or
    /// `replace` must be given, and then the files of the room there are removed (anything
    /// else in it, Prometheus' data for one, stays).
    pub fn make_way(&self, replace: bool) -> Result<(), String> {
        let shown = self.root.display();
        match fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{shown}: {e}")),
            Ok(mut entries) => {
                if entries.next().is_some() && !replace {
                    let why = if self.settings().exists() || self.tokens().exists() {
                        "a room is there already: a new one gets new tokens and a new CA, \
                         and every join file of the old one stops working"
                    } else {
                        "it is not empty"
                    };
                    return Err(format!(
                        "{shown}: {why}; choose another directory, or pass --force to \
                         replace the room's files there"
                    ));
                }
                for path in self.made_by_init() {
                    let removed = if path.is_dir() {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                    match removed {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(format!("cannot remove {}: {e}", path.display()));
                        }
                        _ => {}
                    }
                }
            }
        }
        for dir in [&self.root, &self.join_dir(), &self.tls_dir()] {
            private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        Ok(())
    }
}

/// Writes a file anyone may read (a certificate, the settings).
pub fn write_public(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a new file that only its owner can read (on Unix; see the module's comment).
pub fn write_secret(path: &Path, text: &str) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates `dir` (mode 0700 on Unix) unless it exists.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}
