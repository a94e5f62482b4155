//! Files only the server's own user may read. The data folder holds password hashes, sealed
//! secrets and the key that opens them; with the usual umask 022 every local user could read
//! them. So the server's umask is 077 from the start (`main.rs`), and what it creates is also
//! given its mode explicitly (the umask is the process's, and tests build the server inside
//! their own process): folders 0700, files 0600.
//!
//! Files the server keeps that an older version (or a copy) left readable by others are made
//! 0600 at start-up, with a warning, since they are the server's alone. A data folder that
//! already exists keeps its mode (the operator may have chosen it, say for a group that backs
//! it up); a warning says when others may enter it.

use std::{
    fs, io,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// The mode bits that let the group or others in.
const OTHERS: u32 = 0o077;

/// Sets the process's umask to 077: anything created from now on, by this code or a library
/// (SQLite's journal files), is private unless given another mode.
pub fn restrict_umask() {
    // SAFETY: umask only changes the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` and any missing parents with mode 0700, whatever the umask. A folder that
/// exists is left as it is.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|d| !d.as_os_str().is_empty())
        .take_while(|d| !d.exists())
        .collect();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for d in missing {
        fs::set_permissions(d, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens `path` for writing, creating it with mode 0600 (whatever the umask) if it is
/// missing; an existing file is made private with [`tighten`].
pub fn open_file(path: &Path) -> io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)?;
    tighten(path);
    Ok(file)
}

/// Makes the file at `path`, if it exists, readable by its owner only (mode 0600) when the
/// group or others may use it, with a warning: it was exposed until now. If that is not
/// allowed (the file is someone else's), a warning says so and the file stays as it is.
pub fn tighten(path: &Path) {
    let Ok(meta) = fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_file() || mode & OTHERS == 0 {
        return;
    }
    match fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = format_args!("{mode:04o}"),
            "file was readable by other local users; made it private (0600)"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:04o}"),
            error = %e,
            "file is readable by other local users and cannot be made private"
        ),
    }
}

/// Warns if the group or others may enter the folder `dir` (its files stay private; their
/// names and sizes do not).
pub fn warn_if_open(dir: &Path) {
    let Ok(meta) = fs::metadata(dir) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if meta.is_dir() && mode & OTHERS != 0 {
        tracing::warn!(
            dir = %dir.display(),
            mode = format_args!("{mode:04o}"),
            "the data folder is open to other local users; its files are private, but consider `chmod 700` on it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private_whatever_the_umask() {
        let root = tempfile::tempdir().unwrap();
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let dir = root.path().join("a").join("b");
        create_dir(&dir).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&dir)), (0o700, 0o700));
        assert_eq!(
            mode(root.path()),
            0o755,
            "an existing folder keeps its mode"
        );

        let file = dir.join("f");
        open_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        open_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600, "an open file is tightened");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        tighten(&file);
        assert_eq!(mode(&file), 0o600);
        tighten(&dir.join("missing"));
    }
}
