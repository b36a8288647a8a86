//! Kubeconfig files as kubeadm writes them (one cluster, one user, one context named
//! `<user>@<cluster>`, certificates embedded as base64), reading back the parts hagen
//! needs to decide whether an existing one can be kept, and making or keeping each
//! control plane's kubeconfigs.

use super::error::{KubeconfigError, PkiError};
use super::generate::{PkiAction, Run, bundle_path};
use super::issue::{Ca, Want, issue};
use super::keys;
use super::review::{first_cert, key_matches, parse_cert, review};
use super::spec::KubeconfigSpec;
use crate::bundle::MODE_SECRET;
use crate::plan::Node;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What a kubeconfig holds, as PEM bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// The cluster name.
    pub cluster: String,
    /// The server URL.
    pub server: String,
    /// The user name (the client certificate's CN).
    pub user: String,
    /// `certificate-authority-data`, decoded.
    pub ca_pem: Vec<u8>,
    /// `client-certificate-data`, decoded.
    pub cert_pem: Vec<u8>,
    /// `client-key-data`, decoded.
    pub key_pem: Vec<u8>,
}

/// The kubeconfig text, in kubeadm's field order.
pub fn render(p: &Parts) -> String {
    format!(
        "apiVersion: v1\n\
         clusters:\n\
         - cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {cluster}\n\
         contexts:\n\
         - context:\n    cluster: {cluster}\n    user: {user}\n  name: {user}@{cluster}\n\
         current-context: {user}@{cluster}\n\
         kind: Config\n\
         preferences: {{}}\n\
         users:\n\
         - name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = STANDARD.encode(&p.ca_pem),
        server = p.server,
        cluster = p.cluster,
        user = p.user,
        cert = STANDARD.encode(&p.cert_pem),
        key = STANDARD.encode(&p.key_pem),
    )
}

/// Reads a kubeconfig with embedded credentials: the current context's cluster and user
/// (or the first ones). Files that point at credentials on disk are refused: hagen
/// cannot check what it cannot see. Read through the linters' untyped YAML tree rather
/// than serde: the same parser, without a typed deserializer per kubeconfig struct (which
/// costs the wizard's wasm about 40 KB).
pub fn parse(text: &[u8]) -> Result<Parts, KubeconfigError> {
    use crate::yaml::{self, Node};
    let text = std::str::from_utf8(text).map_err(|_| KubeconfigError::NotUtf8)?;
    let parsed = yaml::parse(text);
    if let Some((msg, _)) = &parsed.error {
        return Err(KubeconfigError::NotYaml(msg.to_string()));
    }
    let doc = parsed.docs.first().ok_or(KubeconfigError::Empty)?;
    let named = |list: &str, name: Option<&str>| -> Option<&Node> {
        let items = doc.get(list)?.items();
        match name {
            Some(n) => items
                .iter()
                .find(|i| i.get("name").and_then(Node::str) == Some(n)),
            None => items.first(),
        }
    };
    let context = doc
        .get("current-context")
        .and_then(Node::str)
        .and_then(|c| named("contexts", Some(c)))
        .and_then(|c| c.get("context"));
    let field = |n: Option<&Node>, key: &str| {
        n.and_then(|n| n.get(key))
            .and_then(Node::str)
            .map(str::to_string)
    };
    let cluster = named("clusters", field(context, "cluster").as_deref())
        .ok_or(KubeconfigError::NoCluster)?;
    let user = named("users", field(context, "user").as_deref()).ok_or(KubeconfigError::NoUser)?;
    let decode = |what: &'static str, v: Option<String>| {
        let v = v.ok_or(KubeconfigError::NotEmbedded(what))?;
        STANDARD
            .decode(v.trim())
            .map_err(|why| KubeconfigError::NotBase64 { field: what, why })
    };
    let cluster_body = cluster.get("cluster");
    let user_body = user.get("user");
    Ok(Parts {
        cluster: field(Some(cluster), "name").unwrap_or_default(),
        server: field(cluster_body, "server").ok_or(KubeconfigError::NoServer)?,
        user: field(Some(user), "name").unwrap_or_default(),
        ca_pem: decode(
            "certificate-authority-data",
            field(cluster_body, "certificate-authority-data"),
        )?,
        cert_pem: decode(
            "client-certificate-data",
            field(user_body, "client-certificate-data"),
        )?,
        key_pem: decode("client-key-data", field(user_body, "client-key-data"))?,
    })
}

