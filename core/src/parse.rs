//! Step 1: text → [`Topology`]. The YAML is read into the spanned, untyped tree of
//! [`crate::yaml`] (the same tree as the linters'), then converted into the
//! typed model here, field by field. Doing the conversion ourselves, instead of through
//! a serde deserializer, reports *every* unknown key and wrong type at once, each with
//! its path and a position, and keeps the wizard's wasm about 100 KB (gzip) smaller.

use crate::diag::{Diagnostic, Rule, Severity};
use crate::source::Span;
use crate::topology::{
    ApiServer, ControlPlaneEndpoint, Etcd, EtcdType, KeyAlgorithm, LbType, LoadBalancer, Metadata,
    Networking, Node as TopologyNode, Pki, Role, S, Spec, Topology,
};
use crate::yaml::{self, Key, Node, Value};

// The two rules this step reports (listed with the TOP rules in `rules::topology`).

/// TOP000: the parser could not read the file as a topology.
pub const INVALID_YAML: Rule = Rule {
    code: "TOP000",
    name: "invalid-yaml",
    severity: Severity::Error,
    summary: "The file is not valid YAML, or a value has the wrong type",
    explain: "\
## What it checks
That the file is UTF-8 YAML whose values have the types topology.yaml expects: a mapping
where a mapping belongs, a number for ports, one of the listed words for `type` fields,
every required key present.

## Why it matters
Nothing else can be checked, or rendered, from a file that cannot be read.

## Example
```yaml
spec:
  loadBalancer:
    type: haproxy        # not one of the load balancer types
  controlPlaneEndpoint:
    port: https          # a port is a number
```

## Fix
Correct the value at the position shown. `hagen init` writes a valid, commented
starter topology; `hagen schema` prints the JSON Schema an editor can check against.
",
};

/// TOP001: a key that topology.yaml does not have.
pub const UNKNOWN_KEY: Rule = Rule {
    code: "TOP001",
    name: "unknown-key",
    severity: Severity::Error,
    summary: "A key that topology.yaml does not define (often a typo)",
    explain: "\
## What it checks
That every key is one topology.yaml defines at that place.

## Why it matters
A misspelled key would otherwise be ignored silently: `virtualRouterID: 48` would leave
the VRID at its default, and two clusters on one subnet would fight over the same VRRP
router.

## Example
```yaml
spec:
  etdc:            # meant: etcd
    type: external
```

## Fix
Use the key the hint suggests, or remove the key. `hagen schema` lists every key.
",
};

/// Parses topology text, or returns every reason it cannot be read as a topology.
pub fn parse(text: &str) -> Result<Topology, Vec<Diagnostic>> {
    if text.contains('\0') {
        let at = text.find('\0').unwrap_or(0);
        return Err(vec![
            Diagnostic::new(
                &INVALID_YAML,
                "this is a binary file, not YAML (it contains a NUL byte)",
            )
            .at(Span::new(at, at + 1), "")
            .help("pass the topology.yaml file; `hagen init` writes a starter one"),
        ]);
    }
    if is_blank(text) {
        return Err(vec![
            Diagnostic::new(
                &INVALID_YAML,
                "the file is empty: there is no topology in it",
            )
            .at(Span::new(0, 0), "")
            .help("run `hagen init > topology.yaml` for a commented starter topology"),
        ]);
    }
    let tree = yaml::parse(text);
    if let Some((message, span)) = tree.error {
        return Err(vec![syntax_error(&message, span)]);
    }
    let Some(doc) = tree.docs.first() else {
        return Err(vec![
            Diagnostic::new(&INVALID_YAML, "the file holds no YAML document")
                .at(Span::new(0, 0), ""),
        ]);
    };
    let mut r = Reader { errors: Vec::new() };
    if let Some(second) = tree.docs.get(1) {
        r.error(
            second.span,
            "",
            "a second YAML document: topology.yaml holds exactly one",
            "remove the `---` and what follows, or split it into two files",
        );
    }
    let topology = r.topology(doc);
    match topology {
        Some(t) if r.errors.is_empty() => Ok(t),
        _ => Err(r.errors),
    }
}

