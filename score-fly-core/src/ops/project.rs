//! A project run: open and lock the project, join this run's workloads to those of earlier
//! runs, preflight, provision, convert, write the outputs, record the workloads.

/// One step of a project run.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProjectEvent<'a> {
    /// Waiting for the project lock held by `holder`.
    Blocking {
        /// Who holds it.
        holder: &'a str,
    },
}
