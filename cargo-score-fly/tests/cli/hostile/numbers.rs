//! See the module list in [`super`].
