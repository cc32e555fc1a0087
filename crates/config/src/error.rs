//! Errors from reading, parsing and validating the gateway configuration.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a configuration could not be loaded.
///
/// `path` is set when the text came from a file (see [`crate::Config::load_file`]).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not YAML of the expected shape.
    #[error("{}invalid YAML: {source}", location(path.as_deref()))]
    Yaml {
        path: Option<PathBuf>,
        source: serde_yaml::Error,
    },
    /// The text has no `servers:` list: an empty file, a comment, `null`, or a file
    /// caught while being written. Only an explicit `servers: []` means no servers.
    #[error(
        "{}no `servers:` list (an empty or partly written file is not a configuration; \
         write `servers: []` for a gateway with no servers)",
        location(path.as_deref())
    )]
    NoServers { path: Option<PathBuf> },
    /// The YAML parsed but broke one or more rules; every broken rule is listed.
    #[error("{}", invalid_message(path.as_deref(), errors))]
    Invalid {
        path: Option<PathBuf>,
        errors: Vec<FieldError>,
    },
}

impl ConfigError {
    /// The rule violations, empty unless this is [`ConfigError::Invalid`].
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Invalid { errors, .. } => errors,
            Self::Read { .. } | Self::Yaml { .. } | Self::NoServers { .. } => &[],
        }
    }

    /// Attaches the file the text was read from.
    pub(crate) fn in_file(self, file: &Path) -> Self {
        match self {
            Self::Yaml { source, .. } => Self::Yaml {
                path: Some(file.to_path_buf()),
                source,
            },
            Self::Invalid { errors, .. } => Self::Invalid {
                path: Some(file.to_path_buf()),
                errors,
            },
            Self::NoServers { .. } => Self::NoServers {
                path: Some(file.to_path_buf()),
            },
            read @ Self::Read { .. } => read,
        }
    }
}

fn location(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

fn invalid_message(path: Option<&Path>, errors: &[FieldError]) -> String {
    let noun = if errors.len() == 1 { "error" } else { "errors" };
    let mut out = format!(
        "{}invalid configuration ({} {noun}):",
        location(path),
        errors.len()
    );
    for error in errors {
        out.push_str("\n  ");
        out.push_str(&error.to_string());
    }
    out
}

/// One broken rule, located by server index, server name and field.
///
/// Displays as `servers[1] (weather): toolPrefix "we ather": must contain only A-Z a-z 0-9 _ . -`,
/// or, for a conflict between two servers, `servers[2] (b): toolPrefix "we" conflicts
/// with servers[0] (a) toolPrefix "weather_": one is a prefix of the other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    index: usize,
    server: Option<String>,
    field: &'static str,
    value: Option<String>,
    message: String,
    /// The message continues the sentence ("... conflicts with ...") instead of
    /// following a colon.
    continues: bool,
    /// For a field outside `servers:`, its whole path (`auth.issuers[0].jwksUri`).
    section: Option<String>,
}

impl FieldError {
    pub(crate) fn new(
        index: usize,
        server: Option<String>,
        field: &'static str,
        value: Option<&str>,
        message: String,
    ) -> Self {
        Self {
            index,
            server,
            field,
            value: value.map(str::to_owned),
            message,
            continues: false,
            section: None,
        }
    }

    /// A broken rule in a top-level section other than `servers:`, located by its whole
    /// path (`auth.issuers[0].jwksUri`). Sorted after every server's errors.
    pub(crate) fn at(path: String, value: Option<&str>, message: String) -> Self {
        Self {
            index: usize::MAX,
            server: None,
            field: "",
            value: value.map(str::to_owned),
            message,
            continues: false,
            section: Some(path),
        }
    }

    /// Makes the message continue the sentence after the value rather than a colon.
    pub(crate) fn continuing(mut self) -> Self {
        self.continues = true;
        self
    }

    /// Position of the server in the `servers` list (`usize::MAX` outside `servers:`).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The server's name as written, when it has a non-empty one.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The YAML key as written (`toolPrefix` or its alias `prefix`, for example).
    pub fn field(&self) -> &str {
        self.field
    }

    /// The offending value, when there is one.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field path, e.g. `servers[1].toolPrefix` or `auth.issuers[0].jwksUri`.
    pub fn path(&self) -> String {
        match &self.section {
            Some(path) => path.clone(),
            None => format!("servers[{}].{}", self.index, self.field),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.section {
            Some(path) => f.write_str(path)?,
            None => write!(
                f,
                "{}: {}",
                ServerLabel::new(self.index, self.server.as_deref()),
                self.field
            )?,
        }
        if let Some(value) = &self.value {
            write!(f, " {value:?}")?;
        }
        let separator = if self.continues { " " } else { ": " };
        write!(f, "{separator}{}", self.message)
    }
}

/// `servers[2] (name)`: how a server is named in messages. Control characters in the
/// name are escaped so one error stays on one line.
pub(crate) struct ServerLabel<'a> {
    index: usize,
    name: Option<&'a str>,
}

impl<'a> ServerLabel<'a> {
    pub(crate) fn new(index: usize, name: Option<&'a str>) -> Self {
        Self { index, name }
    }
}

impl fmt::Display for ServerLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "servers[{}]", self.index)?;
        match self.name {
            Some(name) if !name.is_empty() => write!(f, " ({})", name.escape_debug()),
            _ => Ok(()),
        }
    }
}
