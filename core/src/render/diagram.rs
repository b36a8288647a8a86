//! `diagram.svg` at the top of the bundle: the topology drawn by [`crate::diagram::svg`]
//! (the wizard's picture, nothing lost), which the runbook shows. Drawn in Rust: its
//! template only passes the drawing through.

use super::{FileSpec, Input, On, Template, always, to_value};
use crate::bundle::MODE_FILE;
use minijinja::value::Value;
use serde::Serialize;

pub(super) const FILES: &[FileSpec] = &[FileSpec {
    template: Template {
        name: "diagram.svg",
        source: "{{ svg }}",
    },
    path: "diagram.svg",
    mode: MODE_FILE,
    applies: always,
    on: On::Bundle { context },
}];

#[derive(Serialize)]
struct Ctx {
    svg: String,
}

fn context(input: &Input<'_>) -> Option<Value> {
    Some(to_value(Ctx {
        svg: crate::diagram::svg(input.plan, input.what_if, None),
    }))
}
