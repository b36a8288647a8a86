//! Running the real programs (haproxy, nginx, keepalived, systemd-analyze, …) on hagen's
//! bundles without touching the host: scratch directories, a node's files laid over
//! `/etc` in a private mount namespace (`tools/node-exec.sh`), network namespaces, a
//! throwaway test PKI, and guards that stop every process by its own PID and delete
//! every namespace by its own name, even when a test panics.
//!
//! Everything here needs root (mount and network namespaces); see [`require_real_tools`].

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::root;

// The one copy of the process-tree stop, shared with `hagen rehearse`.
#[path = "../cli/src/rehearse/pids.rs"]
mod pids;

/// Debian's interpreter, which carries python3-yaml (a pyenv `python3` may not).
pub const PYTHON: &str = "/usr/bin/python3";

/// The programs the real-tool tests run, with the Debian package that has each.
/// `scripts/test.sh` installs them.
const TOOLS: &[(&str, &str)] = &[
    ("/usr/sbin/haproxy", "haproxy"),
    ("/usr/sbin/keepalived", "keepalived"),
    ("/usr/sbin/nginx", "nginx"),
    (
        "/usr/lib/nginx/modules/ngx_stream_module.so",
        "libnginx-mod-stream",
    ),
    ("/usr/bin/etcd", "etcd-server"),
    ("/usr/bin/openssl", "openssl"),
    ("/usr/bin/curl", "curl"),
    ("/usr/bin/systemd-analyze", "systemd"),
    ("/usr/sbin/ip", "iproute2"),
    ("/usr/bin/unshare", "util-linux"),
    ("/bin/bash", "bash"),
    (PYTHON, "python3"),
];

/// Fails with instructions unless we are root and every program is installed.
/// `HAGEN_SKIP_REAL_TOOLS=1` turns that into a loud skip (returns false), for machines
/// where namespaces are not allowed; the test command never sets it.
pub fn require_real_tools() -> bool {
    if std::env::var_os("HAGEN_SKIP_REAL_TOOLS").is_some() {
        eprintln!("SKIPPED: HAGEN_SKIP_REAL_TOOLS is set; the real programs are not run");
        return false;
    }
    let uid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the real-tool tests need root (mount and network namespaces); run them as root \
         through scripts/test.sh, or set HAGEN_SKIP_REAL_TOOLS=1 to skip them knowingly"
    );
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, pkg)| *pkg)
        .collect();
    assert!(
        missing.is_empty(),
        "missing packages {missing:?}: run scripts/test.sh, which installs them"
    );
    let yaml = Command::new(PYTHON)
        .args(["-c", "import yaml"])
        .output()
        .expect("python3 runs");
    assert!(
        yaml.status.success(),
        "python3-yaml is missing: run scripts/test.sh, which installs it"
    );
    true
}

/// `tests/tools/NAME`.
pub fn tool(name: &str) -> PathBuf {
    root().join("tests/tools").join(name)
}

/// A unique name for this run: `hg<pid><tag>` (short, for namespace names).
pub fn run_name(tag: &str) -> String {
    format!("hg{}{tag}", std::process::id())
}

