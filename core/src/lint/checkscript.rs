//! KAL rules that read a keepalived check script as the program it is: the commands it
//! runs (`curl` without `--fail`, `systemctl stop keepalived`), the URLs it probes
//! (`http://` to the API server's TLS port, the VIP instead of this node) and the
//! address literals it holds (`192.168.2.250.250`, `$10.0.0.1`).
//!
//! They are [`CrossFn`](super::cross::CrossFn)s listed in [`cross::RULES`](super::cross::RULES):
//! a script is judged with the keepalived.conf that runs it (its VIP), and a file is a
//! check script when a `vrrp_script` of the run names it, whatever its name.

use super::cross::Run;
use super::{Parsed, at};
use crate::diag::{Diagnostics, Rule, Severity};
use crate::source::Span;

/// KAL012.
pub const CURL_WITHOUT_FAIL: Rule = Rule {
    code: "KAL012",
    name: "check-curl-without-fail",
    severity: Severity::Warning,
    summary: "The check script's `curl` has no `--fail`: an HTTP 401 or 500 counts as healthy",
    explain: "\
## What it checks
Each `curl` in a check script whose exit status decides the check (not piped into `grep`,
not captured with `$(…)`, no `-w '%{http_code}'`) for `-f` / `--fail`.

## Why it matters
Without `--fail`, curl exits 0 on any HTTP answer: an API server that answers 500
(etcd gone) or 403, or a load balancer's 503 page, counts as healthy, and the VIP stays
on a broken node. The kubeadm guide's first check script had this gap.

## Example
```
curl --silent --max-time 2 --insecure https://localhost:6443/ -o /dev/null || errorExit
```

## Fix
`curl -sfk --max-time 2 https://localhost:6443/readyz -o /dev/null || errorExit …`
",
};

/// KAL013.
pub const PLAIN_HTTP_TO_TLS_PORT: Rule = Rule {
    code: "KAL013",
    name: "check-plain-http-to-tls-port",
    severity: Severity::Error,
    summary: "The check script sends plain `http://` to the API server's TLS port",
    explain: "\
## What it checks
URLs in a check script with the `http://` scheme and the API server's port (6443, 8443,
16443, or the topology's ports).

## Why it matters
The API server and a TLS-passthrough load balancer speak TLS only and answer a plain
request with HTTP 400: with `--fail` the check always fails (no node ever holds the VIP
for long), without it the check always passes (it checks nothing).

## Example
```
curl -sf http://127.0.0.1:6443/healthz
```

## Fix
`curl -sfk https://127.0.0.1:6443/readyz` (or `--cacert /etc/kubernetes/pki/ca.crt`).
",
};

/// KAL014.
pub const CHECK_STOPS_KEEPALIVED: Rule = Rule {
    code: "KAL014",
    name: "check-stops-keepalived",
    severity: Severity::Warning,
    summary: "The check script stops keepalived itself",
    explain: "\
## What it checks
`systemctl stop keepalived`, `service keepalived stop`, `killall keepalived` or
`pkill keepalived` in a check script.

## Why it matters
A check reports health through its exit status and keepalived moves the VIP. A check
that stops keepalived takes the node out for good: nothing starts keepalived again when
the API server recovers, and when every node has hit one failure the VIP is gone.

## Example
```
if ! curl -sfk https://localhost:6443/readyz; then systemctl stop keepalived; fi
```

## Fix
`exit 1` on failure and let the vrrp_script's `weight` (or FAULT state) move the VIP.
",
};

/// KAL015.
pub const MALFORMED_ADDRESS: Rule = Rule {
    code: "KAL015",
    name: "check-malformed-address",
    severity: Severity::Error,
    summary: "The check script holds an address no host has (`192.168.2.250.250`, `$10.0.0.1`)",
    explain: "\
## What it checks
IPv4-looking literals in a check script: five numbers, or a number over 255; and `$`
followed by digits (`$10.240.10.10`), which the shell reads as the positional parameter
`$1` followed by `0.240.10.10`.

## Why it matters
The check compares with or probes an address that cannot match: `ip addr | grep -q`
never finds it, `curl` never connects. The check then always fails (the VIP never
settles) or, behind `if`, never runs.

## Example
```
APISERVER_VIP=192.168.2.250.250
if ip addr | grep -q $10.240.10.10; then
```

## Fix
Write the address once, correctly, and reference it as `${APISERVER_VIP}`.
",
};

/// KAL016.
pub const PROBES_ONLY_THE_VIP: Rule = Rule {
    code: "KAL016",
    name: "check-probes-only-the-vip",
    severity: Severity::Warning,
    summary: "The check script probes only the VIP, not this node",
    explain: "\
## What it checks
A check script whose probes all go to the VIP (a `*VIP*` variable or the VIP of the
keepalived.conf that runs it), with no probe of this node (`localhost`, `127.0.0.1`) and
no `ip addr | grep` guard that limits the VIP probe to the node holding it.

## Why it matters
Every node then reports the health of whichever node holds the VIP, not its own: a
backup with a dead API server looks healthy and can take the VIP; when the holder
fails, every node's check fails at once.

## Example
```
curl -sfk https://${APISERVER_VIP}:8443/readyz -o /dev/null || exit 1
```

## Fix
Probe this node (`https://localhost:<port>/readyz`) and probe the VIP only
`if ip addr | grep -q ${APISERVER_VIP}`, as the kubeadm guide's script does.
",
};

