//! KAL rules: keepalived (VRRP) holding the API VIP, and its track scripts.

pub mod parse;

use super::files::{self as lint_files, FileIndex};
use super::{Ctx, Kind, at, general};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::source::{SourceFile, Span};
use parse::{Config, Item};

/// A single-file keepalived rule.
pub type CheckFn = fn(&Config, &Ctx<'_>, &mut Diagnostics);

/// Every single-file KAL rule with its check, sorted by code. KAL004 (which looks for
/// the tracked script among the linted files), KAL006, KAL008 and KAL009 are in
/// [`cross::RULES`](super::cross::RULES).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&AUTH_PASS_TOO_LONG, auth_pass_too_long),
    (&AUTH_PASS_CUT_BY_COMMENT, auth_pass_cut_by_comment),
    (&MULTICAST_WITHOUT_PEERS, multicast_without_peers),
    (&NOTHING_TRACKED, nothing_tracked),
    (&SCRIPT_SECURITY_WITHOUT_USER, script_security_without_user),
    (&MISSPELT_KEYWORD, misspelt_keyword),
    (&INVALID_VRRP_VALUE, invalid_vrrp_value),
    (&NOPREEMPT_WITH_MASTER, nopreempt_with_master),
    (&PRIORITY_ADDRESS_OWNER, priority_address_owner),
    (&UNICAST_PEER_IS_SELF, unicast_peer_is_self),
    (&AUTH_TYPE_PASS, auth_type_pass),
    (&WEIGHT_WITHIN_BRANCHES, weight_within_branches),
    (&NOT_CONFIGURATION, not_configuration),
];

