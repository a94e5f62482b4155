//! Secrets at rest: values the service must read back in the clear (authenticator-app
//! secrets; later, signing keys) are sealed before they reach the database, so a copied
//! database file or backup does not hand them out.
//!
//! - **Cipher**: XChaCha20-Poly1305 with a random 24-byte nonce per value (random nonces of
//!   that size never repeat in practice, so no counter has to be kept anywhere).
//! - **Binding**: the associated data names what a value is ([`Purpose`]) and whose (the
//!   account id), so a sealed value copied into another account's row, or into another field,
//!   does not open.
//! - **Keys**: a text file outside the database (`--data-key-file`, default `data.key` in the
//!   data folder), one key per line, `ID KEY` (KEY: 32 bytes, base64). Every key listed opens,
//!   the last one seals. [`DataKeys::add_key`] appends one (the operator's
//!   `rotate-data-key`); old keys stay until the operator removes their lines.
//! - **Sealed form**: `xc1:ID:DATA` (DATA: base64url of nonce and ciphertext), so the key
//!   that sealed a value is known without trying every key, and a value from before sealing
//!   (base32 upper case) is never mistaken for a sealed one.
//!
//! Files are written with mode 0600. Whether a key file belongs to a database is checked
//! above this module (`accounts::Secrets`), which keeps a value sealed with the newest key in
//! the store.

use std::{
    fmt,
    fs::{self, OpenOptions},
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    Key, XChaCha20Poly1305, XNonce,
};

use crate::ids::{hex, random_bytes};

/// The prefix of a sealed value: format 1, XChaCha20-Poly1305.
const SEALED_PREFIX: &str = "xc1:";
/// Bytes of a nonce.
const NONCE_LEN: usize = 24;
/// Bytes of a key.
const KEY_LEN: usize = 32;
/// Longest key id accepted in a key file.
const MAX_ID_LEN: usize = 32;

/// What a sealed value is: part of its associated data, so a value sealed for one purpose
/// does not open as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An authenticator-app secret (in force or being set up: the store moves one into the
    /// other unchanged).
    TotpSecret,
    /// The value the store keeps to recognise the key file it was sealed with.
    KeyCheck,
    /// A message waiting in the outbox (it may hold a link that is a credential).
    Mail,
    /// A private key that signs ID tokens.
    SigningKey,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::TotpSecret => "totp-secret",
            Self::KeyCheck => "key-check",
            Self::Mail => "mail",
            Self::SigningKey => "signing-key",
        }
    }
}

/// What can go wrong with the key file or a sealed value. Messages name the file, never a key.
#[derive(Debug, thiserror::Error)]
pub enum DataKeyError {
    /// The key file exists but cannot be read.
    #[error("cannot read data key file {path}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The key file (or its folder) cannot be written.
    #[error("cannot write data key file {path}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line of the key file is not `ID KEY`.
    #[error("data key file {path}, line {line}: {why}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// Counted from 1.
        line: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The key file lists no key.
    #[error("data key file {path} lists no key")]
    Empty {
        /// The key file.
        path: PathBuf,
    },
    /// A sealed value names a key the file does not list.
    #[error("a secret in the database is sealed with data key {id}, which {path} does not list")]
    UnknownKey {
        /// The key id in the sealed value.
        id: String,
        /// The key file.
        path: PathBuf,
    },
    /// A sealed value did not open with the key it names.
    #[error(
        "a secret in the database did not open with data key {id} from {path}: a different \
         key under the same id, or the value was altered or copied from another account"
    )]
    Undecryptable {
        /// The key id in the sealed value.
        id: String,
        /// The key file.
        path: PathBuf,
    },
    /// A value that should be sealed is not in the sealed form.
    #[error("a stored secret is neither sealed nor a plain value from before sealing")]
    NotSealed,
}

/// One key: its id, bytes (for [`DataKeys::derive_key`]) and cipher. `Debug` shows the id
/// only.
struct DataKey {
    id: String,
    bytes: [u8; KEY_LEN],
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({})", self.id)
    }
}