/// The kubeconfig `kc` at `rel` on `node`, from the `found` file: kept, re-issued for
/// its existing client key, or new.
pub(super) fn kubeconfig_file(
    run: &mut Run<'_, '_>,
    node: &Node,
    kc: &KubeconfigSpec,
    rel: &str,
    found: Option<&[u8]>,
    ca: &Ca,
) -> Result<(), PkiError> {
    let plan = run.plan;
    let path = bundle_path(node, rel);
    let want = Want {
        cn: kc.cn.to_string(),
        org: (kc.org)(&plan.version),
        sans: Vec::new(),
        usages: KubeconfigSpec::USAGES,
        ekus: KubeconfigSpec::EKUS,
        is_ca: false,
    };
    let fresh = Parts {
        cluster: plan.cluster_name.clone(),
        server: kc.server_url(plan, node),
        user: kc.cn.to_string(),
        ca_pem: ca.cert_file.clone(),
        cert_pem: Vec::new(),
        key_pem: Vec::new(),
    };
    let Some(bytes) = found else {
        let key = run.rand.new_key()?;
        let cert_pem = issue(run, &want, &key.pair, ca)?;
        let text = render(&Parts {
            cert_pem,
            key_pem: key.pem,
            ..fresh
        });
        run.out.add(
            path,
            text.as_bytes(),
            MODE_SECRET,
            (PkiAction::Generated, "new"),
        );
        return Ok(());
    };
    let old = parse(bytes).map_err(|why| PkiError::Kubeconfig {
        path: path.clone(),
        why,
    })?;
    let key = keys::load(&old.key_pem).map_err(|why| PkiError::KubeconfigKey {
        path: path.clone(),
        why,
    })?;
    let der = first_cert(&path, &old.cert_pem)?;
    let cert = parse_cert(&path, &der)?;
    if !key_matches(&cert, &key.pair) {
        return Err(PkiError::KeyMismatch {
            cert: format!("{path} (client-certificate-data)"),
            key: format!("{path} (client-key-data)"),
        });
    }
    let same_ca = first_cert(&path, &old.ca_pem).is_ok_and(|d| d == ca.der);
    let why = if !same_ca {
        Some("embeds a different CA".to_string())
    } else if old.server != fresh.server {
        Some(format!(
            "server is {}, the plan says {}",
            old.server, fresh.server
        ))
    } else if old.cluster != fresh.cluster || old.user != fresh.user {
        Some(format!(
            "names cluster {} and user {}, the plan says {} and {}",
            old.cluster, old.user, fresh.cluster, fresh.user
        ))
    } else {
        review(&cert, &want, ca, run.now, plan.cert_validity_days)
    };
    match why {
        None => run.out.add(
            path,
            bytes,
            MODE_SECRET,
            (PkiAction::Kept, "matches the plan"),
        ),
        Some(why) => {
            let cert_pem = issue(run, &want, &key.pair, ca)?;
            let text = render(&Parts {
                cert_pem,
                key_pem: key.pem,
                ..fresh
            });
            let why = format!("{why}; its key is kept");
            run.out.add(
                path,
                text.as_bytes(),
                MODE_SECRET,
                (PkiAction::Reissued, &why),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reads_back() {
        let p = Parts {
            cluster: "k8s".into(),
            server: "https://[fd00::1]:6443".into(),
            user: "kubernetes-admin".into(),
            ca_pem: b"ca".to_vec(),
            cert_pem: b"cert".to_vec(),
            key_pem: b"key".to_vec(),
        };
        let text = render(&p);
        assert!(text.contains("current-context: kubernetes-admin@k8s\n"));
        assert_eq!(parse(text.as_bytes()).unwrap(), p);
        assert!(parse(b"apiVersion: v1\nkind: Config\n").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
