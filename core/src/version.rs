//! Kubernetes versions and the kubeadm configuration API each one reads.

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
}