/// A private scratch directory (mode 0755, root's), removed on drop
/// (`HAGEN_KEEP_SCRATCH=1` keeps it for a post-mortem).
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new, empty directory under the system temp dir; the name has the PID and `tag`.
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("hagen-real-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let text = path.to_string_lossy();
        assert!(
            !text.contains(':') && !text.contains(','),
            "overlay layer paths may not contain `:` or `,`: {text}"
        );
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path/rel`.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("HAGEN_KEEP_SCRATCH").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        } else {
            eprintln!("kept {}", self.path.display());
        }
    }
}

/// Writes `bytes` at `path` with `mode`, creating parent directories with 0755.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    // 0755 at most whatever the umask: directories along a script's path must not be
    // group/world-writable (keepalived's enable_script_security).
    std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o755)
        .create(path.parent().unwrap())
        .unwrap();
    fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// One file of a bundle: path relative to the bundle, content, mode.
pub type BundleFile = (String, Vec<u8>, u32);

/// The files of a golden bundle directory, with the modes its MANIFEST gives (a git
/// checkout does not keep 0600/0755, and keepalived refuses a script that is not
/// executable, so modes must come from the manifest, as `hagen render` writes them).
/// Panics when the MANIFEST and the directory disagree.
pub fn golden_files(dir: &Path) -> Vec<BundleFile> {
    let manifest = fs::read_to_string(dir.join("MANIFEST"))
        .unwrap_or_else(|e| panic!("{}/MANIFEST: {e}", dir.display()));
    let mut files = Vec::new();
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let (mode, path) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad MANIFEST line {line:?}"));
        let mode = u32::from_str_radix(mode, 8).unwrap_or_else(|_| panic!("bad mode {line:?}"));
        let bytes = fs::read(dir.join(path))
            .unwrap_or_else(|e| panic!("{}/{path} (in MANIFEST): {e}", dir.display()));
        files.push((path.to_string(), bytes, mode));
    }
    files
}

/// Writes the files under `dest` with their modes; returns the node names found under
/// `nodes/`.
pub fn materialize(files: &[BundleFile], dest: &Path) -> Vec<String> {
    let mut nodes = Vec::new();
    for (path, bytes, mode) in files {
        write_file(&dest.join(path), bytes, *mode);
        if let Some(rest) = path.strip_prefix("nodes/") {
            let node = rest.split('/').next().unwrap().to_string();
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
    }
    nodes
}

/// A command run as if on a node: in a private mount namespace with `layers` (each a
/// directory standing for `/etc`, leftmost wins) over the host's `/etc`. With `ifaces`,
/// also in a fresh network namespace holding those interfaces (veths, up).
/// Run inside a named network namespace instead with [`in_netns`].
pub fn node_command(layers: &[&Path], ifaces: &[&str], program: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private"]);
    if !ifaces.is_empty() {
        cmd.arg("--net");
    }
    cmd.arg("--").arg(tool("node-exec.sh"));
    for i in ifaces {
        cmd.args(["--iface", i]);
    }
    cmd.arg(join_layers(layers)).arg(program);
    cmd.stdin(Stdio::null());
    cmd
}

/// Like [`node_command`], inside the named network namespace `netns`.
pub fn node_command_in(netns: &str, layers: &[&Path], program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
    ])
    .arg("--")
    .arg(tool("node-exec.sh"))
    .arg(join_layers(layers))
    .arg(program);
    cmd.stdin(Stdio::null());
    cmd
}

/// A plain command inside the named network namespace.
pub fn in_netns(netns: &str, program: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns, program]);
    cmd.stdin(Stdio::null());
    cmd
}

fn join_layers(layers: &[&Path]) -> String {
    assert!(!layers.is_empty());
    layers
        .iter()
        .map(|l| {
            let s = l.to_string_lossy().into_owned();
            assert!(
                !s.contains(':') && !s.contains(','),
                "overlay layer path with `:` or `,`: {s}"
            );
            s
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs `cmd` to completion, killing it after `limit`; returns its output.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    // Read the pipes on threads so a chatty program cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} ran longer than {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// stdout + stderr as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A process this test started; stopped on drop (SIGTERM, then SIGKILL after a bounded
/// wait), together with every descendant it had (nginx workers, keepalived's VRRP child),
/// each by its own PID.
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Self {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True while it runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Panics (with its log) if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status}):\n{}", self.name, self.log());
        }
    }

    /// SIGKILL to it and every descendant, each by PID, and reaps it.
    pub fn kill_hard(&mut self) {
        pids::kill_tree(&mut self.child);
    }

    /// SIGTERM, a bounded wait, then SIGKILL for whatever is left (it and descendants).
    pub fn stop(&mut self) {
        pids::stop_tree(&mut self.child);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Network namespaces this test made; each deleted by name on drop.
#[derive(Default)]
pub struct Netns {
    names: Vec<String>,
}

impl Netns {
    /// Creates the namespace `name` (with `lo` up) and remembers it.
    pub fn add(&mut self, name: &str) {
        assert!(name.len() <= 15, "keep netns names short: {name}");
        ip(&["netns", "add", name]);
        self.names.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in self.names.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", n])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Runs `ip ARGS`, panicking with its output on failure.
pub fn ip(args: &[&str]) -> String {
    let out = run_bounded(
        {
            let mut c = Command::new("ip");
            c.args(args);
            c
        },
        Duration::from_secs(10),
    );
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A throwaway cluster CA and, per control plane, an apiserver certificate, made with
/// openssl at test time, laid out as `/etc` overlay layers
/// (`kubernetes/pki/ca.crt`, `apiserver.crt`, `apiserver.key`). The one place that
/// stands for the bundle's own PKI until the bundle carries one.
pub struct TestPki {
    dir: PathBuf,
}

/// One API server certificate to make.
pub struct ApiServerCert<'a> {
    /// The node name (haproxy's `verifyhost`).
    pub node: &'a str,
    /// The node's address.
    pub ip: &'a str,
    /// The endpoint DNS name, the VIP and other SANs (IPs or names).
    pub extra_sans: &'a [&'a str],
}

impl TestPki {
    /// Makes the CA and every certificate under `dir`.
    pub fn new(dir: &Path, certs: &[ApiServerCert<'_>]) -> Self {
        let pki = Self {
            dir: dir.to_path_buf(),
        };
        fs::create_dir_all(dir).unwrap();
        let ca_dir = pki.common_layer().join("kubernetes/pki");
        fs::create_dir_all(&ca_dir).unwrap();
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=kubernetes",
                "-days",
                "2",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
            ],
        );
        fs::copy(dir.join("ca.crt"), ca_dir.join("ca.crt")).unwrap();
        for c in certs {
            let sans: Vec<&str> = [c.node, c.ip]
                .into_iter()
                .chain(c.extra_sans.iter().copied())
                .collect();
            pki.issue(c.node, &sans, &pki.layer(c.node).join("kubernetes/pki"));
        }
        pki
    }

    /// The PKI `hagen render` makes for `topology` (seeded, so reproducible), laid out like
    /// [`TestPki::new`]: the cluster CA, and per control plane its own `apiserver` pair.
    /// The failover tests use this one, so haproxy verifies the certificates hagen made
    /// against the CA hagen made.
    pub fn from_topology(dir: &Path, topology: &str) -> Self {
        let checked = hagen_core::check(&hagen_core::source::SourceFile::new("t.yaml", topology));
        let plan = checked.plan.expect("the test topology is valid");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let pki = hagen_core::pki::generate(
            &plan,
            &hagen_core::pki::Existing::none(),
            &mut hagen_core::pki::SeededEntropy::new(7),
            now,
        )
        .expect("the PKI is made");
        let file = |path: &str| -> Vec<u8> {
            pki.files
                .iter()
                .find(|(p, _)| p == path)
                .unwrap_or_else(|| panic!("the PKI has no {path}"))
                .1
                .bytes
                .clone()
        };
        let out = Self {
            dir: dir.to_path_buf(),
        };
        let first = plan.control_planes().next().expect("a control plane");
        let ca = file(&format!("nodes/{}/etc/kubernetes/pki/ca.crt", first.name));
        fs::create_dir_all(out.common_layer().join("kubernetes/pki")).unwrap();
        fs::write(out.ca(), &ca).unwrap();
        fs::write(out.common_layer().join("kubernetes/pki/ca.crt"), &ca).unwrap();
        for cp in plan.control_planes() {
            let d = out.layer(&cp.name).join("kubernetes/pki");
            fs::create_dir_all(&d).unwrap();
            for name in ["ca.crt", "apiserver.crt", "apiserver.key"] {
                let bytes = file(&format!("nodes/{}/etc/kubernetes/pki/{name}", cp.name));
                fs::write(d.join(name), bytes).unwrap();
            }
            fs::set_permissions(d.join("apiserver.key"), fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        out
    }

    /// Issues a serving certificate for `sans` as `apiserver.crt`/`.key` in `out`.
    pub fn issue(&self, tag: &str, sans: &[&str], out: &Path) {
        fs::create_dir_all(out).unwrap();
        fs::copy(self.ca(), out.join("ca.crt")).unwrap();
        let san = sans
            .iter()
            .map(|s| {
                if s.parse::<std::net::IpAddr>().is_ok() {
                    format!("IP:{s}")
                } else {
                    format!("DNS:{s}")
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let ext = self.dir.join(format!("{tag}.ext"));
        fs::write(
            &ext,
            format!(
                "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=serverAuth\n\
                 subjectAltName={san}\n"
            ),
        )
        .unwrap();
        let key = out.join("apiserver.key");
        let csr = self.dir.join(format!("{tag}.csr"));
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                csr.to_str().unwrap(),
                "-subj",
                "/CN=kube-apiserver",
            ],
        );
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                csr.to_str().unwrap(),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                ext.to_str().unwrap(),
                "-out",
                out.join("apiserver.crt").to_str().unwrap(),
            ],
        );
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The layer every node gets: `kubernetes/pki/ca.crt`.
    pub fn common_layer(&self) -> PathBuf {
        self.dir.join("layer-common")
    }

    /// The layer of a control plane: the CA and its apiserver pair.
    pub fn layer(&self, node: &str) -> PathBuf {
        self.dir.join(format!("layer-{node}"))
    }

    /// `kubernetes/pki/apiserver.{crt,key}` of a control plane.
    pub fn apiserver_pair(&self, node: &str) -> (PathBuf, PathBuf) {
        let d = self.layer(node).join("kubernetes/pki");
        (d.join("apiserver.crt"), d.join("apiserver.key"))
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let mut c = Command::new("openssl");
    c.args(args).current_dir(dir);
    let out = run_bounded(c, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        text(&out)
    );
}

/// Polls `f` every `every` until it returns Some or `limit` passes.
pub fn wait_for<T>(
    limit: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Appends a line to a log file (for a test's own timeline).
pub fn note(log: &Path, line: &str) {
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(f, "{line}");
    }
}