/// KAL021.
pub const LISTEN_ONLY_CHECK: Rule = Rule {
    code: "KAL021",
    name: "check-only-sees-a-listener",
    severity: Severity::Info,
    summary: "The check script only sees that a port listens or a process exists",
    explain: "\
## What it checks
Check scripts whose only test is `ss`/`netstat`/`lsof` piped into `grep <port>`, or a
process lookup (`pidof`, `pgrep`, `killall -0`, `ps … | grep`), with no request to the
API server or the load balancer (`curl`, `wget`, `nc`, `/dev/tcp`).

## Why it matters
A port that listens and a process that exists are not an API server that answers: a
haproxy with every backend down, or an API server without etcd, passes, and the VIP stays
where nothing works. An info: such a check is better than none.

## Example
```
ss -lnt | grep -q ':6443' || exit 1
```

## Fix
Ask the API through the local load balancer:
`curl -sfk --max-time 2 https://localhost:8443/readyz -o /dev/null || exit 1`.
",
};

/// KAL025.
pub const VARIABLE_UNDEFINED: Rule = Rule {
    code: "KAL025",
    name: "check-variable-undefined",
    severity: Severity::Warning,
    summary: "The check script uses a variable it never sets: it expands to nothing",
    explain: "\
## What it checks
A check script that sets some variables itself (`APISERVER_DEST_PORT=6443`) and uses
another one (`$APISERVER_VIP`) that it never sets: no assignment, `read`, `for`,
`export` or `local`, no file sourced, not an argument (`$1`) and not one of the shell's
own (`$HOME`, `$PATH`, `$HOSTNAME`…). A template (`.tpl`, `.j2`) is left alone.

## Why it matters
keepalived runs a `vrrp_script` with an almost empty environment, so the variable is
empty: `grep -q ${APISERVER_VIP}` becomes `grep -q` with no pattern (an error, so the
branch is skipped), and `https://${APISERVER_VIP}:6443/` a URL without a host. The
check looks complete but one of its probes never runs. Often a copy-paste slip: the
value was assigned to the wrong name.

## Example
```sh
APISERVER_DEST_PORT=172.21.64.64   # meant APISERVER_VIP=
APISERVER_DEST_PORT=8443
if ip addr | grep -q ${APISERVER_VIP}; then
```

## Fix
Set the variable in the script (`APISERVER_VIP=172.21.64.64`), or write the value.
",
};

/// Variables every shell or keepalived provides.
const SHELL_VARIABLES: &[&str] = &[
    "HOME",
    "PATH",
    "HOSTNAME",
    "USER",
    "PWD",
    "OLDPWD",
    "SHELL",
    "RANDOM",
    "LINENO",
    "SECONDS",
    "IFS",
    "UID",
    "EUID",
    "PPID",
    "TERM",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "HOSTTYPE",
    "OSTYPE",
    "MACHTYPE",
    "BASHPID",
    "FUNCNAME",
    "PIPESTATUS",
    "REPLY",
    "OPTARG",
    "OPTIND",
];

