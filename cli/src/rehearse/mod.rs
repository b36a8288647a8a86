//! `hagen rehearse`: drill a rendered bundle with the real daemons before it touches a
//! machine. One network namespace per node on a private bridge with the topology's own
//! addresses, the bundle's files laid unchanged over `/etc`, real haproxy, keepalived,
//! nginx and etcd, and a stand-in for kube-apiserver; then every scenario of the what-if
//! table (plus the API server or the proxy dying alone on the VIP holder, and a partition
//! of each zone), compared with what the table predicted.

mod drill;
mod lab;
mod pids;
mod report;

use crate::exit;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Output format of `hagen rehearse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RehearseFormat {
    /// A table of predicted vs observed.
    Human,
    /// `{"scenarios": [{"name", "predicted", "observed", "agree", "recoverySeconds"}, …]}`.
    Json,
    /// JUnit XML, one test case per scenario.
    Junit,
}

const HELP: &str = "\
Linux only, as root: builds one network namespace per node (a private bridge, the
topology's addresses, nothing routed elsewhere), lays each node's etc/ over /etc in a
private mount namespace and runs the real haproxy, keepalived, nginx and etcd with the
bundle's files unchanged, and a stand-in for kube-apiserver (TLS with the node's
apiserver.crt, /readyz 200 only while etcd answers). Then drills every scenario of the
what-if table, the API server (and haproxy) dying alone on the VIP holder and a
partition of each zone, and compares the VIP holder, /readyz through the endpoint from
every surviving node, an etcd write and the recovery time with the prediction.

Scenario names: baseline, node/NAME, zone/NAME, vip-holder/NAME,
apiserver-on-vip-holder/NAME, proxy-on-vip-holder/NAME, partition/ZONE; a kind alone
(`node`) selects all of that kind. Everything made is removed at the end, also on
failure or Ctrl-C (HAGEN_KEEP_SCRATCH=1 keeps the logs).

Exit codes: 0 every scenario agrees with the prediction, 1 one does not (named),
2 could not run (not root, no namespaces, a daemon missing, kube-vip or an external
load balancer, --timeout).";

#[derive(Debug, Args)]
#[command(after_help = HELP)]
pub struct RehearseArgs {
    /// The bundle directory `hagen render` wrote (with its topology.yaml).
    pub bundle: PathBuf,
    /// Only these scenarios (repeatable); default: all.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RehearseFormat::Human)]
    pub format: RehearseFormat,
    /// Limit for the whole run, in seconds.
    #[arg(long, value_name = "S", default_value_t = 300)]
    pub timeout: u64,
}

pub fn run(args: &RehearseArgs) -> u8 {
    if let Err(e) = lab::require_root() {
        eprintln!("hagen rehearse: could not run: {e}");
        return exit::FAILURE;
    }
    lab::install_signal_handlers();
    match drill::rehearse(args) {
        Ok(results) => {
            print!("{}", report::render(&results, args.format));
            if results.scenarios.iter().all(|s| s.agree) {
                exit::OK
            } else {
                for s in results.scenarios.iter().filter(|s| !s.agree) {
                    eprintln!("hagen rehearse: scenario {} disagrees: {}", s.name, s.why);
                }
                exit::FINDINGS
            }
        }
        Err(e) => {
            eprintln!("hagen rehearse: could not run: {e}");
            exit::FAILURE
        }
    }
}
