//! The machine a run happened on: CPUs, model, kernel, memory and load.

use serde::{Deserialize, Serialize};

/// Where a run happened.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// `nproc`.
    pub cpus: usize,
    /// `Model name` from `lscpu` (or `/proc/cpuinfo`).
    pub cpu_model: String,
    /// `uname -sr`.
    pub kernel: String,
    /// `MemTotal`, GB.
    pub memory_gb: f64,
    /// 1-minute load average when the run started.
    pub load_before: f64,
    /// ...and when it ended.
    pub load_after: f64,
}

impl Machine {
    /// Reads the machine now (the load after is filled in at the end).
    pub fn describe() -> Self {
        let cpus = std::thread::available_parallelism().map_or(0, usize::from);
        let cpu_model = command("lscpu", &[])
            .and_then(|text| field(&text, "Model name:"))
            .or_else(|| {
                std::fs::read_to_string("/proc/cpuinfo")
                    .ok()
                    .and_then(|text| field(&text, "model name"))
                    .map(|m| m.trim_start_matches(':').trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let kernel = command("uname", &["-sr"])
            .unwrap_or_default()
            .trim()
            .to_owned();
        let memory_gb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| field(&text, "MemTotal:"))
            .and_then(|v| {
                v.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib * 1024.0 / 1e9);
        Self {
            cpus,
            cpu_model,
            kernel,
            memory_gb,
            load_before: load_average(),
            load_after: 0.0,
        }
    }

    /// One line for reports.
    pub fn line(&self) -> String {
        let after = if self.load_after > 0.0 {
            format!(", {:.2} after", self.load_after)
        } else {
            String::new()
        };
        format!(
            "{} CPUs ({}), {:.1} GB RAM, {}; 1-min load average {:.2} before{after}",
            self.cpus, self.cpu_model, self.memory_gb, self.kernel, self.load_before
        )
    }
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0.0)
}

fn command(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The rest of the first line starting with `key`, trimmed.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .map(|rest| rest.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields() {
        let lscpu = "Architecture: x86_64\nModel name:   AMD EPYC 7B13\nThread(s) per core: 2\n";
        assert_eq!(
            field(lscpu, "Model name:").as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(field(lscpu, "Flags:"), None);
    }

    #[test]
    fn describes_this_machine() {
        let machine = Machine::describe();
        assert!(machine.cpus >= 1);
        assert!(machine.memory_gb > 0.0);
        assert!(machine.line().contains("CPUs"));
    }
}
