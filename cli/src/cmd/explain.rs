//! `hagen explain [RULE]`.

use crate::args::ExplainArgs;
use crate::exit;
use hagen_core::registry;

pub fn run(args: &ExplainArgs) -> u8 {
    let Some(query) = &args.rule else {
        for r in registry::all() {
            println!(
                "{}  {:<8} {:<38} {}",
                r.code,
                r.severity.as_str(),
                r.name,
                r.summary
            );
        }
        return exit::OK;
    };
    match registry::find(query) {
        Some(r) => {
            println!(
                "# {} {} ({} by default)\n\n{}\n",
                r.code,
                r.name,
                r.severity.as_str(),
                r.summary
            );
            print!("{}", r.explain);
            exit::OK
        }
        None => {
            let names: Vec<&str> = registry::all().flat_map(|r| [r.code, r.name]).collect();
            let hint = hagen_core::parse::did_you_mean(query, &names)
                .map(|n| format!(" Did you mean `{n}`?"))
                .unwrap_or_default();
            eprintln!("hagen: no rule `{query}`.{hint} `hagen explain` lists every rule.");
            exit::FAILURE
        }
    }
}
