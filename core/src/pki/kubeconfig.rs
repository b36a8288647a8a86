//! Kubeconfig files as kubeadm writes them (one cluster, one user, one context named
//! `<user>@<cluster>`, certificates embedded as base64), and reading back the parts hagen
//! needs to decide whether an existing one can be kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

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

#[derive(Deserialize)]
struct Config {
    clusters: Vec<NamedCluster>,
    users: Vec<NamedUser>,
    #[serde(rename = "current-context")]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
}

#[derive(Deserialize)]
struct NamedCluster {
    name: String,
    cluster: Cluster,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    context: Context,
}

#[derive(Deserialize)]
struct Cluster {
    server: String,
    #[serde(rename = "certificate-authority-data")]
    ca: Option<String>,
}

#[derive(Deserialize)]
struct Context {
    cluster: String,
    user: String,
}

#[derive(Deserialize)]
struct NamedUser {
    name: String,
    user: User,
}

#[derive(Deserialize)]
struct User {
    #[serde(rename = "client-certificate-data")]
    cert: Option<String>,
    #[serde(rename = "client-key-data")]
    key: Option<String>,
}

/// Reads a kubeconfig with embedded credentials: the current context's cluster and user
/// (or the only ones). Files that point at credentials on disk are refused: hagen cannot
/// check what it cannot see.
pub fn parse(text: &[u8]) -> Result<Parts, String> {
    let text = std::str::from_utf8(text).map_err(|_| "it is not UTF-8".to_string())?;
    let cfg: Config =
        serde_saphyr::from_str(text).map_err(|e| format!("it is not a kubeconfig: {e}"))?;
    let context = cfg
        .current_context
        .as_ref()
        .and_then(|c| cfg.contexts.iter().find(|x| &x.name == c))
        .map(|c| &c.context);
    let cluster = match context {
        Some(c) => cfg.clusters.iter().find(|x| x.name == c.cluster),
        None => cfg.clusters.first(),
    }
    .ok_or("it names no cluster")?;
    let user = match context {
        Some(c) => cfg.users.iter().find(|x| x.name == c.user),
        None => cfg.users.first(),
    }
    .ok_or("it names no user")?;
    let decode = |what: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
        let v = v
            .as_ref()
            .ok_or_else(|| format!("it has no embedded {what}"))?;
        STANDARD
            .decode(v.trim())
            .map_err(|e| format!("its {what} is not base64: {e}"))
    };
    Ok(Parts {
        cluster: cluster.name.clone(),
        server: cluster.cluster.server.clone(),
        user: user.name.clone(),
        ca_pem: decode("certificate-authority-data", &cluster.cluster.ca)?,
        cert_pem: decode("client-certificate-data", &user.user.cert)?,
        key_pem: decode("client-key-data", &user.user.key)?,
    })
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
