//! The lab a rehearsal runs in: one network namespace per node on a private bridge (in a
//! switch namespace of its own, never connected to the host), each daemon in a private
//! mount namespace with the node's `etc/` laid read-only over `/etc`, and the cleanup that
//! stops every process by its own PID (checked against its start time, so a recycled PID
//! is never signalled) and deletes every namespace by its own name, also on failure or
//! Ctrl-C (the signal only sets a flag; every wait polls it and unwinds through `Drop`).

use super::pids;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The last step of every daemon's start: mount the node's files, hide /run and nginx's
/// state directories behind fresh tmpfs, bind the node's etcd data directory, then `exec`
/// the daemon (so the PID we hold is the daemon's). Arguments: `ETC DATA CMD [ARG]…`
const NODE_EXEC: &str = r#"set -eu
etc=$1; data=$2; shift 2
mount -t overlay overlay -o "lowerdir=$etc:/etc" /etc
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/haproxy
for d in /var/log/nginx /var/lib/nginx; do
    if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
if [ -n "$data" ]; then
    if [ ! -d /var/lib/etcd ]; then mount -t tmpfs -o mode=0755 tmpfs /var/lib; mkdir -p /var/lib/etcd; fi
    mount --bind "$data" /var/lib/etcd
fi
exec "$@"
"#;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT and SIGTERM set a flag that every wait checks; the run then unwinds and
/// cleans up through `Drop`.
pub fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// True once Ctrl-C (or SIGTERM) arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Why the lab could not go on: exit 2.
#[derive(Debug)]
pub struct Abort(pub String);

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Err(Abort)` when interrupted or past the deadline.
pub fn check_time(deadline: Instant) -> Result<(), Abort> {
    if interrupted() {
        return Err(Abort("interrupted".into()));
    }
    if Instant::now() > deadline {
        return Err(Abort("the --timeout ran out".into()));
    }
    Ok(())
}

/// Sleeps in short steps, stopping early on Ctrl-C.
pub fn nap(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end && !interrupted() {
        std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
}

/// The output of a bounded command.
pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion, killed after `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Out {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Out {
                ok: false,
                stdout: String::new(),
                stderr: format!("cannot start {:?}: {e}", cmd.get_program()),
            };
        }
    };
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = std::io::Read::read_to_end(o, &mut v);
        }
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = std::io::Read::read_to_end(e, &mut v);
        }
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Out {
        ok: status.is_some_and(|s| s.success()),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned(),
    }
}

/// `ip ARGS`, an error with its output on failure.
pub fn ip(args: &[&str]) -> Result<String, Abort> {
    let mut c = Command::new("ip");
    c.args(args).env_clear().env("PATH", PATH);
    let out = run_bounded(c, Duration::from_secs(10));
    if out.ok {
        Ok(out.stdout)
    } else {
        Err(Abort(format!(
            "ip {}: {}",
            args.join(" "),
            out.stderr.trim()
        )))
    }
}

/// Every process the lab starts carries `HAGEN_REHEARSE=<hagen's PID>` in its
/// environment, so a test (or an operator) can prove none is left behind.
pub const MARKER: &str = "HAGEN_REHEARSE";

