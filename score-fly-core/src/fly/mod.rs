//! Fly.io: the typed fly.toml model and the Score → Fly conversion.