/// KAL025.
pub fn variable_undefined(run: &Run<'_>, out: &mut Diagnostics) {
    for (file, text) in check_scripts(run) {
        let name = run.files[file].name.to_ascii_lowercase();
        if [".tpl", ".j2", ".tmpl", ".template"]
            .iter()
            .any(|e| name.ends_with(e))
            || super::template_marker(text).is_some()
        {
            continue;
        }
        let lines = code_lines(text);
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut set: Vec<&str> = Vec::new();
        let mut sources = false;
        for (_, code) in &lines {
            let words: Vec<&str> = code.split_whitespace().collect();
            for (i, w) in words.iter().enumerate() {
                let w = w.trim_start_matches(['(', '{', ';']);
                if let Some((n, _)) = w.split_once('=')
                    && !n.is_empty()
                    && n.chars().all(ident)
                    && !n.starts_with(|c: char| c.is_ascii_digit())
                {
                    set.push(n);
                }
                match w {
                    "source" | "." if i == 0 || words[i - 1].ends_with(';') => sources = true,
                    "read" | "for" | "local" | "export" | "declare" | "readonly" | "getopts" => {
                        set.extend(
                            words[i + 1..]
                                .iter()
                                .take_while(|a| *a != &"in" && *a != &"do")
                                .map(|a| a.split('=').next().unwrap_or(a))
                                .filter(|a| !a.starts_with('-')),
                        );
                    }
                    _ => {}
                }
            }
        }
        if sources || set.is_empty() {
            continue;
        }
        let mut reported: Vec<&str> = Vec::new();
        for (offset, code) in &lines {
            let b = code.as_bytes();
            let mut i = 0;
            while let Some(p) = code[i..].find('$') {
                let at_ = i + p;
                i = at_ + 1;
                let (start, braced) = match b.get(at_ + 1) {
                    Some(b'{') => (at_ + 2, true),
                    _ => (at_ + 1, false),
                };
                let len = code[start..].chars().take_while(|c| ident(*c)).count();
                if len == 0 {
                    continue;
                }
                let v = &code[start..start + len];
                // `${VAR:-x}`, `${VAR-x}`, `${#VAR}`: a default or a length, not a bare use.
                if braced && !code[start + len..].starts_with('}') {
                    continue;
                }
                if v.starts_with(|c: char| c.is_ascii_digit())
                    || set.contains(&v)
                    || SHELL_VARIABLES.contains(&v)
                    || v.starts_with("BASH")
                    || reported.contains(&v)
                {
                    continue;
                }
                // A `'…'` string is not expanded.
                if code[..at_].matches('\'').count() % 2 == 1 {
                    continue;
                }
                reported.push(v);
                let end = if braced { start + len + 1 } else { start + len };
                let mut d = at(
                    &VARIABLE_UNDEFINED,
                    Span::new(offset + at_, offset + end),
                    format!("`{}` is set nowhere in this script: keepalived runs it with an almost empty environment, so it expands to nothing", &code[at_..end]),
                )
                .help(format!("set `{v}=…` at the top of the script, or write the value"));
                d.file = file;
                out.push(d);
            }
        }
    }
}

/// KAL023.
pub const RETRIES_OUTLAST_TIMEOUT: Rule = Rule {
    code: "KAL023",
    name: "check-retries-outlast-timeout",
    severity: Severity::Warning,
    summary: "The check script's retry loop runs longer than the vrrp_script's `timeout`",
    explain: "\
## What it checks
A check script and the keepalived.conf whose `vrrp_script` runs it with a literal
`timeout`: each `for` loop with a countable list (`1 2 3`, `{1..5}`, `$(seq 3)`),
its `sleep`s and its probes' own limits (`curl --max-time`/`-m`, `timeout N cmd`).
It warns when the loop's sleeps alone, if every attempt fails, add up to more than the
timeout, or when every probe in it is bounded and attempts × (limit + sleep) does.
A loop left early on failure (`|| exit 1`, `|| break`), a count or sleep from a
variable, a nested loop or a vrrp_script without `timeout` say nothing.

## Why it matters
keepalived kills a script that outlives `timeout` and counts it as failed. The retries
that were meant to ride out a slow API server never run: one slow answer is a failure,
and with `fall 1` the VIP moves on a blip, while the loop's author believes the check
tolerates it.

## Example
```
vrrp_script check_apiserver {             for i in 1 2 3; do
    script \"/etc/keepalived/check.sh\"        curl -sfk https://localhost:6443/readyz && exit 0
    timeout 3                                 sleep 5
}                                         done; exit 1
```

## Fix
Keep one attempt per run (`curl -sfk --max-time 2 …`) and let `fall`/`rise` do the
retrying, or raise `timeout` above the loop's worst case (and `interval` with it).
",
};

/// The check scripts of a run with their text, by file id.
fn check_scripts<'a>(run: &'a Run<'_>) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    run.parsed
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, Some(Parsed::CheckScript(_))))
        .map(|(i, _)| (i, run.files[i].text.as_str()))
}

/// Commands written inline in a keepalived.conf (`script "/usr/bin/curl -k https://…"`,
/// `script "killall -0 haproxy"`): the file, the span of the value and its text.
fn inline_commands(run: &Run<'_>) -> Vec<(usize, Span, String)> {
    let mut v = Vec::new();
    for (i, p) in run.parsed.iter().enumerate() {
        let Some(Parsed::Keepalived(cfg)) = p else {
            continue;
        };
        for (item, _, _) in crate::lint::keepalived::scripts(cfg) {
            let Some(w) = item.get("script").and_then(|s| s.words.get(1)) else {
                continue;
            };
            let first = w.text.split_whitespace().next().unwrap_or("");
            // A path to a script file is the script's business, not an inline command.
            let shell = matches!(first.rsplit('/').next(), Some("sh" | "bash"));
            let file = first.ends_with(".sh")
                || first.ends_with(".py")
                || shell && w.text.split_whitespace().nth(1).is_none_or(|a| a != "-c");
            if !file {
                v.push((i, w.span, w.text.clone()));
            }
        }
    }
    v
}

/// True if a `curl` command (one pipeline stage) would pass on any HTTP answer.
fn curl_lacks_fail(stage: &str) -> bool {
    let fails = stage.split_whitespace().any(|w| {
        w == "--fail"
            || w == "--fail-with-body"
            || w.starts_with('-')
                && !w.starts_with("--")
                && w[1..].bytes().all(|b| b.is_ascii_alphabetic())
                && w.contains('f')
    });
    let status =
        stage.contains("-w") || stage.contains("--write-out") || stage.contains("http_code");
    !fails && !status
}

