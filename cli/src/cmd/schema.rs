//! `hagen schema`.

pub fn run() -> u8 {
    print!("{}", hagen_core::schema::json_schema());
    crate::exit::OK
}
