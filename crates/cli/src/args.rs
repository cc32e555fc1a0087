use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration;

/// An Envoy-based gateway for Model Context Protocol servers: the ext_proc router and the
/// broker in one process. Without a subcommand it runs the gateway.
#[derive(Debug, Parser)]
#[command(name = "mcp-broker-router", version, about, long_about = None)]
pub struct Cli {
    /// A subcommand; none runs the gateway.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of the gateway itself.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
// Parsed once at start-up: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the Envoy bootstrap YAML that fronts this gateway.
    EnvoyConfig(EnvoyConfigArgs),
    /// Print a CustomResourceDefinition YAML: `mcpservers` (the default) or
    /// `mcpvirtualservers`.
    Crd {
        /// The CRD's plural name.
        kind: Option<String>,
    },
}

/// Flags of the gateway.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address of the ext_proc router (gRPC; also serves Envoy's clusters and routes over ADS).
    /// Loopback by default: whoever reaches it can read the config and drive routing; bind
    /// another address only where the network in front of it is trusted (see docs/security.md).
    #[arg(long, env = "MCP_ROUTER_ADDRESS", default_value = "127.0.0.1:50051")]
    pub mcp_router_address: SocketAddr,
    /// Address of the broker (HTTP: /mcp, /.well-known/oauth-protected-resource, /healthz, /readyz).
    /// Loopback by default: clients reach it through Envoy, never directly.
    #[arg(long, env = "MCP_BROKER_ADDRESS", default_value = "127.0.0.1:8080")]
    pub mcp_broker_address: SocketAddr,
    /// Admin address: Prometheus/OpenMetrics text on `GET /metrics`, apart from the MCP
    /// traffic. Loopback by default like the router and broker (see docs/security.md).
    #[arg(long, env = "MCP_METRICS_ADDRESS", default_value = "127.0.0.1:9464")]
    pub mcp_metrics_address: SocketAddr,
    /// Address of the internal API the Envoy module (`envoy-config --mode module`) asks for
    /// sessions, backend sessions, config and catalog (HTTP). Off unless set. Keep it on
    /// loopback: like the router's port, it authenticates no caller (see docs/security.md).
    #[arg(long, env = "MCP_MODULE_API_ADDRESS", value_parser = loopback_address)]
    pub module_api_address: Option<SocketAddr>,
    /// The gateway config file; edits take effect without a restart.
    #[arg(
        long,
        env = "MCP_GATEWAY_CONFIG",
        default_value = "./config/mcp-system/config.yaml"
    )]
    pub mcp_gateway_config: PathBuf,
    /// Run the Kubernetes controller instead of the gateway.
    #[arg(long)]
    pub controller: bool,
    /// Flags of `--controller`.
    #[command(flatten)]
    pub controller_args: ControllerArgs,
    /// Largest request body accepted, in bytes (keep equal to Envoy's limit).
    #[arg(long, env = "MCP_MAX_REQUEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Secret that signs session ids; replicas sharing sessions need the same one. Random when unset.
    #[arg(long, env = "MCP_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,
    /// How long a gateway session lives.
    #[arg(long, default_value = "24h", value_parser = duration::parse)]
    pub session_lifetime: Duration,
    /// A session not used for this long ends (404 afterwards) and its backend sessions are ended.
    #[arg(long, env = "MCP_SESSION_IDLE_TIMEOUT", default_value = "1h", value_parser = nonzero_duration)]
    pub session_idle_timeout: Duration,
    /// Most live sessions; `initialize` beyond it gets 503 (no session is evicted).
    #[arg(long, env = "MCP_MAX_SESSIONS", default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_sessions: usize,
    /// How long a 2026-07-28 client's call whose backend asked it something waits for the
    /// client's retry (then it is cancelled at the backend).
    #[arg(long, env = "MCP_INPUT_WAIT", default_value = "10m", value_parser = nonzero_duration)]
    pub input_wait: Duration,
    /// Most such calls waiting at once on this replica; a backend asking beyond it gets an
    /// error answer to its request.
    #[arg(long, env = "MCP_MAX_WAITING_CALLS", default_value_t = 1024,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_waiting_calls: usize,
    /// This replica's broker as the other replicas reach it (`host:port`), named in the
    /// `requestState` of a 2026-07-28 call waiting for its client's input, so that a retry
    /// reaching another replica is forwarded here. Default: the broker's bound address, unless
    /// it is unspecified (`0.0.0.0`): then retries are served only by the replica they reach.
    #[arg(long, env = "MCP_BROKER_ADVERTISE_ADDRESS")]
    pub broker_advertise_address: Option<String>,
    /// Where sessions live: `memory` (this process; one replica) or a Redis URL
    /// (`redis://[:password@]host:port[/db]`, `redis+unix:///path`) shared by replicas, which
    /// then also need the same `--session-key`. With Redis, `--max-sessions` bounds the store.
    #[arg(
        long,
        env = "MCP_SESSION_STORE",
        default_value = "memory",
        hide_env_values = true
    )]
    pub session_store: String,
    /// Where audit lines go: one JSON line per routed call and per denial, appended to this
    /// file. Without it they are events of the tracing target `mcp_gateway_audit` (off in
    /// the default log filter; e.g. `RUST_LOG=info,mcp_gateway_audit=info`).
    #[arg(long, env = "MCP_AUDIT_LOG")]
    pub audit_log: Option<std::path::PathBuf>,
    /// Largest `capabilities` a client may declare in `initialize`, in bytes (kept with its session).
    #[arg(long, env = "MCP_MAX_CLIENT_CAPABILITIES_BYTES", default_value_t = 16 * 1024)]
    pub max_client_capabilities_bytes: usize,
    /// Largest `clientInfo` kept with a session (its name, title and version), in bytes.
    #[arg(long, env = "MCP_MAX_CLIENT_INFO_BYTES", default_value_t = 1024)]
    pub max_client_info_bytes: usize,
    /// Time between tool refreshes of a healthy backend.
    #[arg(long, default_value = "30s", value_parser = duration::parse)]
    pub discovery_interval: Duration,
    /// Timeout of one request to a backend made by the gateway itself (initialize, list).
    #[arg(long, default_value = "5s", value_parser = duration::parse)]
    pub upstream_timeout: Duration,
    /// Items per page of aggregated lists (tools, prompts, resources); 0 sends each list whole.
    #[arg(long, env = "MCP_LIST_PAGE_SIZE", default_value_t = 0)]
    pub list_page_size: usize,
    /// Origins browser clients may call from: comma-separated (`https://app.example.com`),
    /// `*` for any. Default: loopback origins only. Requests without `Origin` are not affected.
    #[arg(long, env = "MCP_ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: String,
    /// Deepest nesting of objects and arrays a request body may have (the message object
    /// is level 1); deeper bodies get 400. Backends with recursive JSON parsers fail near 128.
    #[arg(long, env = "MCP_MAX_JSON_DEPTH", default_value_t = mcp_gateway_router::DEFAULT_MAX_DEPTH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=1024))]
    pub max_json_depth: usize,
    /// How often the config file is checked for changes.
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    pub config_poll_interval: Duration,
    /// OpenTelemetry collector (OTLP/gRPC, e.g. `http://127.0.0.1:4317`) for the gateway's
    /// own spans, children of Envoy's (`envoy-config --otlp-endpoint`). Off when unset (and
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is unset too); the other `OTEL_*` variables
    /// apply (see docs/observability.md).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// A loopback socket address: the module API answers without authentication and serves the
