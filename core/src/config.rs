//! `.hagen-lint.yaml`: per-rule levels, the certificate expiry window and the Kubernetes
//! version of a lint run. Rule codes are checked against the whole [`registry`].

use crate::diag::Level;
use crate::registry;
use crate::version::KubeVersion;
use crate::yaml;
use std::collections::BTreeMap;

/// The settings of a `.hagen-lint.yaml` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `rules: {HAP003: off, KAL002: warning}`.
    pub levels: BTreeMap<String, Level>,
    /// `certExpiryDays: 30`.
    pub cert_expiry_days: Option<u32>,
    /// `kubernetesVersion: v1.31.2`.
    pub kubernetes_version: Option<KubeVersion>,
}

/// Parses a `.hagen-lint.yaml` configuration; errors name the key and the problem.
pub fn parse_config(text: &str) -> Result<Config, String> {
    let y = yaml::parse(text);
    if let Some((m, _)) = y.error {
        return Err(format!("invalid YAML: {m}"));
    }
    let mut cfg = Config::default();
    let Some(doc) = y.docs.first() else {
        return Ok(cfg);
    };
    for (k, v) in doc.entries() {
        match k.text.as_str() {
            "rules" => {
                for (code, level) in v.entries() {
                    let rule = registry::find(&code.text)
                        .ok_or_else(|| format!("`rules.{}`: no such rule", code.text))?;
                    let text = level.str().ok_or_else(|| {
                        format!(
                            "`rules.{}`: expected off, info, warning or error",
                            code.text
                        )
                    })?;
                    // YAML 1.1 reads an unquoted `off` as false; accept both.
                    let text = if text == "false" { "off" } else { text };
                    let level = Level::parse(text).ok_or_else(|| {
                        format!(
                            "`rules.{}`: `{text}` is not off, info, warning or error",
                            code.text
                        )
                    })?;
                    cfg.levels.insert(rule.code.to_string(), level);
                }
            }
            "certExpiryDays" => {
                let n = v
                    .str()
                    .and_then(|s| s.parse().ok())
                    .ok_or("`certExpiryDays`: expected a number of days")?;
                cfg.cert_expiry_days = Some(n);
            }
            "kubernetesVersion" => {
                cfg.kubernetes_version =
                    Some(KubeVersion::parse(v.str().unwrap_or("")).map_err(|e| e.to_string())?);
            }
            other => {
                return Err(format!(
                    "unknown key `{other}` (expected rules, certExpiryDays, kubernetesVersion)"
                ));
            }
        }
    }
    Ok(cfg)
}
