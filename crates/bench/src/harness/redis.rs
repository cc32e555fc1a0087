//! A `redis-server` for the replica scenarios: on a free loopback port, in the run's
//! directory, with the append-only file as production would run it (`appendfsync everysec`).

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use super::process::{Child, eventually};
use super::procfs::ProcSample;

/// How long Redis may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server` (`REDIS_SERVER`, else `redis-server` on PATH).
#[derive(Debug)]
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts it with its data in `dir/<name>`.
    pub async fn start(dir: &Path, name: &str) -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let data = dir.join(name);
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut command = Command::new(binary);
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ])
            .arg("--dir")
            .arg(&data);
        let child = Child::spawn(name, command, &dir.join(format!("{name}.log")))
            .context("starting redis-server (make redis installs it)")?;
        let mut redis = Self { child, port };
        eventually("redis-server to listen", START_TIMEOUT, || {
            let running = redis.child.ensure_running();
            async move {
                running?;
                std::net::TcpStream::connect(("127.0.0.1", port))?;
                Ok(())
            }
        })
        .await?;
        redis.child.ensure_running()?;
        Ok(redis)
    }

    /// Its URL for `--session-store`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its CPU time and memory now.
    pub fn sample(&self) -> Result<ProcSample> {
        self.child.sample()
    }

    /// What it has done since it started (`INFO`, over `redis-cli`).
    pub async fn counts(&self) -> Result<Counts> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "INFO", "all"])
            .output()
            .await
            .context("running redis-cli")?;
        if !out.status.success() {
            bail!("redis-cli INFO: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Counts::parse(&text).context("no total_commands_processed in INFO")
    }

    /// Kills it.
    pub async fn stop(self) {
        self.child.stop().await;
    }
}

/// Counters of an `INFO` reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every command, those scripts run included (`total_commands_processed`).
    pub commands: u64,
    /// Scripts run (`EVALSHA` and `EVAL` calls): one round trip each.
    pub scripts: u64,
}

impl Counts {
    fn parse(info: &str) -> Option<Self> {
        let mut counts = Self::default();
        let mut found = false;
        for line in info.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("total_commands_processed:") {
                counts.commands = n.trim().parse().ok()?;
                found = true;
            } else if let Some(stats) = line
                .strip_prefix("cmdstat_evalsha:")
                .or_else(|| line.strip_prefix("cmdstat_eval:"))
            {
                let calls = stats
                    .split(',')
                    .find_map(|field| field.strip_prefix("calls="))?;
                counts.scripts += calls.parse::<u64>().ok()?;
            }
        }
        found.then_some(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counts() {
        let info = "# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:1234\r\n\
                    # Commandstats\r\ncmdstat_evalsha:calls=200,usec=900,usec_per_call=4.50\r\n\
                    cmdstat_eval:calls=3,usec=30\r\ncmdstat_ping:calls=7,usec=1\r\n";
        assert_eq!(
            Counts::parse(info),
            Some(Counts {
                commands: 1234,
                scripts: 203
            })
        );
        assert_eq!(Counts::parse("# Stats\r\n"), None);
    }
}