/// The code of each line of a shell script with its offset: the comment cut (a `#` at
/// the start of a word, outside quotes).
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut v = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut end = line.len();
        for (i, c) in line.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == '#'
                    && (prev.is_whitespace() || prev == ';')
                    && !line[..i].ends_with('$') =>
                {
                    end = i;
                    break;
                }
                None => {}
            }
            prev = c;
        }
        v.push((offset, &line[..end]));
        offset += raw.len();
    }
    v
}

/// The words of `code` that are the command `name` (at a word boundary), with offsets.
fn commands<'a>(code: &'a str, name: &'a str) -> impl Iterator<Item = usize> + 'a {
    code.match_indices(name).filter_map(move |(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + name.len()..].chars().next();
        let starts =
            before.is_none_or(|c| c.is_whitespace() || matches!(c, ';' | '(' | '`' | '|' | '&'));
        let ends = after.is_none_or(|c| c.is_whitespace() || c == ';');
        (starts && ends).then_some(i)
    })
}

/// The ports the API server and its load balancer listen on.
fn api_ports(run: &Run<'_>) -> Vec<u16> {
    let mut v = vec![6443, 8443, 16443];
    if let Some(plan) = run.plan {
        v.extend([plan.bind_port, plan.endpoint.port]);
    }
    v
}

/// KAL012.
pub fn curl_without_fail(run: &Run<'_>, out: &mut Diagnostics) {
    curl_without_fail_inline(run, out);
    for (file, text) in check_scripts(run) {
        let lines = code_lines(text);
        for (n, (offset, code)) in lines.iter().enumerate() {
            for i in commands(code, "curl") {
                // The command: to the end of the pipeline stage, following `\` lines.
                let mut cmd = code[i..].to_string();
                let mut k = n;
                while cmd.trim_end().ends_with('\\') && k + 1 < lines.len() {
                    k += 1;
                    cmd.push(' ');
                    cmd.push_str(lines[k].1);
                }
                let stage_end = cmd
                    .find(['|', ';', ')', '`'])
                    .or_else(|| cmd.find("&&"))
                    .unwrap_or(cmd.len());
                let piped =
                    cmd[stage_end..].starts_with('|') && !cmd[stage_end..].starts_with("||");
                let stage = &cmd[..stage_end];
                let before = &code[..i];
                let captured = before.contains("$(") || before.matches('`').count() % 2 == 1;
                // `out=$(curl -k …)` then `[[ $out == "" ]]`: any answer with a body
                // passes, as without the capture.
                let only_emptiness = captured && captured_tested_for_empty(before, text);
                if !curl_lacks_fail(stage) || piped || captured && !only_emptiness {
                    continue;
                }
                out.push({
                    let mut d = at(
                        &CURL_WITHOUT_FAIL,
                        Span::new(offset + i, offset + i + 4),
                        "`curl` without `--fail` exits 0 on any HTTP answer: a 401, 403 or 500 from the API server counts as healthy",
                    )
                    .help("add `-f` (`curl -sfk --max-time 2 https://localhost:6443/readyz`)");
                    d.file = file;
                    d
                });
            }
        }
    }
}

/// True if the output captured by `before` (`name=$(`…) is then only tested for being
/// empty (`[[ $name == "" ]]`, `[ -z "$name" ]`, `-n`) in the script `text`.
fn captured_tested_for_empty(before: &str, text: &str) -> bool {
    let Some(assign) = before.trim_end().strip_suffix("$(") else {
        return false;
    };
    let Some(name) = assign.strip_suffix('=').map(|n| {
        let start = n
            .char_indices()
            .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        &n[start..]
    }) else {
        return false;
    };
    if name.is_empty() {
        return false;
    }
    let uses = [format!("${name}"), format!("${{{name}}}")];
    let squeeze = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut tested = false;
    for line in text.lines() {
        let l = squeeze(&line.replace(['"', '\''], ""));
        for u in &uses {
            if !l.contains(u.as_str()) || l.contains(&format!("{name}=$(")) {
                continue;
            }
            let empty_test = l.contains(&format!("-z {u}"))
                || l.contains(&format!("-n {u}"))
                || l.contains(&format!("{u} == ]"))
                || l.contains(&format!("{u} = ]"))
                || l.contains(&format!("{u} != ]"));
            if !empty_test {
                return false;
            }
            tested = true;
        }
    }
    tested
}