/// Parses and checks one keepalived.conf.
pub fn lint(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<Config> {
    match parse::parse(&ctx.file.text) {
        Ok(cfg) => {
            super::run_checks(RULES, &cfg, ctx, out);
            for inc in cfg.all("include") {
                out.push(general::include(inc.span(), inc.arg(1).unwrap_or("")));
            }
            Some(cfg)
        }
        Err(e) => {
            out.push(general::unparseable(
                Kind::Keepalived,
                Some(e.span),
                e.message,
            ));
            None
        }
    }
}

/// KAL022.
pub const WEIGHT_WITHIN_BRANCHES: Rule = Rule {
    code: "KAL022",
    name: "weight-within-priority-branches",
    severity: Severity::Error,
    summary: "A template's MASTER and BACKUP priorities are further apart than the track-script weight",
    explain: "\
## What it checks
One file that states both priorities of the usual two-state convention: a template
whose `vrrp_instance` has a `state MASTER` branch and a `state BACKUP` branch, each
with a literal `priority`. The tracked scripts' weight is judged against the spread:
a negative weight must bring the MASTER below the BACKUP when the check fails; a
positive weight must lift a healthy BACKUP above a failed MASTER. A file that gives
one priority (a rendered node's config) is KAL006's, judged only with its peers'
files; a priority from a variable says nothing.

## Why it matters
keepalived moves the VIP only when a healthy peer's priority is higher. With
`priority 150` on the MASTER, 100 on the BACKUP and `weight -20`, a failing check gives
the MASTER 130: it keeps the VIP while its API server is down. A positive weight on
both (`weight 20`) gives a healthy BACKUP 120, still below the failed MASTER's 150.

## Example
```
{% if inventory_hostname == groups['masters'][0] %}
    state MASTER
    priority 150
{% else %}
    state BACKUP
    priority 100
{% endif %}
    track_script { check_apiserver }   # weight -20
```

## Fix
Make |weight| larger than the spread (`weight -60` here), or drop the weight so a
failing check puts the node in FAULT.
",
};

/// KAL001.
pub const AUTH_PASS_TOO_LONG: Rule = Rule {
    code: "KAL001",
    name: "auth-pass-too-long",
    severity: Severity::Warning,
    summary: "`auth_pass` longer than 8 characters is silently truncated to 8",
    explain: "\
## What it checks
`auth_pass` values longer than 8 characters.

## Why it matters
VRRP PASS authentication carries 8 bytes; keepalived truncates longer passwords with
only a log line. Nodes configured with different passwords that share the first 8
characters then authenticate each other, and a password change past character 8 does
nothing. (`auth_type PASS` is plain text on the wire anyway: it separates clusters, it
does not secure them.)

## Example
```
authentication {
    auth_type PASS
    auth_pass kubernetes-ha
}
```

## Fix
Use at most 8 characters, the same on every node: `auth_pass k8s-ha01`.
",
};

/// KAL002.
pub const AUTH_PASS_CUT_BY_COMMENT: Rule = Rule {
    code: "KAL002",
    name: "auth-pass-cut-by-comment",
    severity: Severity::Error,
    summary: "`#` or `!` in `auth_pass` starts a comment, so the password is shorter than written",
    explain: "\
## What it checks
`auth_pass` values that contain `#` or `!`, or that are empty.

## Why it matters
keepalived treats `#` and `!` as the start of a comment anywhere on a line, even inside
a value: `auth_pass Pa!ss#1` is the password `Pa`. If another node's file was written
differently (quoted by a template, or a generator that escapes), the nodes disagree and
each one takes the VIP: split brain.

## Example
```
auth_pass k8s!2024
```

## Fix
Use only letters, digits and `-_.` in `auth_pass`.
",
};

/// KAL003.
pub const MULTICAST_WITHOUT_PEERS: Rule = Rule {
    code: "KAL003",
    name: "multicast-without-unicast-peers",
    severity: Severity::Warning,
    summary: "A VRRP instance relies on multicast (no `unicast_peer`)",
    explain: "\
## What it checks
`vrrp_instance` blocks without a `unicast_peer` block.

## Why it matters
Without peers keepalived sends VRRP adverts to multicast 224.0.0.18. Most clouds and
many switches (IGMP snooping, VLANs, security groups) drop it; each node then hears no
master and takes the VIP itself. Any other VRRP router on the segment with the same
VRID also joins the election.

## Example
```
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 10.0.0.100 }
}
```

## Fix
```
    unicast_src_ip 10.0.0.11
    unicast_peer {
        10.0.0.12
        10.0.0.13
    }
```
",
};

/// KAL004.
pub const TRACK_SCRIPT_BROKEN: Rule = Rule {
    code: "KAL004",
    name: "track-script-broken",
    severity: Severity::Error,
    summary: "A track script that is undefined, not executable or has no `#!` line",
    explain: "\
## What it checks
- `track_script` names that no `vrrp_script` defines;
- on a check script among the linted files: a missing `#!` line, or (when the mode is
  known) no execute permission;
- a `vrrp_script` whose script file is not among the linted files is reported as an
  info, because its content cannot be checked.

## Why it matters
keepalived cannot run such a script; depending on the version it disables the track
script (`Disabling track script ... not found/accessible`) and then treats the node as
healthy, so the VIP stays on a node whose API server is down.

## Example
```
#  (check_apiserver.sh, mode 0644)
curl -sfk https://localhost:8443/healthz -o /dev/null || exit 1
```

## Fix
Start the script with `#!/bin/sh`, `chmod 0755` it, and define every tracked name in a
`vrrp_script` block.
",
};

/// KAL005.
pub const NOTHING_TRACKED: Rule = Rule {
    code: "KAL005",
    name: "api-server-health-not-tracked",
    severity: Severity::Warning,
    summary: "The VIP does not follow API server health: no `track_script`, or a script never tracked",
    explain: "\
## What it checks
`vrrp_instance` blocks with no `track_script` (nor `track_process`), and `vrrp_script`
blocks that no instance tracks.

## Why it matters
Without a tracked check, VRRP only notices a dead machine. When haproxy or the API
server dies, the node keeps the VIP and every client of the endpoint fails.

## Example
```
vrrp_script check_apiserver { script \"/etc/keepalived/check_apiserver.sh\" }
vrrp_instance VI_1 { ... }     # no track_script
```

## Fix
Add `track_script { check_apiserver }` to the instance.
",
};

/// KAL006.
pub const WEIGHT_TOO_SMALL: Rule = Rule {
    code: "KAL006",
    name: "weight-too-small-to-move-vip",
    severity: Severity::Error,
    summary: "A failing check lowers the priority too little to move the VIP",
    explain: "\
## What it checks
Across the keepalived.conf files of one run: for each node, its priority plus the
(negative) weight of its tracked scripts against the highest priority of the other
nodes. A weight of 0 (the node enters FAULT) always moves the VIP.

With positive weights (added while the check passes): the failing node's bare priority
against the best other node's priority plus its weights; it must be lower.

## Why it matters
With `priority 150` on the master, 100 on the backups and `weight -20`, a failing check
gives the master 130: still the highest, so it keeps the VIP while its API server is
down. The kubeadm example works only because 101 − 2 < 100.

## Example
```
# node 1                     # node 2
priority 150                 priority 100
weight -20                   weight -20
```

## Fix
Make |weight| larger than the spread of priorities (e.g. `weight -60` here), or use no
weight so a failing check puts the node in FAULT.
",
};

/// KAL007.
pub const SCRIPT_SECURITY_WITHOUT_USER: Rule = Rule {
    code: "KAL007",
    name: "script-security-without-user",
    severity: Severity::Warning,
    summary: "`enable_script_security` without `script_user`",
    explain: "\
## What it checks
`global_defs` that turn on `enable_script_security` but name no `script_user`.

## Why it matters
keepalived then runs scripts as the `keepalived_script` user, or as root with a warning
when that user does not exist; with script security on, a script that user cannot read,
or that a non-root user can write, is disabled — and a disabled track script counts as
healthy.

## Example
```
global_defs {
    enable_script_security
}
```

## Fix
Add `script_user root` (or a dedicated user that can run the check).
",
};

/// KAL008.
pub const VRRP_MISMATCH: Rule = Rule {
    code: "KAL008",
    name: "vrrp-mismatch-across-nodes",
    severity: Severity::Error,
    summary: "The keepalived.conf files of one cluster disagree on VRID, VIP, password or peers",
    explain: "\
## What it checks
Across every keepalived.conf of one run (or against `--topology`): the same
`virtual_router_id`, the same `virtual_ipaddress` set and the same `auth_pass` for the
instance (a file's other instances, an ingress VIP beside the API's, are compared with
their own counterparts), and every other node's `unicast_src_ip` in each node's
`unicast_peer` list.

## Why it matters
Nodes with different VRIDs or passwords do not see each other's adverts: each one
becomes master and the VIP is on two machines at once (split brain, ARP flapping).
A missing peer never hears the master and takes the VIP as well.

## Example
```
# node 1: virtual_router_id 51     # node 2: virtual_router_id 52
```

## Fix
Render all nodes from one source (`hagen render`), or align the values by hand.
",
};

/// KAL009.
pub const CHECK_SCRIPT_WRONG_TARGET: Rule = Rule {
    code: "KAL009",
    name: "check-script-wrong-target",
    severity: Severity::Warning,
    summary: "The check script probes an address or port the VIP does not serve",
    explain: "\
## What it checks
The addresses and ports in a check script (URLs such as `https://10.0.0.100:8443/healthz`)
against the VIP of the keepalived.conf beside it, and against `--topology` (VIP,
endpoint name and port). `localhost` and `127.0.0.1` are always accepted.

## Why it matters
A script that probes another VIP or port reports on something else: the VIP stays on a
node whose load balancer is down, or leaves a healthy one.

## Example
```
VIP 10.0.0.100 in keepalived.conf; the script curls https://10.0.0.10:6443/healthz
```

## Fix
Probe the local load balancer (`https://localhost:<frontend port>/readyz`) and, if the
script also checks the VIP, use the one keepalived serves.
",
};

/// KAL010.
pub const MISSPELT_KEYWORD: Rule = Rule {
    code: "KAL010",
    name: "misspelt-keepalived-keyword",
    severity: Severity::Error,
    summary: "A keyword keepalived does not know, close to one it does (`uth_pass`, `priorty`)",
    explain: "\
## What it checks
Keywords inside `vrrp_instance`, `authentication` and `vrrp_script` blocks that are not
keepalived keywords but are within a typo of one. (Unknown keywords with no close match
are left alone: keepalived has many rarely used ones.)

## Why it matters
keepalived logs `Unknown keyword` and ignores the line: a misspelt `auth_pass` means no
password, a misspelt `priority` the default 100, a misspelt `track_script` no health
tracking at all. `keepalived --config-test` fails on it.

## Example
```
authentication {
    auth_type PASS
    uth_pass net-k8s
}
```

## Fix
Use the keyword the message suggests.
",
};

/// KAL011.
pub const INVALID_VRRP_VALUE: Rule = Rule {
    code: "KAL011",
    name: "invalid-vrrp-value",
    severity: Severity::Error,
    summary: "`state`, `virtual_router_id`, `priority` or `advert_int` has a value keepalived rejects",
    explain: "\
## What it checks
`state` is MASTER or BACKUP; `virtual_router_id` is 1–255; `priority` is 1–255;
`advert_int` is a positive number. An unsubstituted placeholder (`KEEPALIVED_PRIORITY`,
`__VIP__`) fails these checks too.

## Why it matters
keepalived rejects the value (or the whole instance) and falls back to defaults: two
nodes at the default priority 100, or an instance that never starts.

## Example
```
priority KEEPALIVED_PIORITY
```

## Fix
Write the number, or render the template before installing the file.
",
};

/// KAL017.
pub const NOPREEMPT_WITH_MASTER: Rule = Rule {
    code: "KAL017",
    name: "nopreempt-with-state-master",
    severity: Severity::Warning,
    summary: "`nopreempt` in an instance that starts as `state MASTER`: keepalived ignores it",
    explain: "\
## What it checks
A `vrrp_instance` with both `nopreempt` and `state MASTER`.

## Why it matters
keepalived honours `nopreempt` only when the instance starts in BACKUP; with `state
MASTER` it logs a warning and preempts anyway, so the VIP moves back to this node when
it returns, the flap `nopreempt` was written to avoid.

## Example
```
vrrp_instance VI_1 {
    state MASTER
    nopreempt
}
```

## Fix
`state BACKUP` on every node (the priorities still choose the first holder).
",
};

/// KAL018.
pub const PRIORITY_ADDRESS_OWNER: Rule = Rule {
    code: "KAL018",
    name: "priority-address-owner",
    severity: Severity::Warning,
    summary: "`priority 255` makes the node the VIP's address owner: track scripts cannot move it",
    explain: "\
## What it checks
`priority 255` in a `vrrp_instance`.

## Why it matters
VRRP reserves 255 for the owner of the address (RFC 5798). keepalived does not apply
track-script weights to an owner and the owner always preempts: a node whose API server
is down keeps or takes back the VIP.

## Example
```
priority 255
```

## Fix
Use at most 254 (hagen renders 150/100/50…), with a weight larger than the spread.
",
};

/// KAL019.
pub const UNICAST_PEER_IS_SELF: Rule = Rule {
    code: "KAL019",
    name: "unicast-peer-is-self",
    severity: Severity::Warning,
    summary: "`unicast_peer` lists the node's own `unicast_src_ip`",
    explain: "\
## What it checks
That no `unicast_peer` entry is the instance's own `unicast_src_ip`.

## Why it matters
A node that sends adverts to itself sees its own packets as a peer's (same VRID): the
copied-from-another-node peer list usually also misses the real peer it replaced, so
that node never hears this one and both can hold the VIP.

## Example
```
unicast_src_ip 10.0.0.11
unicast_peer {
    10.0.0.11
    10.0.0.12
}
```

## Fix
List the other nodes only, on each node its own list.
",
};

/// KAL020.
pub const AUTH_TYPE_PASS: Rule = Rule {
    code: "KAL020",
    name: "auth-type-pass",
    severity: Severity::Info,
    summary: "`auth_type PASS` with a trivial password (`1111`): clear text and guessable",
    explain: "\
## What it checks
`auth_type PASS` in an instance's `authentication` block with a trivial password: the
guides' `1111`, `123456`, `password`, four characters or fewer, one repeated character,
a placeholder.

## Why it matters
The password travels in clear text in every VRRP advert; anyone on the segment reads it.
It only keeps apart two clusters that share a VRID by accident, and the guides' value is
the one every copied cluster shares. An info: not wrong, but not protection either.

## Example
```
authentication {
    auth_type PASS
    auth_pass 1111
}
```

## Fix
Rely on unicast peers and a VRID of its own; if kept, a password of 8 random characters
that differs per cluster.
",
};

const INSTANCE_KEYWORDS: &[&str] = &[
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "authentication",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "track_script",
    "track_interface",
    "track_process",
    "track_file",
    "track_bfd",
    "nopreempt",
    "preempt_delay",
    "unicast_src_ip",
    "unicast_peer",
    "unicast_ttl",
    "mcast_src_ip",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
    "dont_track_primary",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "lvs_sync_daemon_interface",
    "use_vmac",
    "vmac_xmit_base",
    "native_ipv6",
    "version",
    "accept",
    "no_accept",
    "skip_check_adv_addr",
    "strict_mode",
    "check_unicast_src",
    "debug",
    "linkbeat_use_polling",
    "kernel_rx_buf_size",
    "track_src_ip",
    "higher_prio_send_advert",
    "down_timer_adverts",
    "unicast_fault_no_peer",
    "old_unicast_checksum",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "promote_secondaries",
    "use_ipvlan",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "dont_track_primary",
    "preempt",
    "notify_priority_changes",
    "mcast_dst_ip",
];
const AUTH_KEYWORDS: &[&str] = &["auth_type", "auth_pass"];
const SCRIPT_KEYWORDS: &[&str] = &[
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    "init_fail",
];

fn close(word: &str, known: &[&str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(word, k), *k))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| {
            // `known` is one of the static lists above.
            INSTANCE_KEYWORDS
                .iter()
                .chain(AUTH_KEYWORDS)
                .chain(SCRIPT_KEYWORDS)
                .copied()
                .find(|x| *x == k)
                .unwrap_or("")
        })
}

