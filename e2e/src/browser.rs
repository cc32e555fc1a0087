//! A real headless Chromium (Debian's `chromium`) on the gateway's web console, driven by
//! `e2e/node/console-browser.mjs` through the pinned `playwright-core`: the test reads what
//! the page shows, acts on the gateway, then sees the page update on its own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::node::{node, node_dir};

/// Longest one step of the script may take (its own waits are 20 s).
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium the script launches: `$CHROMIUM_BIN` or Debian's.
pub fn chromium_binary() -> Result<PathBuf> {
    let path = std::env::var_os("CHROMIUM_BIN")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !path.is_file() {
        bail!(
            "no Chromium at {}: install Debian's (`apt-get install -y chromium`; \
             `make test` and `make e2e` do) or set CHROMIUM_BIN",
            path.display()
        );
    }
    Ok(path)
}

/// `console-browser.mjs` with the console open; the browser is closed when the script
/// ends and the process killed on drop.
pub struct ConsoleBrowser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl ConsoleBrowser {
    /// Opens `url` and returns what the page shows once rendered (the `rendered` step).
    /// `tool` is the tool whose call [`ConsoleBrowser::called`] waits for in the feed.
    pub async fn open(url: &str, screenshot: &Path, tool: &str) -> Result<(Self, Value)> {
        Self::open_with(url, screenshot, tool, None).await
    }

    /// [`ConsoleBrowser::open`] on a gateway with auth on: the page must ask for a token,
    /// and `token` is typed into its sign-in form.
    pub async fn open_signed_in(
        url: &str,
        screenshot: &Path,
        tool: &str,
        token: &str,
    ) -> Result<(Self, Value)> {
        Self::open_with(url, screenshot, tool, Some(token)).await
    }

    async fn open_with(
        url: &str,
        screenshot: &Path,
        tool: &str,
        token: Option<&str>,
    ) -> Result<(Self, Value)> {
        let chromium = chromium_binary()?;
        let dir = node_dir()?;
        if !dir
            .join("node_modules/playwright-core/package.json")
            .is_file()
        {
            bail!(
                "playwright-core is not installed in {}: run `npm ci --prefix e2e/node` \
                 (`make test` and `make e2e` do)",
                dir.display()
            );
        }
        let mut command = node(&dir, "console-browser.mjs");
        command
            .arg(url)
            .arg(screenshot)
            .arg(tool)
            .env("CHROMIUM_BIN", chromium)
            .env_remove("CONSOLE_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if let Some(token) = token {
            command.env("CONSOLE_TOKEN", token);
        }
        let mut child = command
            .spawn()
            .context("running node console-browser.mjs (is Node.js installed?)")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut browser = Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        };
        let rendered = browser.step("rendered").await?;
        Ok((browser, rendered))
    }

    /// Tells the script the tool was called and returns what the page showed once its
    /// feed held the call (the `updated` step); the screenshot is taken then.
    pub async fn called(mut self) -> Result<Value> {
        self.stdin.write_all(b"called\n").await?;
        self.stdin.flush().await?;
        let updated = self.step("updated").await?;
        let status = tokio::time::timeout(STEP_TIMEOUT, self.child.wait())
            .await
            .context("console-browser.mjs did not exit")??;
        if !status.success() {
            bail!("console-browser.mjs exited with {status}");
        }
        Ok(updated)
    }

    async fn step(&mut self, name: &str) -> Result<Value> {
        let line = tokio::time::timeout(STEP_TIMEOUT, self.lines.next_line())
            .await
            .with_context(|| format!("console-browser.mjs: no `{name}` step in {STEP_TIMEOUT:?}"))?
            .context("reading console-browser.mjs")?;
        let Some(line) = line else {
            let status = self.child.wait().await?;
            bail!("console-browser.mjs ended before `{name}` ({status}); its stderr is above");
        };
        let step: Value = serde_json::from_str(&line)
            .with_context(|| format!("console-browser.mjs printed {line:?}"))?;
        if step["step"] != name {
            bail!("console-browser.mjs: expected `{name}`, got {step}");
        }
        Ok(step)
    }
}