/// KAL012 on commands written inline in keepalived.conf.
fn curl_without_fail_inline(run: &Run<'_>, out: &mut Diagnostics) {
    for (file, span, cmd) in inline_commands(run) {
        let curl = cmd
            .split_whitespace()
            .next()
            .is_some_and(|w| w.rsplit('/').next() == Some("curl"));
        if curl && !cmd.contains('|') && curl_lacks_fail(&cmd) {
            let mut d = at(
                &CURL_WITHOUT_FAIL,
                span,
                "the vrrp_script runs `curl` without `--fail`: it exits 0 on any HTTP answer, so a 401, 403 or 500 counts as healthy",
            )
            .help("add `-f` (`curl -sfk --max-time 2 https://localhost:6443/readyz`)");
            d.file = file;
            out.push(d);
        }
    }
}

/// KAL013.
pub fn plain_http_to_tls_port(run: &Run<'_>, out: &mut Diagnostics) {
    let ports = api_ports(run);
    for (file, text) in check_scripts(run) {
        for (offset, code) in code_lines(text) {
            for (i, _) in code.match_indices("http://") {
                let rest = &code[i + 7..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'' | ')' | '`'))
                    .unwrap_or(rest.len());
                let hostport = &rest[..end];
                let Some(port) = hostport
                    .rsplit_once(':')
                    .and_then(|(_, p)| p.parse::<u16>().ok())
                else {
                    continue;
                };
                if ports.contains(&port) {
                    let mut d = at(
                        &PLAIN_HTTP_TO_TLS_PORT,
                        Span::new(offset + i, offset + i + 7 + end),
                        format!("`http://{hostport}` speaks plain HTTP to port {port}, where the API server speaks TLS only: every answer is a 400"),
                    )
                    .help("use `https://` (with `-k` or `--cacert /etc/kubernetes/pki/ca.crt`)");
                    d.file = file;
                    out.push(d);
                }
            }
        }
    }
}

/// KAL014.
pub fn check_stops_keepalived(run: &Run<'_>, out: &mut Diagnostics) {
    for (file, text) in check_scripts(run) {
        for (offset, code) in code_lines(text) {
            // `/usr/bin/systemctl stop keepalived` is `systemctl stop keepalived`.
            let words: Vec<&str> = code
                .split_whitespace()
                .map(|w| w.rsplit('/').next().unwrap_or(w))
                .collect();
            let stops = words.windows(3).any(|w| {
                w == ["systemctl", "stop", "keepalived"]
                    || w == ["systemctl", "stop", "keepalived.service"]
                    || w == ["service", "keepalived", "stop"]
            }) || words.windows(2).any(|w| {
                matches!(w[0], "killall" | "pkill") && w[1].trim_end_matches(';') == "keepalived"
            }) || words.windows(3).any(|w| {
                matches!(w[0], "killall" | "pkill")
                    && w[1].starts_with('-')
                    && w[1] != "-0"
                    && w[2].trim_end_matches(';') == "keepalived"
            });
            if stops {
                let start = code.len() - code.trim_start().len();
                let mut d = at(
                    &CHECK_STOPS_KEEPALIVED,
                    Span::new(offset + start, offset + code.trim_end().len()),
                    "the check script stops keepalived: nothing starts it again when the API server recovers, and the node leaves VRRP for good",
                )
                .help("`exit 1` instead, and let the vrrp_script's weight move the VIP");
                d.file = file;
                out.push(d);
            }
        }
    }
}