/// KAL010.
pub fn misspelt_keyword(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    let mut check = |items: &[Item], known: &[&str], block: &str| {
        for i in items {
            let k = i.keyword();
            if k.is_empty() || known.contains(&k) {
                continue;
            }
            if let Some(m) = close(k, known) {
                out.push(
                    at(&MISSPELT_KEYWORD, i.words[0].span, format!("`{k}` is not a keepalived keyword in {block}; keepalived ignores the line"))
                        .help(format!("did you mean `{m}`?")),
                );
            }
        }
    };
    for inst in cfg.all("vrrp_instance") {
        check(inst.children(), INSTANCE_KEYWORDS, "vrrp_instance");
        for a in inst.all("authentication") {
            check(a.children(), AUTH_KEYWORDS, "authentication");
        }
    }
    for s in cfg.all("vrrp_script") {
        check(s.children(), SCRIPT_KEYWORDS, "vrrp_script");
    }
}

/// KAL011.
pub fn invalid_vrrp_value(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for inst in cfg.all("vrrp_instance") {
        for item in inst.children() {
            let Some(w) = item.words.get(1) else { continue };
            let v = w.text.as_str();
            let bad = match item.keyword() {
                "state" => (!matches!(v.to_ascii_uppercase().as_str(), "MASTER" | "BACKUP"))
                    .then_some("MASTER or BACKUP"),
                "virtual_router_id" => (!v.parse::<u16>().is_ok_and(|n| (1..=255).contains(&n)))
                    .then_some("a number from 1 to 255"),
                "priority" => (!v.parse::<u16>().is_ok_and(|n| (1..=255).contains(&n)))
                    .then_some("a number from 1 to 255"),
                "advert_int" => (!v.parse::<f64>().is_ok_and(|n| n > 0.0))
                    .then_some("a positive number of seconds"),
                _ => None,
            };
            if let Some(want) = bad {
                out.push(
                    at(
                        &INVALID_VRRP_VALUE,
                        w.span,
                        format!("`{} {v}`: keepalived expects {want}", item.keyword()),
                    )
                    .help("write the value (or render the template first)"),
                );
            }
        }
    }
}

