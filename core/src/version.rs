//! Kubernetes versions and the kubeadm configuration API each one reads; etcd versions
//! and the one table of what kubeadm ships and accepts per Kubernetes release.

use std::fmt;

/// A Kubernetes version such as `v1.31.2` (a missing patch reads as 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major version (1).
    pub major: u32,
    /// Minor version: what every version gate compares.
    pub minor: u32,
    /// Patch release.
    pub patch: u32,
    /// Anything after the numbers (`-rc.1`), kept for display.
    pub suffix: String,
}

/// The kubeadm configuration API versions hagen writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KubeadmApi {
    /// `kubeadm.k8s.io/v1beta3`: Kubernetes 1.22 to 1.36, deprecated from 1.31.
    V1Beta3,
    /// `kubeadm.k8s.io/v1beta4`: Kubernetes 1.31 on.
    V1Beta4,
}

impl KubeadmApi {
    /// The `apiVersion` string.
    pub fn api_version(self) -> &'static str {
        match self {
            KubeadmApi::V1Beta3 => "kubeadm.k8s.io/v1beta3",
            KubeadmApi::V1Beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }
}

/// A text that is not a Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a Kubernetes version; write it as v1.31.2")]
#[non_exhaustive]
pub struct VersionError {
    /// The text as written.
    pub text: String,
}

impl KubeVersion {
    /// Parses `v1.31.2`, `1.31.2`, `v1.31`, `v1.32.0-rc.1`.
    pub fn parse(text: &str) -> Result<KubeVersion, VersionError> {
        let body = text.trim().strip_prefix('v').unwrap_or(text.trim());
        let (numbers, suffix) = match body.find(['-', '+']) {
            Some(i) => (&body[..i], &body[i..]),
            None => (body, ""),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let bad = || VersionError {
            text: text.to_string(),
        };
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let num = |s: &str| -> Result<u32, VersionError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        Ok(KubeVersion {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: parts.get(2).map_or(Ok(0), |p| num(p))?,
            suffix: suffix.to_string(),
        })
    }

    /// The kubeadm API to write for this version: v1beta4 from 1.31, v1beta3 before
    /// (v1beta3 is deprecated from 1.31 and removed in 1.37).
    pub fn kubeadm_api(&self) -> KubeadmApi {
        if (self.major, self.minor) >= (1, 31) {
            KubeadmApi::V1Beta4
        } else {
            KubeadmApi::V1Beta3
        }
    }

    /// True from 1.29, when kubeadm splits super-admin.conf from admin.conf.
    pub fn has_super_admin_conf(&self) -> bool {
        (self.major, self.minor) >= (1, 29)
    }

    /// True from 1.33, when `ControlPlaneKubeletLocalMode` is on by default: a control
    /// plane's kubelet.conf names its own API server, a worker's the endpoint
    /// (kubeadm.md §5).
    pub fn kubelet_local_mode(&self) -> bool {
        (self.major, self.minor) >= (1, 33)
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v{}.{}.{}{}",
            self.major, self.minor, self.patch, self.suffix
        )
    }
}

/// An etcd release such as `3.5.24` (written with or without a leading `v`; kubeadm's
/// image suffix `-0` is not part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtcdVersion {
    /// Major version (3).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch release.
    pub patch: u32,
}

/// A text that is not an etcd release version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an etcd release; write it as 3.5.24")]
#[non_exhaustive]
pub struct EtcdVersionError {
    /// The text as written.
    pub text: String,
}

