//! The smallest Fly machine size that covers a workload's CPU and memory needs.
//!
//! | kind | cpus | memory (MB) | step |
//! |---|---|---|---|
//! | shared | 1, 2, 4, 6, 8 | 256·N ..= 2048·N | 256 |
//! | performance | 1, 2, 4, 6, 8, 10, 12, 14, 16 | 2048·N ..= 8192·N | 1024 |
//!
//! Fly's "MB" are MiB (`1Gi` = 1024 MB; `128M` = 128·10⁶ bytes ≈ 122 MB, rounded up).

use std::fmt;

/// Shared or performance CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuKind {
    /// Shared CPUs (the default).
    Shared,
    /// Dedicated performance CPUs.
    Performance,
}

impl CpuKind {
    fn cpus(self) -> &'static [u32] {
        match self {
            CpuKind::Shared => &[1, 2, 4, 6, 8],
            CpuKind::Performance => &[1, 2, 4, 6, 8, 10, 12, 14, 16],
        }
    }

    /// (min MB per cpu, max MB per cpu, step MB).
    fn memory_rule(self) -> (u64, u64, u64) {
        match self {
            CpuKind::Shared => (256, 2048, 256),
            CpuKind::Performance => (2048, 8192, 1024),
        }
    }

    fn name(self) -> &'static str {
        match self {
            CpuKind::Shared => "shared",
            CpuKind::Performance => "performance",
        }
    }
}

/// A valid Fly machine size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineSize {
    /// CPU kind.
    pub kind: CpuKind,
    /// Number of CPUs.
    pub cpus: u32,
    /// Memory in MB (MiB).
    pub memory_mb: u64,
}

impl MachineSize {
    /// The preset name, e.g. `shared-cpu-2x`.
    pub fn preset(&self) -> String {
        match self.kind {
            CpuKind::Shared => format!("shared-cpu-{}x", self.cpus),
            CpuKind::Performance => format!("performance-{}x", self.cpus),
        }
    }
}

impl fmt::Display for MachineSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} with {} MB", self.preset(), self.memory_mb)
    }
}

/// Why no size fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// More CPUs than the kind offers.
    #[error("{wanted} CPUs exceed the largest {kind} machine ({max} CPUs){hint}")]
    TooManyCpus {
        /// CPUs needed.
        wanted: u64,
        /// Kind name.
        kind: &'static str,
        /// Largest count.
        max: u32,
        /// What to do.
        hint: &'static str,
    },
    /// More memory than the kind offers.
    #[error("{wanted} MB of memory exceed the largest {kind} machine ({max} MB){hint}")]
    TooMuchMemory {
        /// MB needed.
        wanted: u64,
        /// Kind name.
        kind: &'static str,
        /// Largest memory.
        max: u64,
        /// What to do.
        hint: &'static str,
    },
}

/// A chosen size and the adjustments made to reach it (each worth a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing {
    /// The size.
    pub size: MachineSize,
    /// Human-readable adjustments, e.g. "memory 122 MB rounded up to 256 MB".
    pub adjustments: Vec<String>,
}

const MIB: u128 = 1 << 20;

/// Picks the smallest size of `kind` covering `cpu_millis` and `memory_bytes` (either may be
/// absent; absent means "no requirement").
pub fn fit(cpu_millis: Option<u64>, memory_bytes: Option<u128>, kind: CpuKind) -> Result<Sizing, SizeError> {
    let mut adjustments = Vec::new();
    let hint = match kind {
        CpuKind::Shared => "; set the annotation `score-fly/cpu-kind: performance` for larger machines",
        CpuKind::Performance => "",
    };
    let (min_per_cpu, max_per_cpu, step) = kind.memory_rule();
    let allowed = kind.cpus();
    let max_cpus = *allowed.last().expect("non-empty");

    let wanted_cpus = cpu_millis.map_or(1, |m| m.div_ceil(1000).max(1));
    if let Some(millis) = cpu_millis
        && (millis % 1000 != 0 || millis == 0)
    {
        adjustments.push(format!("cpu {} rounded up to {wanted_cpus} (Fly allocates whole CPUs)", fmt_cpu(millis)));
    }
    let mut cpus = allowed.iter().copied().find(|&n| u64::from(n) >= wanted_cpus).ok_or(SizeError::TooManyCpus {
        wanted: wanted_cpus,
        kind: kind.name(),
        max: max_cpus,
        hint,
    })?;
    if u64::from(cpus) != wanted_cpus {
        adjustments
            .push(format!("{wanted_cpus} CPUs raised to {cpus}, the next count a {} machine offers", kind.name()));
    }

    let wanted_mb = memory_bytes.map(|b| u64::try_from(b.div_ceil(MIB)).unwrap_or(u64::MAX));
    let mut memory_mb = match wanted_mb {
        Some(mb) => {
            let stepped = mb.div_ceil(step).max(1).saturating_mul(step);
            if stepped != mb {
                adjustments.push(format!("memory {mb} MB rounded up to {stepped} MB ({step} MB steps)"));
            }
            stepped
        }
        None => min_per_cpu * u64::from(cpus),
    };
    if memory_mb > max_per_cpu * u64::from(cpus) {
        let needed = allowed.iter().copied().find(|&n| max_per_cpu * u64::from(n) >= memory_mb).ok_or(
            SizeError::TooMuchMemory {
                wanted: memory_mb,
                kind: kind.name(),
                max: max_per_cpu * u64::from(max_cpus),
                hint,
            },
        )?;
        adjustments.push(format!(
            "CPUs raised from {cpus} to {needed}: {memory_mb} MB needs at least {needed} {} CPUs (≤ {max_per_cpu} MB each)",
            kind.name()
        ));
        cpus = needed;
    }
    let floor = min_per_cpu * u64::from(cpus);
    if memory_mb < floor {
        if wanted_mb.is_some() {
            adjustments.push(format!(
                "memory {memory_mb} MB raised to {floor} MB, the minimum for {cpus} {} CPUs",
                kind.name()
            ));
        }
        memory_mb = floor;
    }
    Ok(Sizing { size: MachineSize { kind, cpus, memory_mb }, adjustments })
}