/// KAL017.
pub fn nopreempt_with_master(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for inst in cfg.all("vrrp_instance") {
        let master = inst
            .get("state")
            .and_then(|s| s.arg(1))
            .is_some_and(|s| s.eq_ignore_ascii_case("MASTER"));
        if let Some(np) = inst.get("nopreempt")
            && master
        {
            out.push(
                at(&NOPREEMPT_WITH_MASTER, np.span(), format!("vrrp_instance {} has `nopreempt` with `state MASTER`: keepalived ignores `nopreempt` and preempts", inst.arg(1).unwrap_or("?")))
                    .help("use `state BACKUP` on every node with `nopreempt`"),
            );
        }
    }
}

/// KAL018.
pub fn priority_address_owner(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for inst in cfg.all("vrrp_instance") {
        if let Some(p) = inst.get("priority")
            && let Some(w) = p.words.get(1)
            && w.text == "255"
        {
            out.push(
                at(&PRIORITY_ADDRESS_OWNER, w.span, "`priority 255` is reserved for the VIP's address owner (a node whose own address is the VIP): an owner is not moved by track-script weights, so a failing check does not move the VIP")
                    .help("use at most 254"),
            );
        }
    }
}

/// KAL019.
pub fn unicast_peer_is_self(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for inst in cfg.all("vrrp_instance") {
        let Some(src) = inst.get("unicast_src_ip").and_then(|s| s.words.get(1)) else {
            continue;
        };
        for peer in inst.all("unicast_peer").flat_map(|p| p.block_words()) {
            if peer.text == src.text {
                out.push(
                    at(
                        &UNICAST_PEER_IS_SELF,
                        peer.span,
                        format!(
                            "`unicast_peer` lists {}, this node's own `unicast_src_ip`",
                            peer.text
                        ),
                    )
                    .label(src.span, "this node")
                    .help("list only the other nodes"),
                );
            }
        }
    }
}

