//! The journal's signing key: from the configuration, or on SQLite a file in the data
//! directory created on first start (`journal.key`, readable by its owner only).

use std::fmt;
use std::path::Path;

use rand::RngCore;

/// An HMAC key for the hash chain.
#[derive(Clone)]
pub struct JournalKey(Vec<u8>);

impl fmt::Debug for JournalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JournalKey(***)")
    }
}

impl JournalKey {
    /// A key from configured bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The raw key, for the HMAC.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads `data_dir/journal.key`, creating it with 32 random bytes if it does not exist.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("journal.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes =
                    hex::decode(text.trim()).map_err(|e| anyhow::anyhow!("{}: not a hex key: {e}", path.display()))?;
                anyhow::ensure!(bytes.len() >= 16, "{}: the key is too short", path.display());
                Ok(Self(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                write_private(&path, &hex::encode(bytes))?;
                Ok(Self(bytes.to_vec()))
            }
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))
}