/// The PATH every child gets (with a cleared environment: etcd reads `ETCD_*`).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A daemon of the lab; stopped (with its descendants, each by PID) on drop.
pub struct Proc {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd` in its own process group (so a terminal's Ctrl-C reaches only
    /// hagen, which then stops it in order), output appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self, Abort> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Abort(format!("{}: {e}", log.display())))?;
        let err = file
            .try_clone()
            .map_err(|e| Abort(format!("{}: {e}", log.display())))?;
        cmd.stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| Abort(format!("cannot start {name}: {e}")))?;
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    /// True while it runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of its log.
    pub fn tail(&self, n: usize) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGKILL to it and every descendant (a crash).
    pub fn kill_hard(&mut self) {
        pids::kill_tree(&mut self.child);
    }

    /// SIGTERM, a bounded wait, then SIGKILL for whatever is left (a clean stop).
    pub fn stop(&mut self) {
        pids::stop_tree(&mut self.child);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The network namespaces made; each deleted by name on drop (after the processes,
/// which are dropped first by the owner).
#[derive(Default)]
pub struct Namespaces {
    names: Vec<String>,
}

impl Namespaces {
    /// Creates `name` with `lo` up.
    pub fn add(&mut self, name: &str) -> Result<(), Abort> {
        ip(&["netns", "add", name])?;
        self.names.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(())
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in self.names.iter().rev() {
            let _ = ip(&["netns", "del", n]);
        }
    }
}

/// A scratch directory, removed on drop unless `HAGEN_KEEP_SCRATCH` is set.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Result<Self, Abort> {
        let path = std::env::temp_dir().join(format!("hagen-rehearse-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o755)
            .create(&path)
            .map_err(|e| Abort(format!("{}: {e}", path.display())))?;
        let text = path.to_string_lossy();
        if text.contains(':') || text.contains(',') {
            return Err(Abort(format!(
                "the scratch path {text} holds `:` or `,` (overlayfs cannot take it); set TMPDIR"
            )));
        }
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("HAGEN_KEEP_SCRATCH").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        } else {
            eprintln!("kept {}", self.0.display());
        }
    }
}

/// A command run as on a node: in its network namespace, in a private mount namespace
/// with `etc` over `/etc` (and `data` bound at /var/lib/etcd when given).
pub fn node_command(netns: &str, etc: &Path, data: Option<&Path>, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.env_clear().env("PATH", PATH).env("LANG", "C");
    cmd.env(MARKER, std::process::id().to_string());
    cmd.args([
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        NODE_EXEC,
        "node-exec",
    ]);
    cmd.arg(etc);
    cmd.arg(data.map(|d| d.as_os_str()).unwrap_or_default());
    cmd.arg(program);
    cmd
}

/// A plain command inside a network namespace (no overlay).
pub fn in_netns(netns: &str, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.env_clear().env("PATH", PATH).env("LANG", "C");
    cmd.env(MARKER, std::process::id().to_string());
    cmd.args(["netns", "exec", netns, program]);
    cmd
}

/// Exit-2 reason unless we run as root.
pub fn require_root() -> Result<(), Abort> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Abort(
            "rehearse needs root: it makes network and mount namespaces and runs the daemons \
             (run it with sudo, on a machine or CI runner where that is allowed)"
                .into(),
        ));
    }
    Ok(())
}

/// Why this machine cannot rehearse, if it cannot: not Linux root, a program missing,
/// or network/mount namespaces not allowed.
pub fn preflight(programs: &[&str], probe_ns: &str) -> Result<(), Abort> {
    require_root()?;
    let mut missing = Vec::new();
    for p in programs {
        let found = PATH.split(':').any(|d| Path::new(d).join(p).is_file());
        if !found {
            missing.push(*p);
        }
    }
    if !missing.is_empty() {
        return Err(Abort(format!(
            "missing programs: {} (Debian: apt-get install haproxy keepalived nginx \
             libnginx-mod-stream etcd-server curl iproute2 util-linux python3)",
            missing.join(", ")
        )));
    }
    let add = ip(&["netns", "add", probe_ns]);
    if let Err(e) = add {
        return Err(Abort(format!(
            "network namespaces are not allowed here ({e}); rehearse needs CAP_SYS_ADMIN and \
             CAP_NET_ADMIN (a privileged container or a VM)"
        )));
    }
    let mut c = in_netns(probe_ns, "unshare");
    c.args(["--mount", "--propagation", "private", "--", "true"]);
    let mount = run_bounded(c, Duration::from_secs(10));
    let _ = ip(&["netns", "del", probe_ns]);
    if !mount.ok {
        return Err(Abort(format!(
            "mount namespaces are not allowed here ({})",
            mount.stderr.trim()
        )));
    }
    Ok(())
}