/// KAL015.
pub fn malformed_address(run: &Run<'_>, out: &mut Diagnostics) {
    for (file, text) in check_scripts(run) {
        for (offset, code) in code_lines(text) {
            let b = code.as_bytes();
            let mut i = 0;
            while i < b.len() {
                let boundary = i == 0
                    || !(b[i - 1].is_ascii_alphanumeric()
                        || matches!(b[i - 1], b'.' | b'-' | b'_'));
                if !(boundary
                    && (b[i].is_ascii_digit()
                        || b[i] == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
                {
                    i += 1;
                    continue;
                }
                let start = i;
                let mut j = if b[i] == b'$' { i + 1 } else { i };
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                let word = code[start..j].trim_end_matches('.');
                let end = start + word.len();
                let letters_follow = b
                    .get(j)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'-' || *c == b'_');
                i = j.max(i + 1);
                if letters_follow {
                    continue;
                }
                let digits = word.trim_start_matches('$');
                let parts: Vec<&str> = digits.split('.').collect();
                let why = if word.starts_with('$')
                    && parts.len() == 4
                    && parts.iter().all(|p| !p.is_empty())
                {
                    Some(format!(
                        "the shell reads `{word}` as `${}` (the script's argument, empty) followed by `{}`",
                        &digits[..1],
                        &digits[1..]
                    ))
                } else if word.starts_with('$') {
                    None
                } else if parts.len() > 4
                    && parts.len() <= 6
                    && parts.iter().all(|p| !p.is_empty() && p.len() <= 3)
                    && parts.iter().any(|p| p.parse::<u16>().is_ok_and(|n| n > 99))
                {
                    Some(format!(
                        "`{word}` has {} numbers: it is not an IPv4 address",
                        parts.len()
                    ))
                } else if parts.len() == 4
                    && parts.iter().all(|p| !p.is_empty() && p.len() <= 3)
                    && parts
                        .iter()
                        .any(|p| p.parse::<u16>().is_ok_and(|n| n > 255))
                {
                    Some(format!(
                        "`{word}` has a number over 255: it is not an IPv4 address"
                    ))
                } else {
                    None
                };
                if let Some(why) = why {
                    let mut d = at(
                        &MALFORMED_ADDRESS,
                        Span::new(offset + start, offset + end),
                        format!("{why}; the check compares with or probes an address no host has"),
                    )
                    .help("write the address correctly, once, and use it as `${APISERVER_VIP}`");
                    d.file = file;
                    out.push(d);
                }
            }
        }
    }
}

/// KAL016.
pub fn probes_only_the_vip(run: &Run<'_>, out: &mut Diagnostics) {
    for (file, text) in check_scripts(run) {
        let Some(Parsed::CheckScript(script)) = &run.parsed[file] else {
            continue;
        };
        let mut vips: Vec<String> = run
            .kals_beside(file)
            .flat_map(|k| k.inst.vips.iter().map(|(v, _)| v.clone()))
            .collect();
        // Without the keepalived.conf, `APISERVER_VIP=10.0.0.100` names the VIP (with
        // it, a different address is KAL009's finding).
        for (_, code) in code_lines(text) {
            if vips.is_empty()
                && let Some((name, value)) = code.trim().split_once('=')
                && name.to_ascii_uppercase().contains("VIP")
            {
                vips.push(value.trim_matches(['"', '\'']).to_string());
            }
        }
        let guarded = [
            "ip addr",
            "ip a ",
            "ip -4 a",
            "ip -o a",
            "ip address",
            "hostname -I",
            "ip -br a",
        ]
        .iter()
        .any(|g| text.contains(g));
        let probes: Vec<&(String, Option<u16>, Span)> =
            script.targets.iter().filter(|t| !t.0.is_empty()).collect();
        let local = probes.iter().any(|t| {
            let h = crate::net::Host::parse(&t.0);
            h.is_loopback() || h.is_unspecified() || t.0 == "localhost"
        }) || text.contains("localhost")
            || text.contains("127.0.0.1");
        let to_vip: Vec<&&(String, Option<u16>, Span)> =
            probes.iter().filter(|t| vips.contains(&t.0)).collect();
        if guarded || local || to_vip.is_empty() || to_vip.len() != probes.len() {
            continue;
        }
        let t = to_vip[0];
        let mut d = at(
            &PROBES_ONLY_THE_VIP,
            t.2,
            format!("the check script probes only the VIP {}: every node reports the health of the node holding it, not its own", t.0),
        )
        .help("probe this node (`https://localhost:<port>/readyz`), and the VIP only `if ip addr | grep -q <VIP>`");
        d.file = file;
        out.push(d);
    }
}

/// KAL021.
pub fn listen_only_check(run: &Run<'_>, out: &mut Diagnostics) {
    listen_only_inline(run, out);
    for (file, text) in check_scripts(run) {
        let lines = code_lines(text);
        let probes = lines.iter().any(|(_, c)| {
            [
                "curl", "wget", "nc", "ncat", "openssl", "kubectl", "socat", "timeout",
            ]
            .iter()
            .any(|cmd| commands(c, cmd).next().is_some())
                || c.contains("/dev/tcp/")
        });
        if probes {
            continue;
        }
        let weak = lines.iter().find(|(_, c)| {
            let listens = ["ss", "netstat", "lsof"]
                .iter()
                .any(|cmd| commands(c, cmd).next().is_some())
                && c.contains("grep");
            let process = ["pidof", "pgrep"]
                .iter()
                .any(|cmd| commands(c, cmd).next().is_some())
                || c.contains("killall -0")
                || commands(c, "ps").next().is_some() && c.contains("grep");
            listens || process
        });
        if let Some((offset, code)) = weak {
            let start = code.len() - code.trim_start().len();
            let mut d = at(
                &LISTEN_ONLY_CHECK,
                Span::new(offset + start, offset + code.trim_end().len()),
                "the check only sees a listening port or a running process: an API server without etcd, or a load balancer with every backend down, passes it",
            )
            .help("ask the API: `curl -sfk --max-time 2 https://localhost:<port>/readyz -o /dev/null || exit 1`");
            d.file = file;
            out.push(d);
        }
    }
}

/// KAL021 on commands written inline in keepalived.conf.
fn listen_only_inline(run: &Run<'_>, out: &mut Diagnostics) {
    for (file, span, cmd) in inline_commands(run) {
        let first = cmd.split_whitespace().next().unwrap_or("");
        let base = first.rsplit('/').next().unwrap_or(first);
        let process = matches!(base, "pidof" | "pgrep") || cmd.contains("killall -0");
        let listens =
            ["netstat", "ss ", "lsof"].iter().any(|c| cmd.contains(c)) && cmd.contains("grep");
        let asks = ["curl", "wget", "nc ", "/dev/tcp/"]
            .iter()
            .any(|c| cmd.contains(c));
        if (process || listens) && !asks {
            let mut d = at(
                &LISTEN_ONLY_CHECK,
                span,
                "the vrrp_script only checks that a process exists or a port listens: a load balancer with every backend down, or an API server without etcd, passes it",
            )
            .help("run a script that asks the API: `curl -sfk --max-time 2 https://localhost:<port>/readyz`");
            d.file = file;
            out.push(d);
        }
    }
}

/// The number of items a `for` header iterates over, when it is written out.
fn loop_count(header: &str) -> Option<u64> {
    let rest = header.trim().strip_prefix("for ")?;
    let rest = rest.split(';').next()?.trim();
    let mut words = rest.split_whitespace();
    let _var = words.next()?;
    if words.next()? != "in" {
        return None;
    }
    let list: Vec<&str> = words.take_while(|w| *w != "do").collect();
    let joined = list.join(" ");
    let seq = joined
        .strip_prefix("$(seq ")
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| {
            joined
                .strip_prefix("`seq ")
                .and_then(|r| r.strip_suffix('`'))
        });
    if let Some(args) = seq {
        let n: Vec<u64> = args
            .split_whitespace()
            .map(|a| a.parse().ok())
            .collect::<Option<_>>()?;
        return match n[..] {
            [b] => Some(b),
            [a, b] if b >= a => Some(b - a + 1),
            _ => None,
        };
    }
    if let [one] = list[..]
        && let Some(range) = one.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
        && let Some((a, b)) = range.split_once("..")
    {
        let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        return (b >= a).then(|| b - a + 1);
    }
    if list.is_empty()
        || list
            .iter()
            .any(|w| w.contains(['$', '`', '*', '?', '{', '(']))
    {
        return None;
    }
    Some(list.len() as u64)
}