/// The keys of a file, in its order: the last one seals.
#[derive(Debug)]
struct Ring {
    keys: Vec<DataKey>,
}

impl Ring {
    fn newest(&self) -> &DataKey {
        // Never empty: `parse` refuses a file without keys.
        &self.keys[self.keys.len() - 1]
    }

    fn get(&self, id: &str) -> Option<&DataKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// The data keys of one key file. Cheap to share behind an `Arc`.
pub struct DataKeys {
    path: PathBuf,
    ring: RwLock<Arc<Ring>>,
    /// The file's text when it was made at this start and is not on disk yet: see
    /// [`DataKeys::save_new`].
    unsaved: Mutex<Option<String>>,
    /// One change of the file at a time.
    writing: Mutex<()>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeys")
            .field("path", &self.path)
            .field("ids", &self.ids())
            .finish()
    }
}

impl DataKeys {
    /// The keys in `path`. If there is no such file, one new key, kept in memory until
    /// [`DataKeys::save_new`] writes it (the caller first makes sure the database has no
    /// sealed values that would need another key). A file that others may read is made
    /// private (mode 0600) if this process may, and a warning says so.
    pub fn load(path: &Path) -> Result<Self, DataKeyError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                let ring = parse(path, &text)?;
                crate::private_files::tighten(path);
                Ok(Self::with(path, ring, None))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let text = new_file_text();
                let ring = parse(path, &text)?;
                Ok(Self::with(path, ring, Some(text)))
            }
            Err(source) => Err(DataKeyError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// One random key that is never written anywhere: for tests.
    pub fn ephemeral() -> Self {
        let text = new_file_text();
        let path = PathBuf::from("(in memory)");
        let ring = parse(&path, &text).expect("a generated key parses");
        Self::with(&path, ring, None)
    }

    fn with(path: &Path, ring: Ring, unsaved: Option<String>) -> Self {
        Self {
            path: path.to_owned(),
            ring: RwLock::new(Arc::new(ring)),
            unsaved: Mutex::new(unsaved),
            writing: Mutex::new(()),
        }
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the key was made at this start and is not in the file yet.
    pub fn is_unsaved(&self) -> bool {
        lock(&self.unsaved).is_some()
    }

    /// Writes a key made at this start to the file (mode 0600; its folder is created with
    /// mode 0700 if missing). Does nothing if the file came from disk. Never replaces a file:
    /// if one appeared meanwhile, that is an error.
    pub fn save_new(&self) -> Result<(), DataKeyError> {
        let _writing = lock(&self.writing);
        let mut unsaved = lock(&self.unsaved);
        let Some(text) = unsaved.as_deref() else {
            return Ok(());
        };
        let write_error = |source| DataKeyError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(write_error)?;
        }
        write_private(&self.path, text, true).map_err(write_error)?;
        *unsaved = None;
        tracing::info!(path = %self.path.display(), "made a new data key file (mode 0600): back it up apart from the database");
        Ok(())
    }

    /// The id of the key that seals.
    pub fn newest_id(&self) -> String {
        self.ring().newest().id.clone()
    }

    /// Every key id, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.ring().keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Whether `id` is listed (after reading the file again if it is not).
    pub fn knows(&self, id: &str) -> bool {
        self.key(id).is_some()
    }

    fn ring(&self) -> Arc<Ring> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The key `id`; if this process does not know it, the file is read again first (another
    /// instance may have added it and the operator copied the file here).
    fn key(&self, id: &str) -> Option<Arc<Ring>> {
        let ring = self.ring();
        if ring.get(id).is_some() {
            return Some(ring);
        }
        if self.is_unsaved() {
            return None;
        }
        let text = fs::read_to_string(&self.path).ok()?;
        let reread = Arc::new(parse(&self.path, &text).ok()?);
        reread.get(id)?;
        tracing::info!(path = %self.path.display(), key = id, "read data key file again: it lists a new key");
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = reread.clone();
        Some(reread)
    }

    /// `plaintext` sealed with the newest key, for `purpose`, bound to `subject` (an account
    /// id).
    pub fn seal(&self, purpose: Purpose, subject: &str, plaintext: &[u8]) -> String {
        let ring = self.ring();
        let key = ring.newest();
        let nonce = random_bytes::<NONCE_LEN>();
        let aad = associated_data(purpose, subject);
        let ciphertext = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // Only for inputs of gigabytes.
            .expect("XChaCha20-Poly1305 seals short values");
        let mut data = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&ciphertext);
        format!(
            "{SEALED_PREFIX}{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(&data)
        )
    }

    /// A 256-bit key for another use, named by `label` (the passkey login tokens' MAC, say):
    /// HMAC-SHA-256 of the label under the newest key, so it is the same on every instance
    /// given the same file, and differs per label. A rotation changes it from the next start.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let ring = self.ring();
        let mut mac = <Hmac<sha2_mac::Sha256> as KeyInit>::new_from_slice(&ring.newest().bytes)
            .expect("HMAC takes keys of any length");
        mac.update(b"accounts-server derived key\0");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Opens a value [`DataKeys::seal`] made for the same purpose and subject.
    pub fn open(
        &self,
        purpose: Purpose,
        subject: &str,
        sealed: &str,
    ) -> Result<Vec<u8>, DataKeyError> {
        let (id, data) = split_sealed(sealed).ok_or(DataKeyError::NotSealed)?;
        let ring = self.key(id);
        let Some(key) = ring.as_deref().and_then(|r| r.get(id)) else {
            return Err(DataKeyError::UnknownKey {
                id: id.to_owned(),
                path: self.path.clone(),
            });
        };
        let undecryptable = || DataKeyError::Undecryptable {
            id: id.to_owned(),
            path: self.path.clone(),
        };
        let data = URL_SAFE_NO_PAD.decode(data).map_err(|_| undecryptable())?;
        if data.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| undecryptable())?;
        let aad = associated_data(purpose, subject);
        key.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| undecryptable())
    }

    /// Appends a new key to the file, which then seals; returns its id. The file is replaced
    /// whole (a new file with mode 0600, synced, renamed over it), so a crash leaves the old
    /// file or the new one. Keys added to the file by hand since it was read are kept.
    pub fn add_key(&self) -> Result<String, DataKeyError> {
        let _writing = lock(&self.writing);
        let write_error = |source| DataKeyError::Write {
            path: self.path.clone(),
            source,
        };
        let mut text = match lock(&self.unsaved).take() {
            Some(text) => text,
            None => fs::read_to_string(&self.path).map_err(|source| DataKeyError::Read {
                path: self.path.clone(),
                source,
            })?,
        };
        let current = parse(&self.path, &text)?;
        let id = loop {
            let id = hex(&random_bytes::<4>());
            if current.get(&id).is_none() {
                break id;
            }
        };
        if !text.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&key_line(&id));
        let ring = parse(&self.path, &text)?;
        let staging = self.path.with_file_name(format!(
            ".{}.new-{}",
            self.path
                .file_name()
                .map_or_else(|| "data.key".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        let _ = fs::remove_file(&staging);
        let replaced = write_private(&staging, &text, true)
            .and_then(|()| fs::rename(&staging, &self.path))
            .and_then(|()| sync_parent(&self.path));
        if let Err(e) = replaced {
            let _ = fs::remove_file(&staging);
            return Err(write_error(e));
        }
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ring);
        Ok(id)
    }
}

