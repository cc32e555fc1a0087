//! CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ProcSample {
    /// User + system CPU time of all its threads so far, seconds.
    pub cpu_seconds: f64,
    /// Resident set size now, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size so far, KiB (`VmHWM`).
    pub peak_rss_kib: u64,
}

/// Reads process `pid`.
pub fn sample(pid: u32) -> std::io::Result<ProcSample> {
    read(&format!("/proc/{pid}"))
}

/// Reads this process.
pub fn sample_self() -> std::io::Result<ProcSample> {
    read("/proc/self")
}

fn read(dir: &str) -> std::io::Result<ProcSample> {
    let stat = std::fs::read_to_string(format!("{dir}/stat"))?;
    if matches!(parse_state(&stat), Some('Z' | 'X') | None) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the process has exited",
        ));
    }
    let status = std::fs::read_to_string(format!("{dir}/status"))?;
    let ticks = parse_cpu_ticks(&stat).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "unreadable stat line")
    })?;
    Ok(ProcSample {
        cpu_seconds: ticks as f64 / clock_ticks_per_second(),
        rss_kib: status_kib(&status, "VmRSS:").unwrap_or(0),
        peak_rss_kib: status_kib(&status, "VmHWM:").unwrap_or(0),
    })
}

/// `utime + stime` from a stat line (fields 14 and 15; the command name may hold spaces and
/// parentheses, so fields are counted after the last `)`).
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th field here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The state letter of a stat line (`R`, `S`, `Z`...).
fn parse_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// `getconf CLK_TCK`, read once (100 on every common Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_names() {
        let stat =
            "4242 (envoy (main) x) S 1 4242 4242 0 -1 4194304 1234 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(parse_state(stat), Some('S'));
        assert_eq!(parse_state("7 (x) Z 1"), Some('Z'));
        assert_eq!(parse_state("garbage"), None);
    }

    #[test]
    fn parses_status_sizes() {
        let status = "Name:\tenvoy\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(51200));
        assert_eq!(status_kib(status, "VmRSS:"), Some(40960));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn reads_this_process() {
        let sample = sample_self().expect("readable");
        assert!(sample.peak_rss_kib >= sample.rss_kib);
        assert!(sample.rss_kib > 0);
        assert!(sample.cpu_seconds >= 0.0);
    }
}