impl EtcdVersion {
    /// Parses `3.5.24` or `v3.5.24` (all three numbers: releases are downloaded by it).
    pub fn parse(text: &str) -> Result<EtcdVersion, EtcdVersionError> {
        let bad = || EtcdVersionError {
            text: text.to_string(),
        };
        let body = text.strip_prefix('v').unwrap_or(text);
        let parts: Vec<&str> = body.split('.').collect();
        let num = |s: &str| -> Result<u32, EtcdVersionError> {
            if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        match parts.as_slice() {
            [major, minor, patch] => Ok(EtcdVersion {
                major: num(major)?,
                minor: num(minor)?,
                patch: num(patch)?,
            }),
            _ => Err(bad()),
        }
    }

    const fn new(major: u32, minor: u32, patch: u32) -> EtcdVersion {
        EtcdVersion {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for EtcdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What kubeadm of one Kubernetes release range knows about etcd: rows apply from
/// `(minor, from_patch)` until the next row of the same minor.
struct EtcdRow {
    minor: u32,
    from_patch: u32,
    /// `constants.MinExternalEtcdVersion`: below it kubeadm's `ExternalEtcdVersion`
    /// preflight check is an error.
    min_external: EtcdVersion,
    /// The etcd this kubeadm runs for stacked etcd (`SupportedEtcdVersion` of the minor,
    /// newest patch): hagen's default for external etcd.
    ships: EtcdVersion,
}

const fn row(minor: u32, from_patch: u32, min: EtcdVersion, ships: EtcdVersion) -> EtcdRow {
    EtcdRow {
        minor,
        from_patch,
        min_external: min,
        ships,
    }
}

/// The oldest haproxy, keepalived and nginx releases the bundle's files are made for:
/// Debian 12's, which the real-program tests check every golden bundle with. Each node's
/// `hagen-preflight` refuses an older one.
pub const MIN_HAPROXY: &str = "2.6";
/// See [`MIN_HAPROXY`].
pub const MIN_KEEPALIVED: &str = "2.2";
/// See [`MIN_HAPROXY`] (with its stream module).
pub const MIN_NGINX: &str = "1.22";

/// The one table. Sources (see `../shared/reference/kubeadm-audit.md`, finding 1): the
/// minimums 3.5.16 (v1.29.11+, v1.32.0–9), 3.5.21 (v1.33.0–5), 3.5.24 (v1.31.14,
/// v1.32.10+, v1.33.6+, 1.35 and later) and 3.6.4 (v1.34) are read from kubeadm's
/// constants.go; for 1.28, 1.30 and v1.31.0–13 the audit infers "3.5.x", and 1.31 moved
/// the API server onto etcd health endpoints that 3.5 has only from 3.5.11
/// (kubernetes/website #54031), so 3.5.11 is the floor there. Not covered minors (1.37+)
/// read the newest row.
static ETCD: &[EtcdRow] = &[
    row(28, 0, EtcdVersion::new(3, 5, 0), EtcdVersion::new(3, 5, 15)),
    row(29, 0, EtcdVersion::new(3, 5, 0), EtcdVersion::new(3, 5, 16)),
    row(
        29,
        11,
        EtcdVersion::new(3, 5, 16),
        EtcdVersion::new(3, 5, 16),
    ),
    row(30, 0, EtcdVersion::new(3, 5, 0), EtcdVersion::new(3, 5, 16)),
    row(
        31,
        0,
        EtcdVersion::new(3, 5, 11),
        EtcdVersion::new(3, 5, 24),
    ),
    row(
        31,
        14,
        EtcdVersion::new(3, 5, 24),
        EtcdVersion::new(3, 5, 24),
    ),
    row(
        32,
        0,
        EtcdVersion::new(3, 5, 16),
        EtcdVersion::new(3, 5, 24),
    ),
    row(
        32,
        10,
        EtcdVersion::new(3, 5, 24),
        EtcdVersion::new(3, 5, 24),
    ),
    row(
        33,
        0,
        EtcdVersion::new(3, 5, 21),
        EtcdVersion::new(3, 5, 24),
    ),
    row(
        33,
        6,
        EtcdVersion::new(3, 5, 24),
        EtcdVersion::new(3, 5, 24),
    ),
    row(34, 0, EtcdVersion::new(3, 6, 4), EtcdVersion::new(3, 6, 4)),
    row(35, 0, EtcdVersion::new(3, 5, 24), EtcdVersion::new(3, 6, 6)),
    row(36, 0, EtcdVersion::new(3, 5, 24), EtcdVersion::new(3, 6, 8)),
];

impl KubeVersion {
    fn etcd_row(&self) -> &'static EtcdRow {
        let key = (self.minor.clamp(28, 36), self.patch);
        let key = if self.minor > 36 { (36, 0) } else { key };
        ETCD.iter()
            .rev()
            .find(|r| (r.minor, r.from_patch) <= key)
            .unwrap_or(&ETCD[0])
    }

    /// The oldest external etcd kubeadm of this release accepts
    /// (`MinExternalEtcdVersion`).
    pub fn min_external_etcd(&self) -> EtcdVersion {
        self.etcd_row().min_external
    }

    /// The etcd kubeadm of this release runs itself: the default external etcd version.
    pub fn default_etcd(&self) -> EtcdVersion {
        self.etcd_row().ships
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_chooses_api() {
        let cases = [
            ("v1.31.2", 31, KubeadmApi::V1Beta4),
            ("1.30.9", 30, KubeadmApi::V1Beta3),
            ("v1.28", 28, KubeadmApi::V1Beta3),
            ("v1.36.0-rc.1", 36, KubeadmApi::V1Beta4),
        ];
        for (text, minor, api) in cases {
            let v = KubeVersion::parse(text).unwrap();
            assert_eq!((v.minor, v.kubeadm_api()), (minor, api), "{text}");
        }
        for bad in ["", "v1", "latest", "v1.x.2", "1.31.2.4", "v1.-3"] {
            assert!(KubeVersion::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            KubeVersion::parse("v1.32.0-rc.1").unwrap().to_string(),
            "v1.32.0-rc.1"
        );
    }

    #[test]
    fn etcd_table() {
        let k = |t: &str| KubeVersion::parse(t).unwrap();
        assert_eq!(k("v1.33.5").min_external_etcd().to_string(), "3.5.21");
        assert_eq!(k("v1.33.6").min_external_etcd().to_string(), "3.5.24");
        assert_eq!(k("v1.34.1").min_external_etcd().to_string(), "3.6.4");
        assert_eq!(k("v1.29.10").min_external_etcd().to_string(), "3.5.0");
        assert_eq!(k("v1.40.0").default_etcd().to_string(), "3.6.8");
        for r in ETCD {
            assert!(r.ships >= r.min_external, "1.{}.{}", r.minor, r.from_patch);
        }
        assert_eq!(EtcdVersion::parse("v3.5.24").unwrap().to_string(), "3.5.24");
        for bad in ["3.5", "3.5.x", "latest", "3.5.24-0", ""] {
            assert!(EtcdVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
