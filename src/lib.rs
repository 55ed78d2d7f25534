//! gazette turns news feeds into a newsletter: ingest → extract → select → render → deliver,
//! with the store underneath. See ARCHITECTURE.md for the map.

pub mod audience;
pub mod bounces;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deliver;
pub mod extract;
pub mod html;
pub mod ingest;
pub mod model;
pub mod par;
pub mod pipeline;
pub mod render;
pub mod review;
pub mod schedule;
pub mod select;
pub mod status;
pub mod store;
pub mod tokens;
pub mod view;
pub mod web;
