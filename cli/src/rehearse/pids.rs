//! Stopping a process and everything it started, each by its PID *and* start time, so a
//! PID the kernel has handed to someone else meanwhile is never signalled. Used by
//! `hagen rehearse` and by the test harness (`tests/sandbox.rs` includes this file), the
//! two places that start daemons and must leave none behind.

use std::fs;
use std::process::Child;
use std::time::{Duration, Instant};

/// A PID with its start time.
#[derive(Debug, Clone)]
pub struct Pid {
    pid: u32,
    start: String,
}

impl Pid {
    /// The process `pid` as it is now; `None` if there is none.
    pub fn of(pid: u32) -> Option<Self> {
        start_time(pid).map(|start| Self { pid, start })
    }

    /// True while that same process runs.
    pub fn alive(&self) -> bool {
        start_time(self.pid).as_deref() == Some(self.start.as_str())
    }

    fn signal(&self, sig: libc::c_int) {
        if self.alive()
            && let Ok(pid) = libc::pid_t::try_from(self.pid)
        {
            // SAFETY: kill(2) on a PID checked against its start time just before.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 (starttime), counted after the `(comm)` that may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Every descendant of `pid` now (the children of each thread, recursively; at most 512).
pub fn descendants(pid: u32) -> Vec<Pid> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let children = fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if let Some(pid) = Pid::of(c) {
                    out.push(pid);
                    todo.push(c);
                }
                if out.len() > 512 {
                    return out;
                }
            }
        }
    }
    out
}

/// SIGKILL to `child` and every descendant (a crash), and reaps `child`.
pub fn kill_tree(child: &mut Child) {
    let family = descendants(child.id());
    let _ = child.kill();
    for p in family {
        p.signal(libc::SIGKILL);
    }
    let _ = child.wait();
}

/// SIGTERM to `child`, up to 3 s for it to end, then SIGKILL; up to 2 s more for its
/// descendants, then SIGKILL to whatever of them is left (a clean stop).
pub fn stop_tree(child: &mut Child) {
    let family = descendants(child.id());
    let running = |c: &mut Child| matches!(c.try_wait(), Ok(None));
    if running(child)
        && let Some(me) = Pid::of(child.id())
    {
        me.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && running(child) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && family.iter().any(Pid::alive) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in family {
        p.signal(libc::SIGKILL);
    }
}