const TRIVIAL_PASSWORDS: &[&str] = &[
    "1111",
    "11111111",
    "1234",
    "12345678",
    "123456",
    "password",
    "passwd",
    "pass",
    "secret",
    "keepalived",
    "changeme",
    "admin",
    "k8s",
    "kubernetes",
    "mysecret",
    "mypassword",
    "vrrppass",
    "test",
    "abc123",
];

/// KAL020.
pub fn auth_type_pass(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for inst in cfg.all("vrrp_instance") {
        for auth in inst.all("authentication") {
            let Some(t) = auth.get("auth_type") else {
                continue;
            };
            if !t.arg(1).is_some_and(|a| a.eq_ignore_ascii_case("PASS")) {
                continue;
            }
            // No password, or one cut by a comment, is KAL002's and KAL010's finding.
            let Some(pass) = auth
                .get("auth_pass")
                .filter(|p| !p.cut_by_comment)
                .and_then(|p| p.arg(1))
            else {
                continue;
            };
            let lower = pass.to_ascii_lowercase();
            let trivial = TRIVIAL_PASSWORDS.contains(&lower.as_str())
                || super::placeholder_only(pass)
                || super::stand_in(pass)
                || pass.chars().count() <= 4
                || pass.chars().all(|c| pass.starts_with(c));
            if trivial {
                out.push(
                    at(&AUTH_TYPE_PASS, t.span(), format!("`auth_type PASS` with the password `{pass}`: it is sent in clear in every advert, and guessable"))
                        .help("a password of 8 random characters of this cluster's own, or rely on unicast peers and a VRID of its own"),
                );
            }
        }
    }
}

/// KAL024.
pub const NOT_CONFIGURATION: Rule = Rule {
    code: "KAL024",
    name: "not-keepalived-configuration",
    severity: Severity::Warning,
    summary: "A line that is not keepalived configuration (web-page markup, a shell command, a heredoc end)",
    explain: "\
## What it checks
Lines of keepalived.conf that hold HTML markup (`<pre>`, `<!-- … -->`, `}</code>`), or
whose first word is a shell command (`sudo`, `cat`, `systemctl`…), a heredoc terminator
(`EOF`) or a Markdown fence: what comes along when a configuration is copied out of a
blog post or a README.

## Why it matters
keepalived logs `Unknown keyword` and skips the line. When the markup is glued to a
brace (`}</code></pre>`), the brace goes with it: the block it closed runs on into
whatever follows, and settings land in the wrong place without an error.

## Example
```
<pre><code>vrrp_instance VI_1 {
    state MASTER
    ...
}</code></pre>
```

## Fix
Remove the markup and the commands; keep only keepalived's own lines.
",
};

/// KAL024.
pub fn not_configuration(_: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    for line in super::scan::lines(&ctx.file.text, &['#', '!'], false, true) {
        let Some(first) = line.words.first() else {
            continue;
        };
        let w = first.text.as_str();
        let markup = line.words.iter().find(|x| super::scan::markup(&x.text));
        let shell = super::scan::SHELL_WORDS.contains(&w) && line.words.len() > 1
            || matches!(w, "EOF" | "EOT")
            || w.starts_with("```")
            || w.starts_with("<<");
        let Some(word) = markup.or(shell.then_some(first)) else {
            continue;
        };
        let glued = word.text.starts_with(['{', '}']);
        let msg = if glued {
            format!(
                "`{}` is a brace glued to markup: keepalived reads it as an unknown keyword, so the brace does not open or close the block",
                word.text
            )
        } else {
            format!(
                "`{}` starts a line that is not keepalived configuration: keepalived skips it with `Unknown keyword`",
                word.text
            )
        };
        out.push(
            at(&NOT_CONFIGURATION, word.span, msg)
                .help("remove what was copied along with the configuration"),
        );
    }
}

/// KAL022: in one instance, a `state MASTER` branch and a `state BACKUP` branch (a
/// template's two sides), each followed by a literal `priority`, against the weights of
/// the tracked scripts.
pub fn weight_within_branches(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    let defined = scripts(cfg);
    for inst in cfg.all("vrrp_instance") {
        // Pair each `state` with the `priority` that follows it before the next `state`.
        let mut pairs: Vec<(String, Option<(i64, Span)>)> = Vec::new();
        for it in inst.children() {
            match it.keyword() {
                "state" => pairs.push((it.arg(1).unwrap_or("").to_ascii_uppercase(), None)),
                "priority" => {
                    let Some(last) = pairs.last_mut() else {
                        continue;
                    };
                    let p = it
                        .words
                        .get(1)
                        .and_then(|w| Some((w.text.parse().ok()?, w.span)));
                    if last.1.is_some() || p.is_none() {
                        // Two priorities for one state, or one from a variable.
                        pairs.clear();
                        break;
                    }
                    last.1 = p;
                }
                _ => {}
            }
        }
        let of = |state: &str| -> Vec<(i64, Span)> {
            pairs
                .iter()
                .filter(|(s, _)| s == state)
                .filter_map(|(_, p)| *p)
                .collect()
        };
        let (masters, backups) = (of("MASTER"), of("BACKUP"));
        if masters.len() != 1 || backups.is_empty() || pairs.iter().any(|(_, p)| p.is_none()) {
            continue;
        }
        let (master, mspan) = masters[0];
        let backup = backups.iter().map(|b| b.0).max().expect("not empty");
        if backup >= master {
            continue;
        }
        // The tracked scripts' weights: all literal and all of one sign, else no claim.
        let names = tracked(inst);
        let weights: Vec<Option<i64>> = names
            .iter()
            .map(|n| {
                defined
                    .iter()
                    .find(|(s, ..)| s.arg(1) == Some(n.text.as_str()))
                    .and_then(|(_, _, w)| *w)
            })
            .collect();
        if weights.is_empty() || weights.iter().any(|w| w.is_none_or(|w| w == 0)) {
            continue;
        }
        let weights: Vec<i64> = weights.into_iter().flatten().collect();
        let msg = if weights.iter().all(|w| *w < 0) {
            let w = *weights.iter().min().expect("not empty");
            (master + w >= backup).then(|| format!("the MASTER branch's priority {master} with weight {w} is still {} when its check fails, not below the BACKUP branch's {backup}: the VIP stays on a node whose API server is down", master + w))
        } else if weights.iter().all(|w| *w > 0) {
            let w = *weights.iter().max().expect("not empty");
            let lifted = (backup + w).min(254);
            (master >= lifted).then(|| format!("the BACKUP branch's priority {backup} with weight +{w} is {lifted} when its check passes, not above the MASTER branch's {master} when the MASTER's check fails: the VIP stays on a node whose API server is down"))
        } else {
            None
        };
        if let Some(msg) = msg {
            out.push(
                at(&WEIGHT_WITHIN_BRANCHES, mspan, msg)
                    .help(format!("make the weight's size larger than {} (or drop the weight so a failing check puts the node in FAULT)", master - backup)),
            );
        }
    }
}