/// Seconds of a `sleep` argument (`5`, `0.5`, `2s`, `1m`), in milliseconds.
fn sleep_ms(arg: &str) -> Option<u64> {
    let arg = arg.trim_end_matches(';');
    let (num, unit) = match arg.strip_suffix('s') {
        Some(n) => (n, 1000.0),
        None => match arg.strip_suffix('m') {
            Some(n) => (n, 60_000.0),
            None => (arg, 1000.0),
        },
    };
    let v: f64 = num.parse().ok()?;
    (v >= 0.0).then_some((v * unit) as u64)
}

/// What one loop body costs: the sleeps if every attempt fails, and the probes' limits
/// (`None` when a probe has no limit). `None` when the body cannot be judged.
fn body_cost(body: &[&str]) -> Option<(u64, Option<u64>)> {
    let mut sleep = 0u64;
    let mut limits = Some(0u64);
    let mut wrapped = false;
    for code in body {
        let words: Vec<&str> = code.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let w = w.trim_start_matches(['(', '{']);
            // `curl … || errorExit "…"`: a failing attempt may leave the loop.
            if i > 0
                && words[i - 1] == "||"
                && !matches!(
                    w,
                    "sleep" | "echo" | "continue" | "continue;" | "true" | ":"
                )
            {
                return None;
            }
            match w {
                "for" | "while" | "until" => return None,
                "break" | "break;" | "exit" | "return" | "continue" | "continue;" => {
                    // Leaving on success (`&& exit 0`, `exit 0`) keeps the failing path.
                    let success = i > 0 && words[i - 1] == "&&"
                        || words
                            .get(i + 1)
                            .is_some_and(|n| n.trim_end_matches(';') == "0")
                            && w != "break";
                    let cont = w.starts_with("continue") && !(i > 0 && words[i - 1] == "||");
                    if !success && !cont {
                        return None;
                    }
                }
                "sleep" => sleep += sleep_ms(words.get(i + 1)?)?,
                "curl" | "wget" | "nc" | "kubectl" if !wrapped => {
                    let rest = &words[i + 1..];
                    let limit = rest.iter().enumerate().find_map(|(j, a)| {
                        let v = match (w, *a) {
                            ("curl", "--max-time" | "-m") | ("nc", "-w") => {
                                rest.get(j + 1).copied()
                            }
                            ("curl", _) => a
                                .strip_prefix("--max-time=")
                                .or_else(|| a.strip_prefix("-m").filter(|d| !d.is_empty())),
                            ("kubectl", _) => a.strip_prefix("--request-timeout="),
                            _ => None,
                        }?;
                        sleep_ms(v)
                    });
                    let retries = rest.iter().any(|a| a.starts_with("--retry"));
                    limits = limits.zip(limit.filter(|_| !retries)).map(|(a, b)| a + b);
                }
                "curl" | "wget" | "nc" | "kubectl" => wrapped = false,
                "timeout" => {
                    // `timeout 2 curl …`: the wrapper bounds the command after it.
                    if let Some(t) = words.get(i + 1).and_then(|a| sleep_ms(a)) {
                        limits = limits.map(|a| a + t);
                        wrapped = true;
                    }
                }
                _ => {}
            }
        }
    }
    Some((sleep, limits))
}

