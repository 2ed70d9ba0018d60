//! Unpacks an ImageBuilder archive without letting it write or point
//! outside the destination: no absolute paths, no `..`, no device files, no
//! links that lead out, and nothing written through a link.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Xz,
    Zstd,
    /// Plain tar (tests).
    None,
}

impl Compression {
    pub fn from_name(name: &str) -> Option<Compression> {
        if name.ends_with(".tar.xz") {
            Some(Compression::Xz)
        } else if name.ends_with(".tar.zst") {
            Some(Compression::Zstd)
        } else if name.ends_with(".tar") {
            Some(Compression::None)
        } else {
            None
        }
    }
}

fn err(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

/// An archive path as plain components: no root, no `..`, `.` dropped.
fn plain_components(path: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(
                s.to_str()
                    .ok_or_else(|| err(format!("non-UTF-8 name in archive: {}", path.display())))?
                    .to_string(),
            ),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(err(format!(
                    "archive entry leaves its folder: {}",
                    path.display()
                )))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(err(format!(
                    "archive entry has an absolute path: {}",
                    path.display()
                )))
            }
        }
    }
    Ok(out)
}

/// Checks a symlink at `entry` (components) pointing to `target`. The target
/// may climb with leading `..` (through real folders, see the caller) and
/// then only descend: `a/..` is refused because `a` could itself be a link.
fn check_symlink_target(entry: &[String], target: &Path) -> std::io::Result<()> {
    let depth = entry.len().saturating_sub(1);
    let mut ups = 0usize;
    let mut descended = false;
    for c in target.components() {
        match c {
            Component::ParentDir if !descended => ups += 1,
            Component::ParentDir => {
                return Err(err(format!(
                    "link {} -> {} climbs after descending",
                    entry.join("/"),
                    target.display()
                )))
            }
            Component::CurDir => {}
            Component::Normal(_) => descended = true,
            Component::RootDir | Component::Prefix(_) => {
                return Err(err(format!(
                    "link {} -> {} points outside the archive",
                    entry.join("/"),
                    target.display()
                )))
            }
        }
    }
    if ups > depth {
        return Err(err(format!(
            "link {} -> {} points outside the archive",
            entry.join("/"),
            target.display()
        )));
    }
    if target.as_os_str().is_empty() {
        return Err(err(format!("link {} has an empty target", entry.join("/"))));
    }
    Ok(())
}

/// Unpacks `archive` into the folder `dest` (which must exist and be empty).
pub fn unpack_file(archive: &Path, compression: Compression, dest: &Path) -> std::io::Result<()> {
    let file = BufReader::new(File::open(archive)?);
    let reader: Box<dyn Read> = match compression {
        Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(file)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(file)?),
        Compression::None => Box::new(file),
    };
    unpack(reader, dest)
}

