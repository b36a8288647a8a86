//! The files of a run by directory and by base name, built once per run.
//!
//! Rules that follow one file to another (a unit's `EnvironmentFile=`, a vrrp_script's
//! `script`, the keepalived.conf beside a check script) look the other file up here
//! instead of scanning the whole run each time: a scan per reference made a run of a few
//! thousand files quadratic (issue 11 asks for lint to stay linear).

use crate::source::SourceFile;
use std::collections::HashMap;

/// `(directory, base name)` of a file name as the run spells it (`""` for no directory).
pub fn split(name: &str) -> (&str, &str) {
    name.rsplit_once('/').unwrap_or(("", name))
}

/// The directory part of a file name.
pub fn dir(name: &str) -> &str {
    split(name).0
}

/// The base name of a path (what follows the last `/`).
pub fn base(path: &str) -> &str {
    split(path).1
}

/// The index of a run's files.
#[derive(Debug, Default)]
pub struct FileIndex<'a> {
    by_base: HashMap<&'a str, Vec<usize>>,
    by_dir: HashMap<&'a str, Vec<usize>>,
    /// systemd units of the run with their `EnvironmentFile=` paths.
    env_refs: Vec<(usize, &'a str)>,
}

impl<'a> FileIndex<'a> {
    /// Indexes `files`.
    pub fn new(files: &'a [SourceFile]) -> Self {
        let mut index = FileIndex::default();
        for (id, f) in files.iter().enumerate() {
            let (d, b) = split(&f.name);
            index.by_base.entry(b).or_default().push(id);
            index.by_dir.entry(d).or_default().push(id);
            if f.text.contains("[Service]") {
                for l in f.text.lines() {
                    if let Some(p) = l.trim_start().strip_prefix("EnvironmentFile=") {
                        index
                            .env_refs
                            .push((id, p.trim().trim_start_matches('-').trim()));
                    }
                }
            }
        }
        index
    }

    /// The files whose base name is `base`, in run order.
    pub fn named(&self, base: &str) -> &[usize] {
        self.by_base.get(base).map_or(&[], Vec::as_slice)
    }

    /// The files of directory `dir`, in run order.
    pub fn in_dir(&self, dir: &str) -> &[usize] {
        self.by_dir.get(dir).map_or(&[], Vec::as_slice)
    }

    /// The first file that is `path`: it has the path's base name (a name that ends with
    /// the path has it too).
    pub fn find_path(&self, files: &'a [SourceFile], path: &str) -> Option<&'a SourceFile> {
        let b = base(path);
        (!b.is_empty())
            .then(|| self.named(b).first().map(|&i| &files[i]))
            .flatten()
    }

    /// Every `(unit, path)` of a systemd unit's `EnvironmentFile=` in the run.
    pub fn env_refs(&self) -> &[(usize, &'a str)] {
        &self.env_refs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_found_by_base_name_path_and_directory() {
        let files = vec![
            SourceFile::new(
                "a/etcd.service",
                "[Service]\nEnvironmentFile=-/etc/etcd/etcd.env\n",
            ),
            SourceFile::new("a/etcd.env", "ETCD_NAME=a\n"),
            SourceFile::new("b/etcd.env", "ETCD_NAME=b\n"),
            SourceFile::new("top.conf", ""),
        ];
        let index = FileIndex::new(&files);
        assert_eq!(index.named("etcd.env"), [1, 2]);
        assert_eq!(index.in_dir("a"), [0, 1]);
        assert_eq!(index.in_dir(""), [3]);
        assert_eq!(
            index
                .find_path(&files, "/etc/etcd/etcd.env")
                .map(|f| f.name.as_str()),
            Some("a/etcd.env")
        );
        assert!(index.find_path(&files, "/etc/").is_none());
        assert!(index.find_path(&files, "/nowhere.env").is_none());
        assert_eq!(index.env_refs(), [(0, "/etc/etcd/etcd.env")]);
        assert_eq!(split("x/y/z.sh"), ("x/y", "z.sh"));
        assert_eq!(split("z.sh"), ("", "z.sh"));
    }
}