/// Reads YAML text as plain JSON data, without spans (to check a file against the JSON
/// Schema in tests, or to hand it to a JSON tool).
pub fn to_json(text: &str) -> Result<serde_json::Value, YamlError> {
    serde_saphyr::from_str(text).map_err(|e| YamlError {
        message: e.to_string(),
    })
}

/// YAML that cannot be read as data, with the reader's account of where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct YamlError {
    /// The YAML reader's message, with its position.
    pub message: String,
}

/// The diagnostic for bytes that are not a text file; it has no position to show.
pub fn not_text(why: String) -> Diagnostic {
    Diagnostic::new(
        &INVALID_YAML,
        format!("this is a binary file, not YAML: {why}"),
    )
    .help("pass the topology.yaml file; `hagen init` writes a starter one")
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

fn syntax_error(message: &str, span: Span) -> Diagnostic {
    let help = if message.contains("quoted scalar") {
        "a quote opened above this position is probably not closed"
    } else if message.contains("tab") {
        "YAML indents with spaces only: replace the tab with spaces"
    } else if message.contains("bracket")
        || message.contains("indicator")
        || message.contains("flow")
    {
        "check the brackets and colons on this line and the one above"
    } else {
        "fix the YAML at this position; `hagen init` shows a valid topology"
    };
    Diagnostic::new(&INVALID_YAML, message.to_string())
        .at(span, "")
        .help(help)
}

/// Collects every problem while converting the tree.
struct Reader {
    errors: Vec<Diagnostic>,
}

/// The entries of one mapping, checked for unknown and repeated keys.
struct Fields<'n> {
    entries: &'n [(Key, Node)],
    node: &'n Node,
    path: String,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }
    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

fn is_null(node: &Node) -> bool {
    matches!(&node.value, Value::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
}

fn describe(node: &Node) -> &'static str {
    match node.value {
        Value::Map(_) => "a mapping",
        Value::Seq(_) => "a list",
        Value::Scalar { .. } => "a single value",
        Value::Alias => "an alias",
    }
}