/// Unpacks a tar stream into `dest`.
pub fn unpack<R: Read>(reader: R, dest: &Path) -> std::io::Result<()> {
    let dest = dest.canonicalize()?;
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(false); // drops setuid/setgid/sticky
    archive.set_preserve_ownerships(false);
    archive.set_preserve_mtime(true); // make compares times
    archive.set_overwrite(true);
    // Paths created as links / as regular files, to police later entries.
    let mut links: HashSet<Vec<String>> = HashSet::new();
    let mut files: HashSet<Vec<String>> = HashSet::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            continue;
        }
        let path: PathBuf = entry.path()?.into_owned();
        let parts = plain_components(&path)?;
        if parts.is_empty() {
            continue; // the archive's "./"
        }
        // No entry may live under something that is a link: writing through
        // it could land anywhere.
        for n in 1..parts.len() {
            if links.contains(&parts[..n]) {
                return Err(err(format!(
                    "archive entry {} goes through a link",
                    path.display()
                )));
            }
        }
        match kind {
            EntryType::Directory => {}
            EntryType::Regular | EntryType::Continuous => {
                files.insert(parts.clone());
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()?
                    .ok_or_else(|| err(format!("link {} has no target", path.display())))?;
                check_symlink_target(&parts, &target)?;
                links.insert(parts.clone());
            }
            EntryType::Link => {
                let target = entry
                    .link_name()?
                    .ok_or_else(|| err(format!("hard link {} has no target", path.display())))?;
                let target_parts = plain_components(&target)?;
                if !files.contains(&target_parts) {
                    return Err(err(format!(
                        "hard link {} -> {} does not point to a file of the archive",
                        path.display(),
                        target.display()
                    )));
                }
                files.insert(parts.clone());
            }
            other => {
                return Err(err(format!(
                    "archive entry {} has a refused type ({other:?})",
                    path.display()
                )));
            }
        }
        // Something else at a link's name would be written through the link.
        if kind != EntryType::Symlink && links.contains(&parts) {
            return Err(err(format!(
                "archive entry {} replaces a link",
                path.display()
            )));
        }
        if !matches!(
            kind,
            EntryType::Regular | EntryType::Continuous | EntryType::Link
        ) {
            files.remove(&parts);
        }
        // tar's own check (parents canonicalised inside dest) stays as a second guard.
        if !entry.unpack_in(&dest)? {
            return Err(err(format!("archive entry {} was refused", path.display())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tar with raw headers, so that hostile names can be written
    /// (tar's safe builder API refuses some of them).
    struct Raw(Vec<u8>);

    impl Raw {
        fn new() -> Self {
            Raw(Vec::new())
        }

        fn header(name: &str, kind: EntryType, size: u64, link: Option<&str>) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            {
                let gnu = h.as_gnu_mut().unwrap();
                gnu.name[..name.len()].copy_from_slice(name.as_bytes());
                if let Some(l) = link {
                    gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
                }
            }
            h.set_entry_type(kind);
            h.set_size(size);
            h.set_mode(if kind == EntryType::Directory {
                0o755
            } else {
                0o644
            });
            h.set_mtime(1_700_000_000);
            h.set_cksum();
            h
        }

        fn push(&mut self, h: tar::Header, data: &[u8]) {
            self.0.extend_from_slice(h.as_bytes());
            self.0.extend_from_slice(data);
            let pad = (512 - data.len() % 512) % 512;
            self.0.extend(std::iter::repeat_n(0u8, pad));
        }

        fn file(mut self, name: &str, data: &[u8]) -> Self {
            self.push(
                Self::header(name, EntryType::Regular, data.len() as u64, None),
                data,
            );
            self
        }

        fn dir(mut self, name: &str) -> Self {
            self.push(Self::header(name, EntryType::Directory, 0, None), b"");
            self
        }

        fn symlink(mut self, name: &str, target: &str) -> Self {
            self.push(Self::header(name, EntryType::Symlink, 0, Some(target)), b"");
            self
        }

        fn hardlink(mut self, name: &str, target: &str) -> Self {
            self.push(Self::header(name, EntryType::Link, 0, Some(target)), b"");
            self
        }

        fn special(mut self, name: &str, kind: EntryType) -> Self {
            self.push(Self::header(name, kind, 0, None), b"");
            self
        }

        fn finish(mut self) -> Vec<u8> {
            self.0.extend(std::iter::repeat_n(0u8, 1024));
            self.0
        }
    }

    /// Unpacks into `root/dest` so that escapes would land in `root`.
    fn try_unpack(tar: Vec<u8>) -> (tempfile::TempDir, std::io::Result<()>) {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let r = unpack(&tar[..], &dest);
        (root, r)
    }

    /// The unpack failed, for the stated reason.
    fn refused(r: std::io::Result<()>, why: &str) {
        let e = r.expect_err("archive should be refused").to_string();
        assert!(e.contains(why), "{e:?} should mention {why:?}");
    }

    fn only_dest(root: &Path) -> bool {
        let names: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names == vec![std::ffi::OsString::from("dest")]
    }

    #[test]
    fn normal_archive_unpacks() {
        let tar = Raw::new()
            .dir("ib/")
            .file("ib/Makefile", b"info:\n\t@echo hi\n")
            .dir("ib/scripts/")
            .file("ib/scripts/run.sh", b"#!/bin/sh\n")
            .symlink("ib/scripts/link.sh", "run.sh")
            .symlink("ib/scripts/up", "../Makefile")
            .hardlink("ib/scripts/hard.sh", "ib/scripts/run.sh")
            .finish();
        let (root, r) = try_unpack(tar);
        r.unwrap();
        let d = root.path().join("dest/ib");
        assert_eq!(
            std::fs::read(d.join("Makefile")).unwrap(),
            b"info:\n\t@echo hi\n"
        );
        assert_eq!(
            std::fs::read_link(d.join("scripts/link.sh")).unwrap(),
            Path::new("run.sh")
        );
        assert_eq!(
            std::fs::read(d.join("scripts/up")).unwrap(),
            b"info:\n\t@echo hi\n"
        );
        assert_eq!(
            std::fs::read(d.join("scripts/hard.sh")).unwrap(),
            b"#!/bin/sh\n"
        );
    }

    #[test]
    fn parent_dir_is_refused() {
        let (root, r) = try_unpack(Raw::new().file("../x", b"evil").finish());
        refused(r, "leaves its folder");
        assert!(!root.path().join("x").exists());
        let (root, r) = try_unpack(Raw::new().dir("a/").file("a/../../y", b"evil").finish());
        refused(r, "leaves its folder");
        assert!(only_dest(root.path()));
    }

    #[test]
    fn absolute_path_is_refused() {
        let target = tempfile::tempdir().unwrap();
        let abs = target.path().join("abs");
        let (_root, r) = try_unpack(Raw::new().file(abs.to_str().unwrap(), b"evil").finish());
        refused(r, "absolute path");
        assert!(!abs.exists());
    }

    #[test]
    fn symlink_out_is_refused() {
        let (root, r) = try_unpack(Raw::new().symlink("etc", "/etc").finish());
        refused(r, "points outside");
        assert!(std::fs::symlink_metadata(root.path().join("dest/etc")).is_err());
        let (_, r) = try_unpack(Raw::new().dir("a/").symlink("a/l", "../../x").finish());
        refused(r, "points outside");
        // Lexically inside, but `a` may be a link, so `a/..` is not trusted.
        let (_, r) = try_unpack(Raw::new().symlink("a", ".").symlink("b", "a/..").finish());
        refused(r, "climbs after descending");
    }

    #[test]
    fn writing_through_a_link_is_refused() {
        let tar = Raw::new().symlink("d", ".").file("d/x", b"evil").finish();
        let (root, r) = try_unpack(tar);
        refused(r, "goes through a link");
        assert!(!root.path().join("dest/x").exists());
        let (_, r) = try_unpack(Raw::new().symlink("d", "sub").dir("d/").finish());
        refused(r, "replaces a link");
    }

    #[test]
    fn hardlink_out_is_refused() {
        let (root, r) = try_unpack(Raw::new().hardlink("passwd", "/etc/passwd").finish());
        refused(r, "absolute path");
        assert!(!root.path().join("dest/passwd").exists());
        let (_, r) = try_unpack(Raw::new().hardlink("x", "../secret").finish());
        refused(r, "leaves its folder");
        // A name that is not a file of this archive.
        let (_, r) = try_unpack(Raw::new().hardlink("x", "nowhere").finish());
        refused(r, "does not point to a file");
    }

    /// A pax record `"<len> key=value\n"`, its length counting itself.
    fn pax_record(key: &str, value: &str) -> Vec<u8> {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        format!("{len}{body}").into_bytes()
    }

    impl Raw {
        /// An extension entry (pax `x` or GNU `L`/`K`) that renames the next entry.
        fn extension(mut self, kind: EntryType, data: &[u8]) -> Self {
            self.push(
                Self::header("././@LongLink", kind, data.len() as u64, None),
                data,
            );
            self
        }
    }

    #[test]
    fn long_names_cannot_smuggle_a_path_out() {
        // The plain header names a harmless file; the extension before it
        // gives the real name, which is what counts.
        let pax = Raw::new()
            .extension(EntryType::XHeader, &pax_record("path", "../pax-evil"))
            .file("harmless", b"evil")
            .finish();
        let (root, r) = try_unpack(pax);
        refused(r, "leaves its folder");
        assert!(only_dest(root.path()));

        let gnu = Raw::new()
            .extension(EntryType::GNULongName, b"a/../../gnu-evil\0")
            .file("harmless", b"evil")
            .finish();
        let (root, r) = try_unpack(gnu);
        refused(r, "leaves its folder");
        assert!(only_dest(root.path()));

        let target = tempfile::tempdir().unwrap();
        let abs = target.path().join("pax-abs");
        let pax_abs = Raw::new()
            .extension(
                EntryType::XHeader,
                &pax_record("path", abs.to_str().unwrap()),
            )
            .file("harmless", b"evil")
            .finish();
        let (_, r) = try_unpack(pax_abs);
        refused(r, "absolute path");
        assert!(!abs.exists());

        // Same for link targets: pax linkpath and GNU long link names.
        let pax_link = Raw::new()
            .extension(EntryType::XHeader, &pax_record("linkpath", "/etc"))
            .symlink("etc", "harmless")
            .finish();
        let (root, r) = try_unpack(pax_link);
        refused(r, "points outside");
        assert!(std::fs::symlink_metadata(root.path().join("dest/etc")).is_err());
        let gnu_link = Raw::new()
            .extension(EntryType::GNULongLink, b"../../../etc/passwd\0")
            .symlink("passwd", "harmless")
            .finish();
        let (_, r) = try_unpack(gnu_link);
        refused(r, "points outside");
    }

    #[test]
    fn absolute_and_chained_links_are_refused() {
        // Absolute even when it names a place inside the destination.
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let inside = dest.canonicalize().unwrap().join("x");
        let tar = Raw::new().symlink("l", inside.to_str().unwrap()).finish();
        refused(unpack(&tar[..], &dest), "points outside");
        // Each link of a chain is checked where it sits: `b -> ..` at the top climbs out.
        let (_, r) = try_unpack(Raw::new().symlink("a", "b").symlink("b", "..").finish());
        refused(r, "points outside");
        // A link, then a file written through a deeper path of it.
        let (root, r) = try_unpack(
            Raw::new()
                .dir("d/")
                .symlink("d/up", "..")
                .file("d/up/x", b"evil")
                .finish(),
        );
        refused(r, "goes through a link");
        assert!(!root.path().join("dest/x").exists());
    }

    #[test]
    fn device_files_are_refused() {
        for kind in [EntryType::Char, EntryType::Block, EntryType::Fifo] {
            let (root, r) = try_unpack(Raw::new().special("dev", kind).finish());
            refused(r, "refused type");
            assert!(std::fs::symlink_metadata(root.path().join("dest/dev")).is_err());
        }
    }

    #[test]
    fn compressed_archives_unpack() {
        let tar = Raw::new().dir("ib/").file("ib/hello", b"world").finish();
        let dir = tempfile::tempdir().unwrap();
        let zst = dir.path().join("a.tar.zst");
        std::fs::write(&zst, zstd::encode_all(&tar[..], 3).unwrap()).unwrap();
        let xz = dir.path().join("a.tar.xz");
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 6);
        std::io::Write::write_all(&mut enc, &tar).unwrap();
        std::fs::write(&xz, enc.finish().unwrap()).unwrap();
        for (path, comp) in [(zst, Compression::Zstd), (xz, Compression::Xz)] {
            assert_eq!(Compression::from_name(path.to_str().unwrap()), Some(comp));
            let out = dir.path().join(format!("out-{comp:?}"));
            std::fs::create_dir(&out).unwrap();
            unpack_file(&path, comp, &out).unwrap();
            assert_eq!(std::fs::read(out.join("ib/hello")).unwrap(), b"world");
        }
    }
}
