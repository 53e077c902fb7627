//! rdptriage: reads packet captures and says why RDP connections failed.
//!
//! The pipeline, one way: [`capture`] (files -> frames) -> [`packet`]
//! (link/IP/TCP slicing) -> [`flow`] (connections, reassembly) -> [`proto`]
//! (X.224, MCS/GCC, TLS, certificates, CredSSP shape) -> [`timeline`]
//! (ordered events per connection) -> [`diagnose`] (ladder, cause,
//! evidence) -> [`report`] (table, JSON, Markdown). [`analyze`] drives the
//! stages for one file; see ARCHITECTURE.md.

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod common;
pub mod diagnose;
pub mod flow;
pub mod packet;
pub mod proto;
pub mod report;
pub mod timeline;
