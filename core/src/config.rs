//! `.hagen-lint.yaml`: per-rule levels, the certificate expiry window and the Kubernetes
//! version of a lint run. Rule codes are checked against the whole [`registry`].

use crate::diag::Level;
use crate::registry;
use crate::version::{KubeVersion, VersionError};
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

/// Why a `.hagen-lint.yaml` was rejected; the message names the key and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not YAML (the parser's message).
    #[error("invalid YAML: {0}")]
    InvalidYaml(String),
    /// `rules:` names a code or name no rule has.
    #[error("`rules.{key}`: no such rule")]
    UnknownRule {
        /// The key as written.
        key: String,
    },
    /// A rule's level is not a single value (a list or a mapping).
    #[error("`rules.{key}`: expected off, info, warning or error")]
    LevelNotScalar {
        /// The rule key as written.
        key: String,
    },
    /// A rule's level is a value but not a level.
    #[error("`rules.{key}`: `{value}` is not off, info, warning or error")]
    BadLevel {
        /// The rule key as written.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A key that takes a number has something else.
    #[error("`{key}`: expected a number of days")]
    BadNumber {
        /// The key (`certExpiryDays`).
        key: &'static str,
    },
    /// A top-level key hagen does not read.
    #[error("unknown key `{key}` (expected rules, certExpiryDays, kubernetesVersion)")]
    UnknownKey {
        /// The key as written.
        key: String,
    },
    /// `kubernetesVersion` does not parse.
    #[error(transparent)]
    Version(#[from] VersionError),
}

/// Parses a `.hagen-lint.yaml` configuration.
pub fn parse_config(text: &str) -> Result<Config, ConfigError> {
    let y = yaml::parse(text);
    if let Some((m, _)) = y.error {
        return Err(ConfigError::InvalidYaml(m));
    }
    let mut cfg = Config::default();
    let Some(doc) = y.docs.first() else {
        return Ok(cfg);
    };
    for (k, v) in doc.entries() {
        match k.text.as_str() {
            "rules" => {
                for (code, level) in v.entries() {
                    let key = || code.text.clone();
                    let rule = registry::find(&code.text)
                        .ok_or_else(|| ConfigError::UnknownRule { key: key() })?;
                    let text = level
                        .str()
                        .ok_or_else(|| ConfigError::LevelNotScalar { key: key() })?;
                    // YAML 1.1 reads an unquoted `off` as false; accept both.
                    let text = if text == "false" { "off" } else { text };
                    let level = Level::parse(text).ok_or_else(|| ConfigError::BadLevel {
                        key: key(),
                        value: text.to_string(),
                    })?;
                    cfg.levels.insert(rule.code.to_string(), level);
                }
            }
            "certExpiryDays" => {
                let n = v
                    .str()
                    .and_then(|s| s.parse().ok())
                    .ok_or(ConfigError::BadNumber {
                        key: "certExpiryDays",
                    })?;
                cfg.cert_expiry_days = Some(n);
            }
            "kubernetesVersion" => {
                cfg.kubernetes_version = Some(KubeVersion::parse(v.str().unwrap_or(""))?);
            }
            other => {
                return Err(ConfigError::UnknownKey {
                    key: other.to_string(),
                });
            }
        }
    }
    Ok(cfg)
}