/// config file (secrets included), so it is for an Envoy on the same host or pod only.
fn loopback_address(text: &str) -> Result<SocketAddr, String> {
    let address: SocketAddr = text.parse().map_err(|e| format!("{e}"))?;
    if address.ip().is_loopback() {
        Ok(address)
    } else {
        Err(format!(
            "{address} is not a loopback address: the module API authenticates no caller and \
             serves the config file, so it must listen on 127.0.0.1 or ::1 (run Envoy beside it)"
        ))
    }
}

/// A duration above zero.
fn nonzero_duration(text: &str) -> Result<Duration, String> {
    match duration::parse(text)? {
        Duration::ZERO => Err("must be above zero".to_owned()),
        d => Ok(d),
    }
}

/// Flags of `envoy-config`.
#[derive(Debug, Args)]
pub struct EnvoyConfigArgs {
    /// Address Envoy listens on for MCP clients.
    #[arg(long, default_value = "0.0.0.0:8888")]
    pub listen: SocketAddr,
    /// Envoy's admin address.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
    /// Where Envoy reaches the router (ext_proc and ADS); repeat it once per replica
    /// (Envoy round-robins over the live ones).
    #[arg(long = "router", default_value = "127.0.0.1:50051", action = clap::ArgAction::Append)]
    pub routers: Vec<SocketAddr>,
    /// Where Envoy reaches the broker; repeat it once per replica.
    #[arg(long = "broker", default_value = "127.0.0.1:8080", action = clap::ArgAction::Append)]
    pub brokers: Vec<SocketAddr>,
    /// Largest request body Envoy buffers, in bytes; larger bodies get 413.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub max_request_bytes: u32,
    /// How long a client may take to send the request headers.
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub request_headers_timeout: Duration,
    /// How long a client may take to send a whole request (responses are not limited).
    #[arg(long, default_value = "60s", value_parser = duration::parse)]
    pub request_timeout: Duration,
    /// How long a client connection may stay open with no request on it.
    #[arg(long, default_value = "300s", value_parser = duration::parse)]
    pub idle_timeout: Duration,
    /// Most client connections Envoy keeps open at once.
    #[arg(long, default_value_t = 50_000)]
    pub max_connections: u32,
    /// Where the routing core runs: `ext-proc` (the router in the gateway process, any
    /// Envoy) or `module` (inside Envoy 1.40/1.41 as `libmcp_gateway_module.so`, found
    /// through `ENVOY_DYNAMIC_MODULES_SEARCH_PATH`; run the gateway with
    /// `--module-api-address`).
    #[arg(long, value_enum, default_value = "ext-proc")]
    pub mode: DataPlane,
    /// Where the module reaches the gateway's module API (`--mode module`).
    #[arg(long, default_value = "127.0.0.1:50052")]
    pub module_api: SocketAddr,
    /// OpenTelemetry collector Envoy sends its spans to (OTLP/gRPC, plaintext:
    /// `http://host:4317` or `host:4317`). No tracing when unset.
    #[arg(long)]
    pub otlp_endpoint: Option<String>,
    /// Percentage of requests Envoy traces (0 to 100, its random sampling); with
    /// `--otlp-endpoint`.
    #[arg(long, default_value_t = 100.0, requires = "otlp_endpoint")]
    pub trace_sampling: f64,
}

