//! `hagen lint` on the file trees and pipes it meets in CI: a stray non-UTF-8 byte, a
//! symlink loop under a linted directory, a reader that closes the pipe early.

#[allow(dead_code)]
mod common;

use common::root;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A fresh directory under the system's temp dir, removed at the end of the test.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("hagen-lint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HAPROXY: &str = "defaults\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\nbackend api\n    server m1 10.0.0.11:6443 check verify none\n    server m2 10.0.0.12:6443 check verify none\n";

fn lint(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hagen"))
        .arg("lint")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_latin1_byte_is_linted_lossily_and_said_once() {
    let dir = Dir::new("latin1");
    let mut bytes = b"# r\xe9seau de production\n".to_vec();
    bytes.extend_from_slice(HAPROXY.as_bytes());
    let file = dir.0.join("haproxy.cfg");
    std::fs::write(&file, &bytes).unwrap();
    let (code, out) = lint(&[file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("info[LNT005]").count(), 1, "{out}");
    // The same findings as the UTF-8 file: the verify-none on both servers.
    assert_eq!(out.matches("warning[HAP003]").count(), 2, "{out}");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_not_followed_and_the_rest_is_linted() {
    let dir = Dir::new("loop");
    std::fs::create_dir_all(dir.0.join("a/b")).unwrap();
    std::os::unix::fs::symlink("../..", dir.0.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink("self", dir.0.join("a/self")).unwrap();
    std::fs::write(dir.0.join("a/haproxy.cfg"), HAPROXY).unwrap();
    // A link to a file is read.
    std::os::unix::fs::symlink("haproxy.cfg", dir.0.join("a/lb.haproxy.cfg")).unwrap();
    let (code, out) = lint(&[dir.0.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 file(s), 2 linted"), "{out}");
    assert_eq!(out.matches("warning[HAP003]").count(), 4, "{out}");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hagen"))
        .args(["lint", "--format", "json", "fixtures/lint"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read 100 bytes, then close the pipe as `head -c 100` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(status.code(), Some(101), "{err}");
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}: {err}");
}
