//! KAD008 and KAD009: the values of scalar fields, by their Go type.
//!
//! kubeadm reads its files as YAML 1.1 (sigs.k8s.io/yaml), turns them into JSON and
//! decodes that into the Go types: a plain `1.31` is a number, `yes` and `on` are
//! booleans, and a number where a string belongs (or a quoted `"6443"` where an integer
//! belongs) stops every kubeadm command with `cannot unmarshal`. Durations are strings
//! that Go's `time.ParseDuration` must read; a few fields take a fixed set of values
//! that kubeadm's validation enforces.

use super::super::yaml::{Node, Value};
use super::{INVALID_VALUE, WRONG_VALUE_TYPE};
use crate::diag::Diagnostics;
use crate::lint::at;

/// What a YAML 1.1 scalar decodes to in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Json {
    Null,
    Bool,
    Int,
    Float,
    String,
}

impl Json {
    fn describe(self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::Int => "an integer",
            Json::Float => "a number",
            Json::String => "a string",
        }
    }
}

/// How goyaml.v2 resolves a scalar (quoted ones are always strings).
fn resolve(text: &str, plain: bool) -> Json {
    if !plain {
        return Json::String;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Json::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true" | "True"
        | "TRUE" | "false" | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => {
            return Json::Bool;
        }
        ".inf" | ".Inf" | ".INF" | "-.inf" | "-.Inf" | "-.INF" | "+.inf" | ".nan" | ".NaN"
        | ".NAN" => return Json::Float,
        _ => {}
    }
    let digits = text
        .strip_prefix(['-', '+'])
        .unwrap_or(text)
        .replace('_', "");
    let is_int = if let Some(hex) = digits.strip_prefix("0x") {
        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
    } else if let Some(bin) = digits.strip_prefix("0b") {
        !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1')
    } else {
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    };
    if is_int {
        return Json::Int;
    }
    if is_float(&digits) {
        return Json::Float;
    }
    Json::String
}

/// `[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?` with at least one digit before the exponent.
fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = !(whole.is_empty() && frac.is_empty()) && digits(whole) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

/// Why `text` is not a Go duration, if it is not one.
fn duration_error(text: &str) -> Option<String> {
    if text == "0" {
        return None;
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body.is_empty() {
        return Some("an empty duration".into());
    }
    if body.contains(char::is_whitespace) {
        return Some("a duration has no spaces".into());
    }
    let mut rest = body;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Some(format!("`{rest}` has no number before its unit"));
        }
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Some(format!("`{number}` has no unit"));
        }
        if !matches!(unit, "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return Some(format!("`{unit}` is not a unit Go knows"));
        }
        rest = &rest[unit_len..];
    }
    None
}

/// A duration written in days (`1d`, `365d`) in hours, the largest unit Go has.
fn days_in_hours(text: &str) -> Option<String> {
    let days: u64 = text.strip_suffix('d')?.parse().ok()?;
    Some(format!("{}h", days.checked_mul(24)?))
}

/// RFC 3339: `2006-01-02T15:04:05Z` or with fractions and a `±hh:mm` offset.
fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || !matches!(b[10], b'T' | b't')
        || !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// Fields whose value kubeadm's validation takes from a fixed set, by path suffix.
const ALLOWED: &[(&str, &[&str])] = &[
    ("imagePullPolicy", &["Always", "IfNotPresent", "Never"]),
    (
        "taints[].effect",
        &["NoSchedule", "PreferNoSchedule", "NoExecute"],
    ),
    (
        "extraVolumes[].pathType",
        &[
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        ],
    ),
    (
        "ClusterConfiguration.encryptionAlgorithm",
        &[
            "RSA-2048",
            "RSA-3072",
            "RSA-4096",
            "ECDSA-P256",
            "ECDSA-P384",
        ],
    ),
];

/// `[a-z0-9]{6}\.[a-z0-9]{16}`.
fn is_bootstrap_token(text: &str) -> bool {
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    text.split_once('.')
        .is_some_and(|(id, secret)| ok(id, 6) && ok(secret, 16))
}

/// Checks the scalar `node` at `path` whose Go type is `t` (a field-table letter).
pub(super) fn check(t: char, v: &str, path: &str, node: &Node, out: &mut Diagnostics) {
    let Value::Scalar { text, plain } = &node.value else {
        return;
    };
    let json = resolve(text, *plain);
    if json == Json::Null {
        return;
    }
    let field = path.rsplit(['.', ']']).next().unwrap_or(path);
    let wrong = |expected: &str, help: String| {
        at(
            &WRONG_VALUE_TYPE,
            node.span,
            format!(
                "`{path}` is {expected} in kubeadm.k8s.io/{v}, but `{text}` is {} here; kubeadm stops with `cannot unmarshal {}`",
                json.describe(),
                match json {
                    Json::String => "string",
                    Json::Bool => "bool",
                    _ => "number",
                }
            ),
        )
        .path(path.to_string())
        .help(help)
    };
    let quote_it = || {
        if field == "kubernetesVersion" {
            return "write the whole release: `kubernetesVersion: v1.31.2`".to_string();
        }
        let why = if json == Json::Bool {
            format!(" (YAML 1.1, which kubeadm reads, takes a bare `{text}` for a boolean)")
        } else {
            String::new()
        };
        format!("quote it: `{field}: \"{text}\"`{why}")
    };
    match t {
        's' if json != Json::String => out.push(wrong("a string", quote_it())),
        'i' if json != Json::Int => out.push(wrong(
            "an integer",
            if json == Json::String && text.parse::<i64>().is_ok() {
                format!("drop the quotes: `{field}: {text}`")
            } else {
                "write a whole number without quotes".into()
            },
        )),
        'b' if json != Json::Bool => out.push(wrong(
            "a boolean",
            "write `true` or `false` without quotes".into(),
        )),
        'd' | 't' if json != Json::String => out.push(wrong(
            if t == 'd' {
                "a duration (a string)"
            } else {
                "a time (an RFC 3339 string)"
            },
            if t == 'd' && matches!(json, Json::Int | Json::Float) {
                format!("give it a unit: `{text}s`, `{text}m` or `{text}h`")
            } else {
                quote_it()
            },
        )),
        'd' => {
            if let Some(why) = duration_error(text) {
                let help = match days_in_hours(text) {
                    Some(hours) => format!("Go durations have no days: write `{hours}`"),
                    None => "write a Go duration such as `30s`, `4m0s`, `24h` or `8760h`".into(),
                };
                out.push(
                    at(
                        &INVALID_VALUE,
                        node.span,
                        format!("`{text}` is not a duration kubeadm can read for `{path}`: {why}"),
                    )
                    .path(path.to_string())
                    .help(help),
                );
            }
        }
        't' if !is_rfc3339(text) => out.push(
            at(
                &INVALID_VALUE,
                node.span,
                format!("`{text}` is not an RFC 3339 time for `{path}`"),
            )
            .path(path.to_string())
            .help("write it like `2026-01-02T15:04:05Z`"),
        ),
        's' => check_string(v, path, text, node, out),
        _ => {}
    }
}

