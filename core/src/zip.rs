//! A minimal zip writer (stored entries, no compression) for downloading a bundle from
//! the browser. Bundles are a few hundred KB of text, so compression would save little
//! and cost a deflate implementation in the page; unix modes are kept in each entry's
//! external attributes, which `unzip` restores — for directories too, so the `pki`
//! directories come out 0700 as `hagen render` writes them.

use crate::bundle::Bundle;

const CRC_POLY: u32 = 0xEDB8_8320;

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC_POLY
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One entry to put in an archive.
pub struct Entry<'a> {
    /// Path inside the archive, `/`-separated; a directory's ends with `/` (and has no
    /// bytes).
    pub path: &'a str,
    /// Content.
    pub bytes: &'a [u8],
    /// Unix mode bits (0o644, 0o600, 0o755).
    pub mode: u32,
}

/// Builds a zip archive of the entries, in order. Dates are fixed (1980-01-01), so the
/// same entries always give the same bytes.
pub fn write(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let crc = crc32(e.bytes);
        let size = e.bytes.len() as u32;
        let name = e.path.as_bytes();
        let is_dir = e.path.ends_with('/');
        // Unix type and mode in the high half; MS-DOS's directory bit in the low one.
        let attributes = ((if is_dir { 0o040_000 } else { 0o100_000 } | e.mode) << 16)
            | if is_dir { 0x10 } else { 0 };
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // flags: UTF-8 names
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x0021u16.to_le_bytes()); // date 1980-01-01
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(e.bytes);
        // Central directory record.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031Eu16.to_le_bytes()); // made by: unix, spec 3.0
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x0021u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&attributes.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let central_offset = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A bundle as a zip, every path under `prefix/`, plus extra top-level entries. Every
/// directory gets an entry of its own, before the files, with the mode `hagen render`
/// gives it ([`Bundle::dir_mode`]).
pub fn bundle_zip(bundle: &Bundle, prefix: &str, extra: &[Entry<'_>]) -> Vec<u8> {
    let mut dirs: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (p, _) in bundle.iter() {
        let mut end = p.len();
        while let Some(slash) = p[..end].rfind('/') {
            if !dirs.insert(&p[..slash]) {
                break;
            }
            end = slash;
        }
    }
    let dir_entries: Vec<(String, u32)> =
        std::iter::once((format!("{prefix}/"), crate::bundle::MODE_DIR))
            .chain(
                dirs.iter()
                    .map(|d| (format!("{prefix}/{d}/"), bundle.dir_mode(d))),
            )
            .collect();
    let paths: Vec<String> = bundle
        .iter()
        .map(|(p, _)| format!("{prefix}/{p}"))
        .collect();
    let mut entries: Vec<Entry<'_>> = dir_entries
        .iter()
        .map(|(path, mode)| Entry {
            path,
            bytes: &[],
            mode: *mode,
        })
        .collect();
    entries.extend(bundle.iter().zip(&paths).map(|((_, f), path)| Entry {
        path,
        bytes: &f.bytes,
        mode: f.mode,
    }));
    entries.extend(extra.iter().map(|e| Entry {
        path: e.path,
        bytes: e.bytes,
        mode: e.mode,
    }));
    write(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn layout_is_deterministic_and_ends_with_the_directory() {
        let a = write(&[Entry {
            path: "a/b.txt",
            bytes: b"hi",
            mode: 0o600,
        }]);
        assert_eq!(
            a,
            write(&[Entry {
                path: "a/b.txt",
                bytes: b"hi",
                mode: 0o600
            }])
        );
        assert_eq!(&a[..4], &[0x50, 0x4b, 0x03, 0x04]);
        let end = a.len() - 22;
        assert_eq!(&a[end..end + 4], &[0x50, 0x4b, 0x05, 0x06]);
    }
}
