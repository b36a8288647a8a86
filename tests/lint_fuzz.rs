//! Property tests for every lint parser: arbitrary text and mutated fixtures never make
//! detection, parsing, the rules or the renderers panic, and every span is in bounds.

use hagen_core::config;
use hagen_core::lint::{self, LintOptions};
use hagen_core::source::SourceFile;
use proptest::prelude::*;

/// File names that steer detection to each parser.
const NAMES: &[&str] = &[
    "haproxy.cfg",
    "keepalived.conf",
    "check_apiserver.sh",
    "nginx.conf",
    "kubeadm-config.yaml",
    "etcd.conf.yml",
    "etcd.service",
    "etcd.env",
    "kube-vip.yaml",
    "ca.crt",
    "admin.conf",
    "notes.txt",
];

fn seeds() -> &'static [String] {
    static SEEDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        super::lint::cases()
            .iter()
            .filter(|p| p.is_file())
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    })
}

fn assert_sane(name: &str, text: &str) {
    let files = [
        SourceFile::new(name, text),
        SourceFile::new("other/keepalived.conf", text),
    ];
    let opts = LintOptions {
        now: Some(super::lint::NOW),
        ..LintOptions::default()
    };
    let report = lint::lint_report(&files, &opts);
    for d in &report.diagnostics {
        let f = &files[d.file];
        if let Some(s) = d.span {
            assert!(
                s.start <= s.end && s.end <= f.text.len(),
                "{name}: span {s:?} outside {}",
                f.text.len()
            );
            assert!(
                f.text.is_char_boundary(s.start) && f.text.is_char_boundary(s.end),
                "{name}: {s:?}"
            );
        }
    }
    let _ = hagen_core::diag::text::render(
        &files,
        &report.diagnostics,
        hagen_core::diag::text::Style { color: false },
    );
    let _ =
        hagen_core::diag::sarif::report(&files, &report.diagnostics, hagen_core::registry::all());
    let _ = config::parse_config(text);
}

/// Config-shaped noise: braces, semicolons, quotes, comments and the keywords the
/// parsers and rules look for.
fn configish() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "{",
        "}",
        ";",
        "#",
        "!",
        "\"",
        "'",
        "\\",
        "=",
        ":",
        "-",
        "--",
        "\n",
        " ",
        "\t",
        "é",
        "{{",
        "{%",
        "global",
        "defaults",
        "frontend",
        "backend",
        "listen",
        "server",
        "bind",
        "option",
        "httpchk",
        "ssl-hello-chk",
        "verify",
        "none",
        "stats",
        "auth",
        "admin:admin",
        "timeout",
        "client",
        "5s",
        "vrrp_instance",
        "vrrp_script",
        "track_script",
        "auth_pass",
        "unicast_peer",
        "virtual_ipaddress",
        "priority",
        "weight",
        "-20",
        "stream",
        "upstream",
        "proxy_timeout",
        "events",
        "http",
        "location",
        "proxy_pass",
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: ClusterConfiguration",
        "controlPlaneEndpoint:",
        "certSANs:",
        "--initial-cluster=",
        "a=https://1.2.3.4:2380",
        "ETCD_INITIAL_CLUSTER=",
        "ExecStart=",
        "vip_arp",
        "cp_enable",
        "-----BEGIN CERTIFICATE-----",
        "-----END CERTIFICATE-----",
        "MIIB",
        "https://10.0.0.1:6443/readyz",
        "${VIP}",
        "VIP=10.0.0.100",
        "10.0.0.11:6443",
        "[::1]:",
        "999999999999999999999",
    ]);
    prop::collection::vec(word, 0..80).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(crate::fuzz_config(256))]

    #[test]
    fn arbitrary_text_never_panics(name in prop::sample::select(NAMES), text in ".{0,400}") {
        assert_sane(name, &text);
    }

    #[test]
    fn config_noise_never_panics(name in prop::sample::select(NAMES), text in configish()) {
        assert_sane(name, &text);
    }

    #[test]
    fn mutated_lint_fixtures_never_panic(name in prop::sample::select(NAMES), pick in any::<prop::sample::Index>(), cuts in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..6)) {
        let seeds = seeds();
        let mut chars: Vec<char> = seeds[pick.index(seeds.len())].chars().collect();
        for (at, op, c) in cuts {
            if chars.is_empty() { break; }
            let i = at.index(chars.len());
            match op {
                0 => { chars.remove(i); }
                1 => chars.insert(i, c),
                2 => chars[i] = c,
                _ => { chars.truncate(i); }
            }
        }
        assert_sane(name, &chars.into_iter().collect::<String>());
    }
}

/// Inputs the fuzzers once found; each is a bug that stays fixed.
#[test]
fn regressions() {
    for (name, text) in [
        // A quote before a multi-byte character put a span inside the character.
        ("haproxy.cfg", "\"\"A0\u{b}\"¡{\u{b}"),
        // The same shape, a quoted word holding a brace, in a keepalived block.
        (
            "keepalived.conf",
            "vrrp_instance \"VI{é\" {\n  state MASTER\n}\n",
        ),
    ] {
        assert_sane(name, text);
    }
}