/// KAL001.
pub fn auth_pass_too_long(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for pass in auth_passes(cfg) {
        if let Some(w) = pass.words.get(1)
            && w.text.chars().count() > 8
        {
            out.push(
                at(
                    &AUTH_PASS_TOO_LONG,
                    w.span,
                    format!(
                        "`auth_pass` is {} characters; keepalived uses only the first 8 (`{}`)",
                        w.text.chars().count(),
                        w.text.chars().take(8).collect::<String>()
                    ),
                )
                .help("use at most 8 characters, the same on every node"),
            );
        }
    }
}

/// KAL002.
pub fn auth_pass_cut_by_comment(cfg: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    for pass in auth_passes(cfg) {
        let key = &pass.words[0];
        match pass.words.get(1) {
            Some(w) if pass.cut_by_comment => {
                let rest = &ctx.file.text[w.span.end..];
                let written: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                out.push(
                    at(
                        &AUTH_PASS_CUT_BY_COMMENT,
                        Span::new(w.span.start, w.span.end + written.len()),
                        format!(
                            "keepalived reads `{}{}` as the password `{}`: `{}` starts a comment",
                            w.text,
                            written,
                            w.text,
                            written.chars().next().unwrap_or('#')
                        ),
                    )
                    .help("use only letters, digits and `-_.` in auth_pass"),
                );
            }
            None => out.push(
                at(
                    &AUTH_PASS_CUT_BY_COMMENT,
                    key.span,
                    "`auth_pass` has no value (a `#` or `!` comment starts right after it)",
                )
                .help("set a password of at most 8 characters, the same on every node"),
            ),
            _ => {}
        }
    }
}

fn auth_passes(cfg: &Config) -> impl Iterator<Item = &Item> {
    cfg.all("vrrp_instance")
        .flat_map(|i| i.all("authentication"))
        .flat_map(|a| a.all("auth_pass"))
}

/// KAL003.
pub fn multicast_without_peers(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for inst in cfg.all("vrrp_instance") {
        if inst
            .get("unicast_peer")
            .is_none_or(|p| p.block_words().is_empty())
        {
            out.push(
                at(&MULTICAST_WITHOUT_PEERS, inst.span(), format!("vrrp_instance {} has no `unicast_peer`: VRRP adverts go to multicast 224.0.0.18", inst.arg(1).unwrap_or("?")))
                    .help("add `unicast_src_ip` and a `unicast_peer { … }` block listing the other nodes"),
            );
        }
    }
}

/// A `vrrp_script` block: name, script path (if a path), weight.
pub fn scripts(cfg: &Config) -> Vec<(&Item, Option<&str>, Option<i64>)> {
    cfg.all("vrrp_script")
        .map(|s| {
            let cmd = s.get("script").and_then(|i| i.arg(1));
            let weight = s
                .get("weight")
                .and_then(|i| i.arg(1))
                .and_then(|w| w.parse().ok());
            (s, cmd, weight)
        })
        .collect()
}

fn tracked(inst: &Item) -> Vec<&crate::lint::scan::Word> {
    inst.all("track_script")
        .flat_map(|t| t.block_words())
        .collect()
}

/// Finds a linted file that is the script at `path` (same path suffix, or the same
/// name in the directory of the keepalived.conf `conf`).
pub fn find_script<'a>(
    conf: &SourceFile,
    files: &'a [SourceFile],
    index: &FileIndex<'_>,
    path: &str,
) -> Option<&'a SourceFile> {
    let base = path.rsplit('/').next()?;
    let (dir, conf_base) = lint_files::split(&conf.name);
    index
        .named(base)
        .iter()
        .map(|&i| &files[i])
        .find(|f| f.name.ends_with(path) || lint_files::dir(&f.name) == dir)
        .or_else(|| {
            // A copy renamed after its source (`repo__chk_k8s.sh` beside
            // `repo__keepalived.conf`): in the same directory, the one whose name shares
            // the longest beginning with the conf's (at least 4 characters when there are
            // several, so a directory of many setups does not pair one's conf with
            // another's script).
            let shared = |f: &SourceFile| {
                lint_files::base(&f.name)
                    .bytes()
                    .zip(conf_base.bytes())
                    .take_while(|(x, y)| x == y)
                    .count()
            };
            let candidates: Vec<&'a SourceFile> = index
                .in_dir(dir)
                .iter()
                .map(|&i| &files[i])
                .filter(|f| names_script(lint_files::base(&f.name), base))
                .collect();
            match candidates[..] {
                [one] => Some(one),
                _ => candidates
                    .into_iter()
                    .filter(|f| shared(f) >= 4)
                    .max_by_key(|f| shared(f)),
            }
        })
}

