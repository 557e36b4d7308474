//! Ctrl-C and `kill` for the commands that keep running (`dev`, `logs`): SIGINT and SIGTERM
//! set a flag (the signal's number) instead of ending the process at once, so the command
//! stops what it started (services, `fly logs`) before it exits with `128 + signal`, as a
//! shell reports a process a signal ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::failure::Failure;

/// The flag SIGINT and SIGTERM set to their number from now on (0: none came).
pub fn interrupt_flag() -> Result<Arc<AtomicUsize>, Failure> {
    let flag = Arc::new(AtomicUsize::new(0));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let id = usize::try_from(sig).unwrap_or_default();
        signal_hook::flag::register_usize(sig, Arc::clone(&flag), id)
            .map_err(|e| Failure::Error(format!("cannot catch signal {sig}: {e}")))?;
    }
    Ok(flag)
}

/// The signal `flag` holds, if one came.
pub fn received(flag: &AtomicUsize) -> Option<rustix::process::Signal> {
    let sig = i32::try_from(flag.load(Ordering::SeqCst)).ok().filter(|s| *s != 0)?;
    Some(rustix::process::Signal::from_named_raw(sig).unwrap_or(rustix::process::Signal::TERM))
}

/// The exit of a command a signal stopped: `128 + signal`.
pub fn stopped_by(signal: rustix::process::Signal) -> Failure {
    Failure::Exited(u8::try_from(128 + signal.as_raw()).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_read_once_set_and_ends_with_128_plus_its_number() {
        let flag = AtomicUsize::new(0);
        assert!(received(&flag).is_none());
        flag.store(2, Ordering::SeqCst);
        assert_eq!(received(&flag), Some(rustix::process::Signal::INT));
        assert!(matches!(stopped_by(rustix::process::Signal::INT), Failure::Exited(130)));
        assert!(matches!(stopped_by(rustix::process::Signal::TERM), Failure::Exited(143)));
    }
}