/// KAL023.
pub fn retries_outlast_timeout(run: &Run<'_>, out: &mut Diagnostics) {
    for (ci, p) in run.parsed.iter().enumerate() {
        let Some(Parsed::Keepalived(cfg)) = p else {
            continue;
        };
        for (item, cmd, _) in crate::lint::keepalived::scripts(cfg) {
            let Some(path) = cmd.and_then(|c| c.split_whitespace().next()) else {
                continue;
            };
            let Some(t) = item.get("timeout").and_then(|t| t.words.get(1)) else {
                continue;
            };
            let Ok(timeout) = t.text.parse::<u64>() else {
                continue;
            };
            let Some(script) =
                crate::lint::keepalived::find_script(&run.files[ci], run.files, run.index, path)
            else {
                continue;
            };
            let Some(si) = run.files.iter().position(|f| std::ptr::eq(f, script)) else {
                continue;
            };
            if !matches!(run.parsed[si], Some(Parsed::CheckScript(_))) {
                continue;
            }
            let lines = code_lines(&script.text);
            let mut n = 0;
            while n < lines.len() {
                let (offset, code) = lines[n];
                let head = code.trim_start();
                let Some(count) = head.starts_with("for ").then(|| loop_count(head)).flatten()
                else {
                    n += 1;
                    continue;
                };
                // The body: to the `done` that closes this loop (one line or many).
                let mut body: Vec<&str> = Vec::new();
                let mut end = None;
                let first = head.split_once(" do").map(|(_, b)| b).unwrap_or("");
                let mut parts: Vec<&str> = vec![first];
                parts.extend(lines[n + 1..].iter().map(|l| l.1));
                for (j, part) in parts.iter().enumerate() {
                    let words: Vec<&str> = part
                        .split(|c: char| c.is_whitespace() || c == ';')
                        .filter(|w| !w.is_empty())
                        .collect();
                    if words.contains(&"done") {
                        body.push(part.split("done").next().unwrap_or(""));
                        end = Some(n + j);
                        break;
                    }
                    body.push(part);
                }
                let Some(end) = end else { break };
                n = end + 1;
                let Some((sleep, limits)) = body_cost(&body) else {
                    continue;
                };
                let least = sleep * count.saturating_sub(1);
                let worst = limits.map(|l| (l + sleep) * count);
                let limit_ms = timeout * 1000;
                if least <= limit_ms && worst.is_none_or(|w| w <= limit_ms) {
                    continue;
                }
                let how = match worst {
                    Some(w) if least > limit_ms => format!(
                        "at least {} s in sleeps (up to {} s if the probes hang)",
                        least.div_ceil(1000),
                        w.div_ceil(1000)
                    ),
                    Some(w) => format!("up to {} s if the probes hang", w.div_ceil(1000)),
                    None => format!("at least {} s in sleeps", least.div_ceil(1000)),
                };
                let start = code.len() - head.len();
                let mut d = at(
                    &RETRIES_OUTLAST_TIMEOUT,
                    Span::new(offset + start, offset + code.trim_end().len()),
                    format!("this loop of {count} attempts takes {how} when the check fails, longer than the vrrp_script's `timeout {timeout}`: keepalived kills the script first, so the retries never run"),
                )
                .help("one attempt per run with `curl --max-time`, and let `fall`/`rise` retry; or raise `timeout` (and `interval`) above the loop's worst case");
                d.file = si;
                d.labels.push(crate::diag::Label {
                    file: ci,
                    span: t.span,
                    message: "the vrrp_script's timeout".into(),
                });
                out.push(d);
            }
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn loop_counts() {
        assert_eq!(loop_count("for i in 1 2 3; do"), Some(3));
        assert_eq!(loop_count("for i in {1..5}"), Some(5));
        assert_eq!(loop_count("for i in $(seq 4); do"), Some(4));
        assert_eq!(loop_count("for i in $(seq 2 4); do"), Some(3));
        assert_eq!(loop_count("for i in $RETRIES; do"), None);
        assert_eq!(loop_count("for f in /etc/*.conf; do"), None);
    }

    #[test]
    fn body_costs() {
        let b = [
            "  curl -sf -m 2 https://localhost:6443/ && exit 0",
            "  sleep 5",
        ];
        assert_eq!(body_cost(&b), Some((5000, Some(2000))));
        let b = ["  curl -sf https://localhost:6443/ || exit 1", "  sleep 5"];
        assert_eq!(body_cost(&b), None);
        let b = [
            "  timeout 2 curl -sf https://localhost:6443/ && break",
            "  sleep 1s",
        ];
        assert_eq!(body_cost(&b), Some((1000, Some(2000))));
        let b = ["  curl -sf https://localhost:6443/ && exit 0", "  sleep $D"];
        assert_eq!(body_cost(&b), None);
    }
}