impl Reader {
    fn error(
        &mut self,
        span: Span,
        path: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.errors.push(
            Diagnostic::new(&INVALID_YAML, message)
                .at(span, path)
                .help(help),
        );
    }

    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&'static str],
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            let what = if path.is_empty() { "the file" } else { path };
            self.error(
                node.span,
                path,
                format!(
                    "{what} must be a mapping (`key: value` lines), not {}",
                    describe(node)
                ),
                "see `hagen init` for the shape of a topology",
            );
            return None;
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            let key_path = if path.is_empty() {
                key.text.clone()
            } else {
                format!("{path}.{}", key.text)
            };
            if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.text == key.text) {
                self.errors.push(
                    Diagnostic::new(
                        &INVALID_YAML,
                        format!("the key `{}` appears twice", key.text),
                    )
                    .at(key.span, key_path)
                    .label(first.span, "first here")
                    .help("keep one of them"),
                );
            } else if !allowed.contains(&key.text.as_str()) {
                let d = Diagnostic::new(&UNKNOWN_KEY, format!("unknown key `{}`", key.text))
                    .at(key.span, key_path);
                let d = match did_you_mean(&key.text, allowed) {
                    Some(near) => d.help(format!(
                        "did you mean `{near}`? (keys allowed here: {})",
                        allowed.join(", ")
                    )),
                    None => d.help(format!("keys allowed here: {}", allowed.join(", "))),
                };
                self.errors.push(d);
            }
        }
        Some(Fields {
            entries,
            node,
            path: path.to_string(),
        })
    }

    fn required<T>(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        read: impl FnOnce(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<S<T>> {
        match f.get(key).filter(|n| !is_null(n)) {
            Some(node) => read(self, node, &f.child(key)).map(|v| S::new(v, node.span)),
            // A near-miss key (`role` for `roles`) is already reported as unknown, with
            // this key as its suggestion: saying it is missing too would be noise.
            None if f
                .entries
                .iter()
                .any(|(k, _)| k.text != key && did_you_mean(&k.text, &[key]).is_some()) =>
            {
                None
            }
            None => {
                let what = if f.path.is_empty() {
                    "the file".to_string()
                } else {
                    format!("`{}`", f.path)
                };
                // Point at the mapping's first key: the missing one belongs beside it.
                let at = f.entries.first().map_or(f.node.span, |(k, _)| k.span);
                self.error(
                    at,
                    &f.child(key),
                    format!("{what} is missing the required key `{key}`"),
                    format!("add `{key}:` to this mapping (`hagen schema` lists every key)"),
                );
                None
            }
        }
    }

    fn optional<T>(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        read: impl FnOnce(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<S<T>> {
        let node = f.get(key).filter(|n| !is_null(n))?;
        read(self, node, &f.child(key)).map(|v| S::new(v, node.span))
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text.clone()),
            Value::Alias => {
                self.error(
                    node.span,
                    path,
                    "YAML aliases (`*name`) are not supported in topology.yaml",
                    "write the value out",
                );
                None
            }
            _ => {
                self.error(
                    node.span,
                    path,
                    format!("expected a single value here, not {}", describe(node)),
                    "write one value on this line",
                );
                None
            }
        }
    }

    fn number(&mut self, node: &Node, path: &str) -> Option<u32> {
        let text = self.string(node, path)?;
        match text.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_)
                if !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit()) =>
            {
                self.error(
                    node.span,
                    path,
                    format!("`{text}` is too large"),
                    "write a smaller whole number",
                );
                None
            }
            Err(_) => {
                self.error(
                    node.span,
                    path,
                    format!("`{text}` is not a whole number"),
                    "write a whole number here, such as 8443",
                );
                None
            }
        }
    }

    fn choice<E: Copy>(
        &mut self,
        node: &Node,
        path: &str,
        variants: &[(&'static str, E)],
    ) -> Option<E> {
        if let Value::Seq(_) | Value::Map(_) = node.value {
            let first = variants.first().map_or("", |v| v.0);
            self.error(
                node.span,
                path,
                format!(
                    "expected a single word here (such as `{first}`), not {}",
                    describe(node)
                ),
                "write one value without brackets; `hagen schema` lists the allowed values",
            );
            return None;
        }
        let text = self.string(node, path)?;
        if let Some((_, v)) = variants.iter().find(|(name, _)| *name == text) {
            return Some(*v);
        }
        let names: Vec<&str> = variants.iter().map(|v| v.0).collect();
        let help = match did_you_mean(&text, &names) {
            Some(near) => format!("did you mean `{near}`? (one of: {})", names.join(", ")),
            None => format!("use one of: {}", names.join(", ")),
        };
        self.error(node.span, path, format!("unknown value `{text}`"), help);
        None
    }

    fn list<T>(
        &mut self,
        node: &Node,
        path: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<Vec<S<T>>> {
        let Value::Seq(items) = &node.value else {
            self.error(
                node.span,
                path,
                format!("expected a list here, not {}", describe(node)),
                "write a list: `[a, b]`, or one `- item` per line",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, n) in items.iter().enumerate() {
            match item(self, n, &format!("{path}[{i}]")) {
                Some(v) => out.push(S::new(v, n.span)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn topology(&mut self, node: &Node) -> Option<Topology> {
        let f = self.fields(node, "", &["apiVersion", "kind", "metadata", "spec"])?;
        let api_version = self.required(&f, "apiVersion", Self::string);
        let kind = self.required(&f, "kind", Self::string);
        let metadata = self.required(&f, "metadata", Self::metadata);
        let spec = self.required(&f, "spec", Self::spec);
        Some(Topology {
            api_version: api_version?,
            kind: kind?,
            metadata: metadata?,
            spec: spec?,
        })
    }

    fn metadata(&mut self, node: &Node, path: &str) -> Option<Metadata> {
        let f = self.fields(node, path, &["name"])?;
        Some(Metadata {
            name: self.required(&f, "name", Self::string)?,
        })
    }

    fn spec(&mut self, node: &Node, path: &str) -> Option<Spec> {
        let f = self.fields(
            node,
            path,
            &[
                "kubernetesVersion",
                "controlPlaneEndpoint",
                "apiServer",
                "loadBalancer",
                "etcd",
                "networking",
                "pki",
                "nodes",
            ],
        )?;
        let kubernetes_version = self.required(&f, "kubernetesVersion", Self::string);
        let control_plane_endpoint = self.optional(&f, "controlPlaneEndpoint", Self::endpoint);
        let api_server = self.optional(&f, "apiServer", Self::api_server);
        let load_balancer = self.required(&f, "loadBalancer", Self::load_balancer);
        let etcd = self.optional(&f, "etcd", Self::etcd);
        let networking = self.optional(&f, "networking", Self::networking);
        let pki = self.optional(&f, "pki", Self::pki);
        let nodes = self.required(&f, "nodes", |r, n, p| r.list(n, p, Self::node));
        Some(Spec {
            kubernetes_version: kubernetes_version?,
            control_plane_endpoint,
            api_server,
            load_balancer: load_balancer?,
            etcd,
            networking,
            pki,
            nodes: nodes?,
        })
    }

    fn endpoint(&mut self, node: &Node, path: &str) -> Option<ControlPlaneEndpoint> {
        let f = self.fields(node, path, &["vip", "dns", "port"])?;
        Some(ControlPlaneEndpoint {
            vip: self.optional(&f, "vip", Self::string),
            dns: self.optional(&f, "dns", Self::string),
            port: self.optional(&f, "port", Self::number),
        })
    }

    fn api_server(&mut self, node: &Node, path: &str) -> Option<ApiServer> {
        let f = self.fields(node, path, &["bindPort", "certSANs"])?;
        Some(ApiServer {
            bind_port: self.optional(&f, "bindPort", Self::number),
            cert_sans: self
                .optional(&f, "certSANs", |r, n, p| r.list(n, p, Self::string))
                .map(|s| s.value),
        })
    }

    fn load_balancer(&mut self, node: &Node, path: &str) -> Option<LoadBalancer> {
        const TYPES: &[(&str, LbType)] = &[
            ("haproxy-keepalived", LbType::HaproxyKeepalived),
            ("keepalived", LbType::Keepalived),
            ("nginx-local", LbType::NginxLocal),
            ("kube-vip", LbType::KubeVip),
            ("external", LbType::External),
        ];
        let f = self.fields(
            node,
            path,
            &[
                "type",
                "interface",
                "virtualRouterId",
                "authPass",
                "kubeVipImage",
            ],
        )?;
        let kind = self.required(&f, "type", |r, n, p| r.choice(n, p, TYPES));
        Some(LoadBalancer {
            interface: self.optional(&f, "interface", Self::string),
            virtual_router_id: self.optional(&f, "virtualRouterId", Self::number),
            auth_pass: self.optional(&f, "authPass", Self::string),
            kube_vip_image: self.optional(&f, "kubeVipImage", Self::string),
            kind: kind?,
        })
    }

    fn etcd(&mut self, node: &Node, path: &str) -> Option<Etcd> {
        const TYPES: &[(&str, EtcdType)] = &[
            ("stacked", EtcdType::Stacked),
            ("external", EtcdType::External),
        ];
        let f = self.fields(node, path, &["type", "version"])?;
        Some(Etcd {
            kind: self.required(&f, "type", |r, n, p| r.choice(n, p, TYPES))?,
            version: self.optional(&f, "version", Self::string),
        })
    }

    fn networking(&mut self, node: &Node, path: &str) -> Option<Networking> {
        let f = self.fields(node, path, &["podSubnet", "serviceSubnet", "dnsDomain"])?;
        Some(Networking {
            pod_subnet: self.optional(&f, "podSubnet", Self::string),
            service_subnet: self.optional(&f, "serviceSubnet", Self::string),
            dns_domain: self.optional(&f, "dnsDomain", Self::string),
        })
    }

    fn pki(&mut self, node: &Node, path: &str) -> Option<Pki> {
        const ALGORITHMS: &[(&str, KeyAlgorithm)] = &[
            ("ecdsa-p256", KeyAlgorithm::EcdsaP256),
            ("rsa-2048", KeyAlgorithm::Rsa2048),
            ("rsa-3072", KeyAlgorithm::Rsa3072),
            ("rsa-4096", KeyAlgorithm::Rsa4096),
        ];
        let f = self.fields(
            node,
            path,
            &["keyAlgorithm", "certValidityDays", "caValidityDays"],
        )?;
        Some(Pki {
            key_algorithm: self.optional(&f, "keyAlgorithm", |r, n, p| r.choice(n, p, ALGORITHMS)),
            cert_validity_days: self.optional(&f, "certValidityDays", Self::number),
            ca_validity_days: self.optional(&f, "caValidityDays", Self::number),
        })
    }

    fn node(&mut self, node: &Node, path: &str) -> Option<TopologyNode> {
        const ROLES: &[(&str, Role)] = &[
            ("control-plane", Role::ControlPlane),
            ("worker", Role::Worker),
            ("etcd", Role::Etcd),
        ];
        let f = self.fields(
            node,
            path,
            &["name", "address", "zone", "roles", "interface"],
        )?;
        let name = self.required(&f, "name", Self::string);
        let address = self.required(&f, "address", Self::string);
        let zone = self.optional(&f, "zone", Self::string);
        let roles = self.required(&f, "roles", |r, n, p| {
            r.list(n, p, |r, n, p| r.choice(n, p, ROLES))
        });
        let interface = self.optional(&f, "interface", Self::string);
        Some(TopologyNode {
            name: name?,
            address: address?,
            zone,
            roles: roles?,
            interface,
        })
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let cl = c.to_ascii_lowercase();
            let mut score = strsim::normalized_damerau_levenshtein(&lower, &cl);
            if cl.starts_with(&lower) || lower.starts_with(&cl) {
                score = score.max(0.8);
            }
            (score, *c)
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_common_typos() {
        let spec = ["kubernetesVersion", "controlPlaneEndpoint", "etcd", "nodes"];
        assert_eq!(did_you_mean("etdc", &spec), Some("etcd"));
        assert_eq!(did_you_mean("node", &spec), Some("nodes"));
        assert_eq!(did_you_mean("zzz", &spec), None);
        let ep = ["vip", "dns", "port"];
        assert_eq!(did_you_mean("dsn", &ep), Some("dns"));
        let lb = [
            "haproxy-keepalived",
            "keepalived",
            "nginx-local",
            "kube-vip",
            "external",
        ];
        assert_eq!(did_you_mean("haproxy", &lb), Some("haproxy-keepalived"));
        assert_eq!(did_you_mean("kubevip", &lb), Some("kube-vip"));
    }

    fn errors(text: &str) -> Vec<(String, String)> {
        super::parse(text)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.rule.code.to_string(), d.path.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let text = "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata: {name: x}\nspec:\n  kubernetesVersion: v1.31.2\n  loadBalancer: {type: kubevip, virtualRouterId: lots}\n  nodes:\n    - {name: a, address: 10.0.0.1, role: [worker]}\n    - {name: b, address: 10.0.0.2, roles: [worker], zonee: a}\n";
        let found = errors(text);
        let want = [
            ("TOP000", "spec.loadBalancer.type"),
            ("TOP000", "spec.loadBalancer.virtualRouterId"),
            ("TOP001", "spec.nodes[0].role"),
            ("TOP001", "spec.nodes[1].zonee"),
        ];
        for (code, path) in want {
            assert!(
                found.iter().any(|(c, p)| c == code && p == path),
                "{code} at {path} missing from {found:?}"
            );
        }
        assert_eq!(
            found.len(),
            4,
            "no extra `roles` missing error beside the near-miss: {found:?}"
        );
    }

    #[test]
    fn duplicates_nulls_and_shapes() {
        let base = "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata: {name: x}\nspec:\n  kubernetesVersion: v1.31.2\n  loadBalancer: {type: external}\n";
        assert_eq!(
            errors(&format!("{base}  nodes: []\n  nodes: []\n")),
            vec![("TOP000".to_string(), "spec.nodes".to_string())]
        );
        assert_eq!(
            errors(&format!("{base}  nodes: 5\n")),
            vec![("TOP000".to_string(), "spec.nodes".to_string())]
        );
        assert!(
            super::parse(&format!("{base}  etcd: ~\n  nodes: []\n")).is_ok(),
            "null means absent"
        );
        assert!(errors(&format!("{base}  nodes: []\n---\nkind: x\n")).len() == 1);
    }
}