/// Whether `value` is in the sealed form (else it is a plain value from before sealing).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// The id of the key that sealed `value`, if it is sealed.
pub fn sealed_with(value: &str) -> Option<&str> {
    split_sealed(value).map(|(id, _)| id)
}

fn split_sealed(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(SEALED_PREFIX)?.split_once(':')
}

/// What is authenticated with each value besides the key: the format, the purpose and the
/// subject, each ended by a zero byte (none of them contains one).
fn associated_data(purpose: Purpose, subject: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64 + subject.len());
    for part in [SEALED_PREFIX, purpose.label(), subject] {
        aad.extend_from_slice(part.as_bytes());
        aad.push(0);
    }
    aad
}

/// A new key file's text: what it is, then one random key.
fn new_file_text() -> String {
    let mut text = String::from(
        "# accounts-server data keys: they seal secrets stored in the database (authenticator\n\
         # apps). Keep this file private and backed up apart from the database; without it those\n\
         # secrets are lost. One key per line, \"ID KEY\" (KEY: 32 random bytes, base64). Every\n\
         # key listed opens; the last one seals. `accounts-server admin rotate-data-key` adds one.\n",
    );
    text.push_str(&key_line(&hex(&random_bytes::<4>())));
    text
}

/// A new random key's line, with the date it was made in a comment above it.
fn key_line(id: &str) -> String {
    let added = crate::clock::rfc3339(crate::clock::now());
    let key = STANDARD.encode(random_bytes::<KEY_LEN>());
    format!("# added {added}\n{id} {key}\n")
}