fn fmt_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) { format!("{}", millis / 1000) } else { format!("{millis}m") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(cpu: Option<u64>, mem_mb: Option<u128>, kind: CpuKind) -> (String, u64, usize) {
        let s = fit(cpu, mem_mb.map(|m| m * MIB), kind).unwrap();
        (s.size.preset(), s.size.memory_mb, s.adjustments.len())
    }

    #[test]
    fn score_flyio_example_is_two_cpus_768mb() {
        // requests 1 / 256M, limits 1500m / 600M → max 1500m, 600M = 572.2 MiB.
        let s = fit(Some(1500), Some(600_000_000), CpuKind::Shared).unwrap();
        assert_eq!((s.size.preset(), s.size.memory_mb), ("shared-cpu-2x".to_owned(), 768));
    }

    #[test]
    fn blog_example_is_1x_256mb() {
        let s = fit(Some(1000), Some(128_000_000), CpuKind::Shared).unwrap();
        assert_eq!((s.size.preset(), s.size.memory_mb), ("shared-cpu-1x".to_owned(), 256));
        assert_eq!(s.adjustments, vec!["memory 123 MB rounded up to 256 MB (256 MB steps)".to_owned()]);
    }

    #[test]
    fn exact_fits_have_no_adjustments() {
        assert_eq!(size(Some(2000), Some(1024), CpuKind::Shared), ("shared-cpu-2x".into(), 1024, 0));
        assert_eq!(size(Some(1000), None, CpuKind::Shared), ("shared-cpu-1x".into(), 256, 0));
        assert_eq!(size(Some(2000), Some(4096), CpuKind::Performance), ("performance-2x".into(), 4096, 0));
    }

    #[test]
    fn cpus_round_to_allowed_counts() {
        assert_eq!(size(Some(3000), None, CpuKind::Shared), ("shared-cpu-4x".into(), 1024, 1));
        assert_eq!(size(Some(250), None, CpuKind::Shared), ("shared-cpu-1x".into(), 256, 1));
        assert_eq!(size(Some(9000), None, CpuKind::Performance), ("performance-10x".into(), 20480, 1));
    }

    #[test]
    fn memory_raises_cpus() {
        // 1 shared CPU with 4 GB does not exist: 2 CPUs allow up to 4096 MB.
        assert_eq!(size(Some(1000), Some(4096), CpuKind::Shared), ("shared-cpu-2x".into(), 4096, 1));
        // score-full.yaml: 1 CPU, 10Gi → 6 shared CPUs.
        assert_eq!(size(Some(1000), Some(10240), CpuKind::Shared), ("shared-cpu-6x".into(), 10240, 1));
    }

    #[test]
    fn memory_is_raised_to_the_floor() {
        assert_eq!(size(Some(4000), Some(512), CpuKind::Shared), ("shared-cpu-4x".into(), 1024, 1));
        assert_eq!(size(Some(1000), Some(512), CpuKind::Performance), ("performance-1x".into(), 2048, 2));
    }

    #[test]
    fn impossible_requests_fail_clearly() {
        let e = fit(Some(9000), None, CpuKind::Shared).unwrap_err().to_string();
        assert!(
            e.contains("9 CPUs exceed the largest shared machine (8 CPUs)") && e.contains("cpu-kind: performance"),
            "{e}"
        );
        let e = fit(None, Some(20_000 * MIB), CpuKind::Shared).unwrap_err().to_string();
        assert!(e.contains("20224 MB of memory exceed the largest shared machine (16384 MB)"), "{e}");
        assert!(fit(Some(17000), None, CpuKind::Performance).is_err());
    }

    #[test]
    fn every_result_is_a_valid_size() {
        for kind in [CpuKind::Shared, CpuKind::Performance] {
            for cpu in [None, Some(1), Some(999), Some(1000), Some(2500), Some(7000)] {
                for mem in [None, Some(1u128), Some(300), Some(2049), Some(5000), Some(9000)] {
                    let Ok(s) = fit(cpu, mem.map(|m| m * MIB), kind) else { continue };
                    let (min, max, step) = kind.memory_rule();
                    let n = u64::from(s.size.cpus);
                    assert!(kind.cpus().contains(&s.size.cpus));
                    assert!(s.size.memory_mb >= min * n && s.size.memory_mb <= max * n, "{s:?}");
                    assert_eq!(s.size.memory_mb % step, 0);
                    if let Some(c) = cpu {
                        assert!(n * 1000 >= c);
                    }
                    if let Some(m) = mem {
                        assert!(u128::from(s.size.memory_mb) >= m);
                    }
                }
            }
        }
    }
}