/// True if a file named `file` is the script `script` (a base name): the same name, or
/// the name with a prefix before `.`, `_` or `-` (`node1.check_apiserver.sh`).
pub fn names_script(file: &str, script: &str) -> bool {
    file == script
        || !script.is_empty()
            && file
                .strip_suffix(script)
                .is_some_and(|head| head.ends_with(['.', '_', '-']))
}

/// KAL004 on keepalived.conf `conf`: a tracked script that no `vrrp_script` defines, or
/// whose file is not among `files`.
pub fn track_script_broken(
    cfg: &Config,
    conf: &SourceFile,
    files: &[SourceFile],
    index: &FileIndex<'_>,
    out: &mut Diagnostics,
) {
    let defined = scripts(cfg);
    for inst in cfg.all("vrrp_instance") {
        for name in tracked(inst) {
            if !defined
                .iter()
                .any(|(s, ..)| s.arg(1) == Some(name.text.as_str()))
            {
                out.push(
                    at(
                        &TRACK_SCRIPT_BROKEN,
                        name.span,
                        format!(
                            "`track_script` names `{}`, which no `vrrp_script` defines",
                            name.text
                        ),
                    )
                    .help("define it with `vrrp_script <name> { script \"…\" }` or fix the name"),
                );
            }
        }
    }
    for (s, cmd, _) in &defined {
        let Some(cmd) = cmd else { continue };
        let path = cmd.split_whitespace().next().unwrap_or("");
        // Inline commands (`/usr/bin/killall -0 haproxy`) are not script files.
        if !path.starts_with('/')
            || ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"]
                .iter()
                .any(|d| path.starts_with(d))
        {
            continue;
        }
        let span = s.get("script").map_or(s.span(), |i| i.span());
        if find_script(conf, files, index, path).is_none() {
            out.push(
                at(&TRACK_SCRIPT_BROKEN, span, format!("the script `{path}` is not among the linted files, so hagen cannot check that it exists, is executable and starts with `#!`"))
                    .severity(Severity::Info)
                    .help("lint the directory that holds the script too"),
            );
        }
    }
}

/// KAL005.
pub fn nothing_tracked(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    let instances: Vec<&Item> = cfg.all("vrrp_instance").collect();
    let mut used: Vec<String> = Vec::new();
    for inst in &instances {
        let t = tracked(inst);
        used.extend(t.iter().map(|w| w.text.clone()));
        if t.is_empty() && inst.get("track_process").is_none() {
            out.push(
                at(&NOTHING_TRACKED, inst.span(), format!("vrrp_instance {} tracks no script: the VIP stays on a node whose API server or load balancer is down", inst.arg(1).unwrap_or("?")))
                    .help("add `track_script { check_apiserver }`"),
            );
        }
    }
    if instances.is_empty() {
        return;
    }
    for (s, ..) in scripts(cfg) {
        if let Some(name) = s.words.get(1)
            && !used.contains(&name.text)
        {
            out.push(
                at(
                    &NOTHING_TRACKED,
                    name.span,
                    format!(
                        "vrrp_script `{}` is defined but no vrrp_instance tracks it",
                        name.text
                    ),
                )
                .help("add it to the instance's `track_script` block"),
            );
        }
    }
}

/// KAL007.
pub fn script_security_without_user(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for g in cfg.all("global_defs") {
        // A `user` in every vrrp_script names who runs it, as script_user would.
        let scripts: Vec<&Item> = cfg.all("vrrp_script").collect();
        let every_script_has_user =
            !scripts.is_empty() && scripts.iter().all(|s| s.get("user").is_some());
        if let Some(sec) = g.get("enable_script_security")
            && g.get("script_user").is_none()
            && !every_script_has_user
        {
            out.push(
                at(&SCRIPT_SECURITY_WITHOUT_USER, sec.span(), "`enable_script_security` without `script_user`: scripts run as `keepalived_script` (or root, with a warning)")
                    .help("add `script_user root` to global_defs"),
            );
        }
    }
}

/// What a check script is and what it probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Starts with `#!`.
    pub shebang: bool,
    /// `host[:port]` targets found in URLs and `nc`/`curl --connect-to`-style arguments.
    pub targets: Vec<(String, Option<u16>, Span)>,
}

/// KAL004 on a check script: no `#!` line, or not executable (`mode`, when known).
pub fn script_not_runnable(script: &Script, text: &str, mode: Option<u32>, out: &mut Diagnostics) {
    if !script.shebang {
        let end = text.find('\n').unwrap_or(text.len());
        out.push(
            at(&TRACK_SCRIPT_BROKEN, Span::new(0, end), "the check script has no `#!` line: keepalived cannot exec it and the check never fails")
                .help("start it with `#!/bin/sh`"),
        );
    }
    if let Some(mode) = mode
        && mode & 0o111 == 0
    {
        out.push(
            Diagnostic::new(&TRACK_SCRIPT_BROKEN, format!("the check script is not executable (mode {:o}): keepalived disables it and counts the node healthy", mode & 0o7777))
                .help("chmod 0755 it"),
        );
    }
}

