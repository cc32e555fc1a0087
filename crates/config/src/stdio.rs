//! Servers that exist only as a command (`npx …`, `uvx …`, a binary): the gateway runs
//! them over the MCP stdio transport behind a streamable HTTP bridge on a loopback port,
//! and Envoy routes to that port like to any other backend.
//!
//! ```yaml
//! servers:
//!   - name: everything
//!     command: npx
//!     args: ["-y", "@modelcontextprotocol/server-everything", "stdio"]
//!     env: {LOG_LEVEL: debug}      # added to the gateway's environment
//!     workingDir: /srv/everything  # default: the gateway's
//!     port: 9101                   # the bridge's loopback port; required
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use url::Url;

use crate::raw::RawServer;

/// How to run a stdio server, and where its bridge listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioCommand {
    /// The program, found on `PATH` unless it is a path.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to (or replacing in) the gateway's environment.
    pub env: BTreeMap<String, String>,
    /// Where it runs; `None`: the gateway's working directory.
    pub working_dir: Option<PathBuf>,
    /// The loopback port of the streamable HTTP bridge (`127.0.0.1`).
    pub port: u16,
}

impl StdioCommand {
    /// The bridge's MCP endpoint: what Envoy and the broker reach this server at.
    pub fn bridge_url(&self) -> Option<Url> {
        Url::parse(&format!("http://127.0.0.1:{}/mcp", self.port)).ok()
    }
}

impl From<&StdioCommand> for RawServer {
    fn from(command: &StdioCommand) -> Self {
        Self {
            command: Some(command.program.clone()),
            args: Some(command.args.clone()),
            env: Some(command.env.clone()),
            working_dir: command
                .working_dir
                .as_ref()
                .map(|dir| dir.display().to_string()),
            port: Some(command.port),
            ..Self::default()
        }
    }
}

/// Checks the stdio fields of a server; `report(field, value, problem)` for each broken
/// rule. `Ok(None)`: not a stdio server.
pub(crate) fn check(
    raw: &RawServer,
    mut report: impl FnMut(&'static str, Option<&str>, String),
) -> Option<StdioCommand> {
    let Some(program) = raw.command.as_deref() else {
        for (field, set) in [
            ("args", raw.args.is_some()),
            ("env", raw.env.is_some()),
            ("workingDir", raw.working_dir.is_some()),
            ("port", raw.port.is_some()),
        ] {
            if set {
                report(
                    field,
                    None,
                    "is only for stdio servers (set command)".to_owned(),
                );
            }
        }
        return None;
    };
    let mut ok = true;
    if program.trim().is_empty() {
        report("command", Some(program), "must not be empty".to_owned());
        ok = false;
    }
    if let Some(url) = raw.url.as_deref() {
        report(
            "url",
            Some(url),
            "cannot be combined with command (the bridge's address is the URL)".to_owned(),
        );
        ok = false;
    }
    let port = match raw.port {
        None | Some(0) => {
            report(
                "port",
                None,
                "is required with command: the loopback port of its bridge (1-65535)".to_owned(),
            );
            ok = false;
            0
        }
        Some(port) => port,
    };
    let env = raw.env.clone().unwrap_or_default();
    for name in env.keys() {
        if name.is_empty() || name.contains(['=', '\0']) {
            report("env", Some(name), "is not a variable name".to_owned());
            ok = false;
        }
    }
    let args = raw.args.clone().unwrap_or_default();
    if args.iter().any(|arg| arg.contains('\0')) {
        report("args", None, "must not contain NUL".to_owned());
        ok = false;
    }
    let working_dir = raw.working_dir.as_deref().filter(|dir| !dir.is_empty());
    ok.then(|| StdioCommand {
        program: program.to_owned(),
        args,
        env,
        working_dir: working_dir.map(PathBuf::from),
        port,
    })
}
