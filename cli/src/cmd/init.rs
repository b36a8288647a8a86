//! `hagen init`.

use crate::args::InitArgs;
use crate::exit;
use std::io::Write;

pub fn run(args: &InitArgs) -> u8 {
    let text = hagen_core::starter::starter_topology(&args.schema_url);
    let Some(path) = &args.output else {
        print!("{text}");
        return exit::OK;
    };
    // create_new: an existing topology is never overwritten.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    match file.and_then(|mut f| f.write_all(text.as_bytes())) {
        Ok(()) => {
            eprintln!(
                "hagen: wrote {}; next: hagen validate {}",
                path.display(),
                path.display()
            );
            exit::OK
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "hagen: {} already exists; not overwriting it",
                path.display()
            );
            exit::FAILURE
        }
        Err(e) => {
            eprintln!("hagen: cannot write {}: {e}", path.display());
            exit::FAILURE
        }
    }
}