/// Where the routing core runs (`envoy-config --mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataPlane {
    /// The ext_proc router in the gateway process.
    ExtProc,
    /// The Envoy dynamic module.
    Module,
}

/// Help heading of the controller's flags.
const CONTROLLER: &str = "Controller (--controller)";

/// Flags of the Kubernetes controller (`--controller`).
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// ConfigMap the aggregated gateway config is written to.
    #[arg(help_heading = CONTROLLER, long, default_value = "mcp-gateway-config")]
    pub configmap_name: String,
    /// Namespace of that ConfigMap and of the leader-election Lease.
    #[arg(help_heading = CONTROLLER, long, env = "POD_NAMESPACE", default_value = "mcp-system")]
    pub configmap_namespace: String,
    /// Key of the config file in the ConfigMap.
    #[arg(help_heading = CONTROLLER, long, default_value = "config.yaml")]
    pub configmap_key: String,
    /// Cluster DNS domain used in backend URLs (`<svc>.<ns>.svc.<domain>`).
    #[arg(help_heading = CONTROLLER, long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// A YAML file of config sections other than `servers:` (e.g. `auth:`) added to every
    /// config the controller publishes; checked at start.
    #[arg(help_heading = CONTROLLER, long, env = "MCP_CONTROLLER_BASE_CONFIG")]
    pub base_config: Option<std::path::PathBuf>,
    /// Address of `/healthz` and `/readyz`.
    #[arg(help_heading = CONTROLLER, long, default_value = "0.0.0.0:8081")]
    pub health_address: SocketAddr,
    /// Address of `/metrics` (Prometheus).
    #[arg(help_heading = CONTROLLER, long, default_value = "0.0.0.0:8082")]
    pub metrics_address: SocketAddr,
    /// Elect one active replica through a Lease (`--leader-election=false` for a single replica).
    #[arg(help_heading = CONTROLLER, long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the leader-election Lease.
    #[arg(help_heading = CONTROLLER, long, default_value = "mcp-gateway-controller")]
    pub leader_election_lease: String,
    /// Time between listings of the published servers' tools for `status.targets[].discoveredTools`; 0 turns listing off.
    #[arg(help_heading = CONTROLLER, long, default_value = "60s", value_parser = duration::parse)]
    pub tool_discovery_interval: Duration,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// Parses `args` (after the binary's name) as the binary does, but blind to the
    /// environment: `MCP_*` variables of the test process must not change the defaults.
    fn parse(args: &[&str]) -> Cli {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let argv = std::iter::once("mcp-broker-router").chain(args.iter().copied());
        let matches = command.try_get_matches_from(argv).expect("the flags parse");
        Cli::from_arg_matches(&matches).expect("the matches convert")
    }

    #[test]
    fn the_module_api_listens_on_loopback_only() {
        let run = parse(&["--module-api-address", "127.0.0.1:50052"]).run;
        assert_eq!(
            run.module_api_address,
            Some("127.0.0.1:50052".parse().unwrap())
        );
        assert!(
            parse(&["--module-api-address", "[::1]:1"])
                .run
                .module_api_address
                .is_some()
        );
        for exposed in ["0.0.0.0:50052", "10.0.0.5:50052", "[::]:1"] {
            let command = Cli::command().mut_args(|arg| arg.env(None));
            let error = command
                .try_get_matches_from(["mcp-broker-router", "--module-api-address", exposed])
                .expect_err(exposed);
            assert!(
                error.to_string().contains("not a loopback address"),
                "{error}"
            );
        }
    }

    /// DESIGN.md §4's flags: `--mcp-router-address`, `--mcp-broker-address`,
    /// `--mcp-gateway-config` (./config/mcp-system/config.yaml) and `--controller`; the rest
    /// as docs/configuration.md lists them. The two addresses default to loopback, not to
    /// DESIGN.md's 0.0.0.0: neither port authenticates its callers (docs/security.md).
    #[test]
    fn no_arguments_runs_the_gateway_with_the_documented_defaults() {
        let cli = parse(&[]);
        assert!(cli.command.is_none(), "no subcommand runs the gateway");
        let run = cli.run;
        assert_eq!(run.mcp_router_address, "127.0.0.1:50051".parse().unwrap());
        assert_eq!(run.mcp_broker_address, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(run.mcp_metrics_address, "127.0.0.1:9464".parse().unwrap());
        assert_eq!(
            run.mcp_gateway_config,
            PathBuf::from("./config/mcp-system/config.yaml")
        );
        assert!(!run.controller);

        assert_eq!(run.max_request_bytes, 4_194_304);
        assert_eq!(run.session_key, None);
        assert_eq!(run.session_lifetime, Duration::from_secs(24 * 3600));
        assert_eq!(run.session_idle_timeout, Duration::from_secs(3600));
        assert_eq!(run.max_sessions, 10_000);
        assert_eq!(run.input_wait, Duration::from_secs(600));
        assert_eq!(run.max_waiting_calls, 1024);
        assert_eq!(run.broker_advertise_address, None);
        assert_eq!(run.session_store, "memory");
        assert_eq!(run.max_client_capabilities_bytes, 16_384);
        assert_eq!(run.max_client_info_bytes, 1024);
        assert_eq!(run.discovery_interval, Duration::from_secs(30));
        assert_eq!(run.upstream_timeout, Duration::from_secs(5));
        assert_eq!(run.list_page_size, 0);
        assert_eq!(run.allowed_origins, "");
        assert_eq!(run.config_poll_interval, Duration::from_secs(1));
    }

    #[test]
    fn design_flags_are_accepted_and_documented() {
        let cli = parse(&[
            "--mcp-router-address",
            "127.0.0.1:1",
            "--mcp-broker-address",
            "127.0.0.1:2",
            "--mcp-gateway-config",
            "/etc/mcp/config.yaml",
            "--controller",
        ]);
        assert_eq!(cli.run.mcp_router_address, "127.0.0.1:1".parse().unwrap());
        assert_eq!(cli.run.mcp_broker_address, "127.0.0.1:2".parse().unwrap());
        assert_eq!(
            cli.run.mcp_gateway_config,
            PathBuf::from("/etc/mcp/config.yaml")
        );
        assert!(cli.run.controller);

        let help = Cli::command()
            .mut_args(|arg| arg.env(None))
            .render_long_help()
            .to_string();
        for (flag, default) in [
            ("--mcp-router-address", Some("127.0.0.1:50051")),
            ("--mcp-broker-address", Some("127.0.0.1:8080")),
            (
                "--mcp-gateway-config",
                Some("./config/mcp-system/config.yaml"),
            ),
            ("--controller", None),
        ] {
            assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
            if let Some(default) = default {
                let shown = format!("[default: {default}]");
                assert!(help.contains(&shown), "--help lacks {shown}:\n{help}");
            }
        }
    }

    #[test]
    fn session_limits_parse_and_refuse_nonsense() {
        let run = parse(&[
            "--max-sessions",
            "3",
            "--session-idle-timeout",
            "2s",
            "--max-client-capabilities-bytes",
            "100",
            "--max-client-info-bytes",
            "10",
        ])
        .run;
        assert_eq!(run.max_sessions, 3);
        assert_eq!(run.session_idle_timeout, Duration::from_secs(2));
        assert_eq!(run.max_client_capabilities_bytes, 100);
        assert_eq!(run.max_client_info_bytes, 10);
        let command = || Cli::command().mut_args(|arg| arg.env(None));
        for bad in [["--max-sessions", "0"], ["--session-idle-timeout", "0s"]] {
            let argv = std::iter::once("mcp-broker-router").chain(bad);
            assert!(command().try_get_matches_from(argv).is_err(), "{bad:?}");
        }
    }

    /// One `--router` and `--broker` by default; each repeated flag adds a replica.
    #[test]
    fn envoy_config_takes_one_router_and_broker_per_replica() {
        let replicas = |args: &[&str]| match parse(args).command {
            Some(Command::EnvoyConfig(args)) => (args.routers, args.brokers),
            other => panic!("not envoy-config: {other:?}"),
        };
        let (routers, brokers) = replicas(&["envoy-config"]);
        assert_eq!(routers, ["127.0.0.1:50051".parse().unwrap()]);
        assert_eq!(brokers, ["127.0.0.1:8080".parse().unwrap()]);
        let (routers, brokers) = replicas(&[
            "envoy-config",
            "--router",
            "127.0.0.1:1",
            "--router",
            "127.0.0.1:2",
            "--broker",
            "127.0.0.1:3",
        ]);
        assert_eq!(
            routers,
            [
                "127.0.0.1:1".parse().unwrap(),
                "127.0.0.1:2".parse().unwrap()
            ]
        );
        assert_eq!(brokers, ["127.0.0.1:3".parse().unwrap()]);
    }
}
