//! The Fly clients: flyctl as a subprocess ([`cli`]) and the Machines API ([`api`]). They
//! talk to Fly; the conversion ([`crate::fly`]) never does, and nothing here imports it.
//! The builtin provisioners and the CLI's `deploy` use them.

pub mod api;
pub mod cli;
