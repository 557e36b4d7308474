//! Deploying: a [`DeployPlan`] computed first (changing nothing), then applied.

/// One step of a deploy.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeployEvent<'a> {
    /// The app exists.
    AppExists {
        /// The app.
        app: &'a str,
    },
}
