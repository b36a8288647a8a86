//! The cluster PKI, made offline: kubeadm's certificates, keys and kubeconfigs for every
//! node, and the join material (bootstrap token, CA hash, certificate key) the kubeadm
//! configurations carry. Randomness comes in through [`Entropy`], the one seam.
//!
//! * [`spec`]: the table: every certificate's CN, O, usages, SANs and holders, and the
//!   kubeconfigs.
//! * [`generate()`]: plan + [`Existing`] material + entropy + the time → [`Pki`]: every
//!   file for the bundle, the [`JoinMaterial`] and a report of what was made, kept or
//!   re-issued.
//! * [`keys`]: key generation and loading (PKCS#8, PKCS#1, SEC1), and why RSA is made
//!   the way it is.
//! * [`kubeconfig`]: kubeconfig files, written and read back.
//!
//! Inside: `walk` lists a run's steps from the table (once, for counting and making),
//! `generate` carries them out, `existing` sorts earlier material, `review` judges an
//! existing certificate, `issue` makes CAs and leaves, `entropy` is the randomness seam,
//! `join` the join material, `error` the error types.

mod entropy;
mod error;
mod existing;
mod generate;
mod issue;
mod join;
pub mod keys;
pub mod kubeconfig;
mod review;
pub mod spec;
mod walk;

pub use entropy::{Entropy, Options, SeededEntropy};
pub use error::{KeyError, KubeconfigError, PkiError};
pub use existing::Existing;
pub use generate::{Pki, PkiAction, PkiEvent, generate, generate_with, new_keys_needed};
pub use issue::{ca_cert_hash, validity};
pub use join::{JoinMaterial, bootstrap_token, certificate_key, join_file};