/// The keys of a key file's text. `#` starts a comment; blank lines are skipped.
fn parse(path: &Path, text: &str) -> Result<Ring, DataKeyError> {
    let mut keys: Vec<DataKey> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let malformed = |why| DataKeyError::Malformed {
            path: path.to_owned(),
            line: i + 1,
            why,
        };
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let mut fields = content.split_whitespace();
        let (Some(id), Some(key), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(malformed("expected `ID KEY`"));
        };
        if id.len() > MAX_ID_LEN
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(malformed("a key id is 1 to 32 letters, digits, `-` or `_`"));
        }
        if keys.iter().any(|k| k.id == id) {
            return Err(malformed("this key id is listed twice"));
        }
        let bytes: [u8; KEY_LEN] = STANDARD
            .decode(key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed("a key is 32 bytes in base64"))?;
        keys.push(DataKey {
            id: id.to_owned(),
            bytes,
            cipher: XChaCha20Poly1305::new(&Key::from(bytes)),
        });
    }
    if keys.is_empty() {
        return Err(DataKeyError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Ring { keys })
}

/// Writes `text` to a new file at `path` with mode 0600, synced to disk.
fn write_private(path: &Path, text: &str, create_new: bool) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(create_new)
        .mode(0o600)
        .open(path)?;
    // The mode above is filtered by the umask; this is not.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Syncs the folder holding `path`, so a rename in it survives a crash.
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"JBSWY3DPEHPK3PXP";

    #[test]
    fn a_sealed_value_opens_only_for_its_purpose_and_subject() {
        let keys = DataKeys::ephemeral();
        let sealed = keys.seal(Purpose::TotpSecret, "user-1", SECRET);
        assert!(is_sealed(&sealed), "{sealed}");
        assert_eq!(sealed_with(&sealed), Some(keys.newest_id().as_str()));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            keys.open(Purpose::TotpSecret, "user-1", &sealed).unwrap(),
            SECRET
        );
        // Copied to another account, or read as another kind of value: it does not open.
        for (purpose, subject) in [
            (Purpose::TotpSecret, "user-2"),
            (Purpose::KeyCheck, "user-1"),
        ] {
            assert!(matches!(
                keys.open(purpose, subject, &sealed),
                Err(DataKeyError::Undecryptable { .. })
            ));
        }
        // Random nonces: sealing twice gives two values.
        assert_ne!(sealed, keys.seal(Purpose::TotpSecret, "user-1", SECRET));
        // Altered by one character: it does not open.
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(keys.open(Purpose::TotpSecret, "user-1", &altered).is_err());
        // Another key file's key of the same id does not open it either.
        let other = DataKeys::ephemeral();
        let foreign = other.seal(Purpose::TotpSecret, "user-1", SECRET);
        assert!(matches!(
            keys.open(Purpose::TotpSecret, "user-1", &foreign),
            Err(DataKeyError::UnknownKey { .. })
        ));
        assert!(!is_sealed("JBSWY3DPEHPK3PXP"));
        assert!(matches!(
            keys.open(Purpose::TotpSecret, "user-1", "JBSWY3DPEHPK3PXP"),
            Err(DataKeyError::NotSealed)
        ));
    }

    #[test]
    fn a_new_file_is_written_private_only_when_asked_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("data.key");
        let keys = DataKeys::load(&path).unwrap();
        assert!(keys.is_unsaved() && !path.exists());
        let sealed = keys.seal(Purpose::TotpSecret, "u", SECRET);
        keys.save_new().unwrap();
        assert!(!keys.is_unsaved());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let again = DataKeys::load(&path).unwrap();
        assert_eq!(again.ids(), keys.ids());
        assert_eq!(
            again.open(Purpose::TotpSecret, "u", &sealed).unwrap(),
            SECRET
        );
        // Never over an existing file.
        let twice = DataKeys::load(&dir.path().join("other.key")).unwrap();
        fs::write(dir.path().join("other.key"), "appeared meanwhile").unwrap();
        assert!(matches!(twice.save_new(), Err(DataKeyError::Write { .. })));
    }

    #[test]
    fn an_added_key_seals_and_every_listed_key_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        let keys = DataKeys::load(&path).unwrap();
        keys.save_new().unwrap();
        // Another process, holding the file as it is now.
        let stale = DataKeys::load(&path).unwrap();
        let old_id = keys.newest_id();
        let old = keys.seal(Purpose::TotpSecret, "u", SECRET);
        let new_id = keys.add_key().unwrap();
        assert_ne!(new_id, old_id);
        assert_eq!(keys.ids(), [old_id.clone(), new_id.clone()]);
        let new = keys.seal(Purpose::TotpSecret, "u", SECRET);
        assert_eq!(sealed_with(&new), Some(new_id.as_str()));
        assert_eq!(keys.open(Purpose::TotpSecret, "u", &old).unwrap(), SECRET);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .count(),
            2
        );
        assert!(text.starts_with("# accounts-server data keys"), "{text}");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging file left"
        );

        // The other process learns of the new key from the file when it first meets it.
        assert_eq!(stale.ids(), [old_id]);
        assert_eq!(stale.open(Purpose::TotpSecret, "u", &new).unwrap(), SECRET);
        assert_eq!(stale.newest_id(), new_id);
    }

    #[test]
    fn derived_keys_follow_the_file_and_the_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        let keys = DataKeys::load(&path).unwrap();
        keys.save_new().unwrap();
        let same_file = DataKeys::load(&path).unwrap();
        let login = keys.derive_key("passkey-login");
        assert_eq!(same_file.derive_key("passkey-login"), login);
        assert_ne!(keys.derive_key("other"), login);
        assert_ne!(DataKeys::ephemeral().derive_key("passkey-login"), login);
        keys.add_key().unwrap();
        assert_ne!(keys.derive_key("passkey-login"), login, "the newest key's");
    }

    #[test]
    fn a_malformed_file_is_a_clear_error_naming_the_line() {
        let path = Path::new("/etc/accounts/data.key");
        let key = STANDARD.encode([7u8; 32]);
        let e = |text: &str| parse(path, text).unwrap_err().to_string();
        assert_eq!(
            e("# nothing\n\n"),
            "data key file /etc/accounts/data.key lists no key"
        );
        assert!(e(&format!("# c\nk1 {key} extra\n")).contains("line 2: expected `ID KEY`"));
        assert!(e("k1 c2hvcnQ=\n").contains("line 1: a key is 32 bytes in base64"));
        assert!(e(&format!("k1 {key}\nk1 {key}\n")).contains("line 2: this key id is listed twice"));
        assert!(e(&format!("k:1 {key}\n")).contains("a key id is"));
        let ring = parse(path, &format!("a {key}  # old\n\nb {key}\n")).unwrap();
        assert_eq!(ring.newest().id, "b");
        // No key material in messages or Debug output.
        let keys = DataKeys::with(path, ring, None);
        assert!(!format!("{keys:?}").contains(&key));
    }
}