/// The string fields with a fixed set of values or a fixed form.
fn check_string(v: &str, path: &str, text: &str, node: &Node, out: &mut Diagnostics) {
    if let Some((_, allowed)) = ALLOWED.iter().find(|(suffix, _)| path.ends_with(suffix))
        && !allowed.contains(&text)
    {
        let shown: Vec<&str> = allowed.iter().copied().filter(|a| !a.is_empty()).collect();
        let mut d = at(
            &INVALID_VALUE,
            node.span,
            format!(
                "`{text}` is not a value kubeadm.k8s.io/{v} takes for `{path}`: one of {}",
                shown.join(", ")
            ),
        )
        .path(path.to_string());
        if let Some(s) = crate::parse::did_you_mean(text, &shown) {
            d = d.help(format!("did you mean `{s}`?"));
        }
        out.push(d);
        return;
    }
    let token = path.ends_with("bootstrapTokens[].token")
        || path.ends_with("discovery.bootstrapToken.token")
        || path.ends_with("discovery.tlsBootstrapToken");
    if token && !is_bootstrap_token(text) {
        out.push(
            at(
                &INVALID_VALUE,
                node.span,
                format!("`{text}` is not a bootstrap token: 6 and 16 characters of a-z and 0-9, joined by a dot"),
            )
            .path(path.to_string())
            .help("`kubeadm token generate` prints a new one"),
        );
    }
    if path.ends_with("Configuration.certificateKey")
        && !(text.len() == 64 && text.bytes().all(|c| c.is_ascii_hexdigit()))
    {
        out.push(
            at(
                &INVALID_VALUE,
                node.span,
                format!(
                    "`{path}` must be 64 hex characters (an AES-256 key), not {} characters",
                    text.len()
                ),
            )
            .path(path.to_string())
            .help("`kubeadm certs certificate-key` prints a new one"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_resolution() {
        for (text, plain, want) in [
            ("1.31", true, Json::Float),
            ("1.31", false, Json::String),
            ("v1.31.2", true, Json::String),
            ("6443", true, Json::Int),
            ("-1_000", true, Json::Int),
            ("0x1F", true, Json::Int),
            ("1e3", true, Json::Float),
            (".5", true, Json::Float),
            ("1.", true, Json::Float),
            ("1.2.3", true, Json::String),
            ("e3", true, Json::String),
            ("yes", true, Json::Bool),
            ("On", true, Json::Bool),
            ("oN", true, Json::String),
            ("~", true, Json::Null),
            ("", true, Json::Null),
            ("", false, Json::String),
            (".inf", true, Json::Float),
            ("10.0.0.1", true, Json::String),
        ] {
            assert_eq!(resolve(text, plain), want, "{text:?} plain={plain}");
        }
    }

    #[test]
    fn go_durations() {
        for ok in [
            "0",
            "4m0s",
            "24h",
            "1.5h",
            "300ms",
            "-1h30m",
            "2h45m10.5s",
            "1us",
            "1µs",
        ] {
            assert_eq!(duration_error(ok), None, "{ok}");
        }
        for bad in ["", "1d", "24", "h", "1.2.3s", "5 m", "1hh2", "m5"] {
            assert!(duration_error(bad).is_some(), "{bad}");
        }
        assert_eq!(days_in_hours("365d").as_deref(), Some("8760h"));
        assert_eq!(days_in_hours("1.5d"), None);
    }

    #[test]
    fn rfc3339_times() {
        for ok in [
            "2026-01-02T15:04:05Z",
            "2026-01-02t15:04:05.123+01:00",
            "2026-01-02T15:04:05-07:00",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-01-02",
            "2026-01-02 15:04:05Z",
            "2026-01-02T15:04:05",
            "2026-01-02T15:04:05.Z",
            "2026-01-02T15:04:05+0100",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn bootstrap_tokens() {
        assert!(is_bootstrap_token("abcdef.0123456789abcdef"));
        assert!(!is_bootstrap_token("ABCDEF.0123456789abcdef"));
        assert!(!is_bootstrap_token("abcdef0123456789abcdef"));
        assert!(!is_bootstrap_token("abcde.0123456789abcdef"));
    }
}
