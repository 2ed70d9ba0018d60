//! Wire types, canonical request hash and field validation shared by the
//! browser app, the edge worker and the builder. Compiles natively and to
//! wasm32: no I/O, no threads, no clocks in here.

pub mod answer;
pub mod builder_api;
pub mod canonical;
pub mod fwtool;
pub mod opkg;
pub mod package_changes;
pub mod package_details;
pub mod package_index;
pub mod request;
pub mod select;
pub mod upgrade_check;
pub mod upstream;
pub mod validate;
