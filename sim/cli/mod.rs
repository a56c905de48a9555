//! The binary's own modules: the clap definitions and their conversion to
//! the library's option structs ([`args`]), and what the commands print
//! ([`print`]).

pub mod args;
pub mod print;
