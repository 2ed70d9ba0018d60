//! Integration tests of the stand-ins (one binary, so the mirror is
//! generated once).

mod common;
mod imagebuilder;
mod mirror;
mod router;