/// Finds the shebang and the `scheme://host:port` targets of a script.
pub fn parse_script(text: &str) -> Script {
    let mut targets = Vec::new();
    let mut vars: Vec<(String, (String, Span))> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        if let Some((name, value)) = t.split_once('=')
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let raw = value.trim_end();
            let v = raw.trim_matches(['"', '\'']);
            let vstart = offset
                + indent
                + name.len()
                + 1
                + (raw.len() - raw.trim_start_matches(['"', '\'']).len());
            vars.push((
                name.to_string(),
                (v.to_string(), Span::new(vstart, vstart + v.len())),
            ));
        }
        offset += line.len();
    }
    for (i, _) in text.match_indices("://") {
        let start = i + 3;
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'' | ')' | '`' | '}'))
            .unwrap_or(rest.len());
        let hostport = &rest[..end];
        if hostport.is_empty() {
            continue;
        }
        let (host, port) = crate::net::split_host_port(hostport);
        let (host, span) = match resolve(&vars, host) {
            Some((v, s)) => (v, s),
            None if host.contains('$') => continue,
            None => (host.to_string(), Span::new(start, start + end)),
        };
        let port = port.or_else(|| {
            let p = hostport.rsplit_once(':').map(|(_, p)| p)?;
            resolve(&vars, p)?.0.parse().ok()
        });
        targets.push((host, port, span));
    }
    // `APISERVER_VIP=10.0.0.100` then `ip addr | grep -q ${APISERVER_VIP}`.
    for (name, (value, span)) in &vars {
        if name.to_ascii_uppercase().contains("VIP")
            && value.parse::<std::net::IpAddr>().is_ok()
            && !targets.iter().any(|t| t.2 == *span)
        {
            targets.push((value.clone(), None, *span));
        }
    }
    Script {
        shebang: text.starts_with("#!"),
        targets,
    }
}

fn resolve(vars: &[(String, (String, Span))], word: &str) -> Option<(String, Span)> {
    let name = word.strip_prefix('$')?.trim_matches(['{', '}']);
    vars.iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// One VRRP instance's facts for the cross-file rules.
#[derive(Debug, Clone)]
pub struct Instance<'a> {
    /// The block.
    pub item: &'a Item,
    /// `virtual_router_id`.
    pub vrid: Option<(&'a str, Span)>,
    /// `priority` (keepalived's default is 100).
    pub priority: i64,
    /// The VIPs without `/prefix` and options.
    pub vips: Vec<(String, Span)>,
    /// `auth_pass`.
    pub auth_pass: Option<(&'a str, Span)>,
    /// `unicast_src_ip`.
    pub src: Option<(&'a str, Span)>,
    /// `unicast_peer` addresses.
    pub peers: Vec<(&'a str, Span)>,
    /// The most negative weight of the tracked scripts (0 = FAULT on failure).
    pub weight: Option<i64>,
    /// The first tracked script's name span.
    pub tracked_span: Option<Span>,
    /// Each tracked script's literal weight (`None`: no weight, or not a number).
    pub weights: Vec<Option<i64>>,
    /// `priority` is absent (the default) or a literal number, not a variable.
    pub priority_known: bool,
}

/// The facts of every `vrrp_instance`.
pub fn instances(cfg: &Config) -> Vec<Instance<'_>> {
    let defined = scripts(cfg);
    cfg.all("vrrp_instance")
        .map(|inst| {
            let arg = |key: &str| {
                inst.get(key)
                    .and_then(|i| i.words.get(1))
                    .map(|w| (w.text.as_str(), w.span))
            };
            let vips = inst
                .all("virtual_ipaddress")
                .flat_map(|b| b.children())
                .filter_map(|i| i.words.first())
                .map(|w| (w.text.split('/').next().unwrap_or("").to_string(), w.span))
                .collect();
            let t = tracked(inst);
            let weight = t
                .iter()
                .filter_map(|name| {
                    defined
                        .iter()
                        .find(|(s, ..)| s.arg(1) == Some(name.text.as_str()))
                })
                .map(|(_, _, w)| w.unwrap_or(0))
                .min();
            Instance {
                item: inst,
                vrid: arg("virtual_router_id"),
                priority: arg("priority")
                    .and_then(|(p, _)| p.parse().ok())
                    .unwrap_or(100),
                vips,
                auth_pass: inst
                    .get("authentication")
                    .and_then(|a| a.get("auth_pass"))
                    .and_then(|p| p.words.get(1))
                    .map(|w| (w.text.as_str(), w.span)),
                src: arg("unicast_src_ip"),
                peers: inst
                    .all("unicast_peer")
                    .flat_map(|p| p.block_words())
                    .map(|w| (w.text.as_str(), w.span))
                    .collect(),
                weight,
                tracked_span: t.first().map(|w| w.span),
                weights: t
                    .iter()
                    .map(|name| {
                        defined
                            .iter()
                            .find(|(s, ..)| s.arg(1) == Some(name.text.as_str()))
                            .and_then(|(_, _, w)| *w)
                    })
                    .collect(),
                priority_known: arg("priority").is_none_or(|(p, _)| p.parse::<i64>().is_ok()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_targets() {
        let s = parse_script(
            "#!/bin/sh\ncurl -sfk https://10.0.0.100:8443/healthz\ncurl http://localhost/x\n",
        );
        assert!(s.shebang);
        assert_eq!(s.targets[0].0, "10.0.0.100");
        assert_eq!(s.targets[0].1, Some(8443));
        assert_eq!(s.targets[1].1, None);
    }
}
