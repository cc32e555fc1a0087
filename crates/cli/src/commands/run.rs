use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use mcp_gateway_broker::upstream::{DiscoveryTiming, run_discovery};
use mcp_gateway_broker::{BrokerState, OAuthMetadata, Streams, app, reap_sessions};
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::{Config, ConfigStore, watch_file};
use mcp_gateway_router::{Limits, OriginPolicy, Router};
use mcp_gateway_session::{
    BackendSessions, ClientLimits, MemoryStore, RedisStore, SessionIds, SessionKey, SessionStore,
    StoreLimits,
};
use mcp_gateway_telemetry::Settings;
use mcp_gateway_upstream::{UpstreamClient, install_crypto_provider};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::RunArgs;
use crate::status::GatewayStatus;

/// How long shutdown may take before the process exits anyway.
const GRACE: Duration = Duration::from_secs(10);
/// Bounds of how often ended (expired or idle) sessions are swept from memory: half the
/// idle timeout, within these.
const SWEEP_EVERY: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// Runs the router and the broker until SIGINT/SIGTERM.
pub(crate) fn execute(args: RunArgs) -> anyhow::Result<()> {
    if args.controller {
        init_logs();
        return super::controller::execute(&args.controller_args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let traces = Settings::from_flag_and_env(args.otlp_endpoint.as_deref());
    // Dropped after `serve` returns, while the runtime still runs: sends the last spans.
    let _flush_on_exit = match &traces.endpoint {
        None => {
            init_logs();
            None
        }
        Some(endpoint) => {
            // Spans are exported from a task of this runtime.
            let _entered = runtime.enter();
            let (otel, guard) =
                mcp_gateway_telemetry::install(&traces).context("--otlp-endpoint")?;
            // Per-layer filters: the logs' filter does not decide which spans are exported.
            tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_filter(log_filter()),
                )
                .with(otel)
                .init();
            info!(%endpoint, "exporting traces over OTLP/gRPC");
            Some(guard)
        }
    };
    runtime.block_on(serve(args))
}

/// Log lines on stderr, filtered by `RUST_LOG` (one global filter: what it leaves out costs
/// nothing, as before traces existed).
fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .init();
}

/// `RUST_LOG`, by default `info` without the audit stream and the spans meant for export.
fn log_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "info,{}=off,{}=off",
            mcp_gateway_audit::TARGET,
            mcp_gateway_telemetry::TARGET
        ))
    })
}

async fn serve(args: RunArgs) -> anyhow::Result<()> {
    install_crypto_provider();
    let sink = match &args.audit_log {
        Some(path) => mcp_gateway_audit::Sink::file(path)
            .with_context(|| format!("opening the audit log {}", path.display()))?,
        None => mcp_gateway_audit::Sink::Tracing,
    };
    let auditor = mcp_gateway_audit::Auditor::start(sink, mcp_gateway_audit::DEFAULT_CAPACITY)
        .context("starting the audit writer")?;
    // Only the first gateway of a process audits (tests may start several).
    let _ = auditor.install();
    let config = Config::load_file(&args.mcp_gateway_config)
        .with_context(|| format!("loading {}", args.mcp_gateway_config.display()))?;
    let config = ConfigStore::new(config);
    let key = match &args.session_key {
        Some(secret) => SessionKey::from_secret(secret.as_bytes()),
        None => SessionKey::random(),
    };
    let ids = SessionIds::new(key, args.session_lifetime);
    let sessions = session_store(&args).await?;
    let catalog = Arc::new(CatalogStore::new());
    let upstream =
        UpstreamClient::new(args.upstream_timeout).context("building the HTTP client")?;

    let backends = Arc::new(BackendSessions::new(sessions, upstream));
    let status = Arc::new(GatewayStatus {
        config: config.clone(),
        catalog: catalog.clone(),
        sessions: backends.store().clone(),
    });
    let credentials = mcp_gateway_credentials::BackendCredentials::new(args.upstream_timeout)
        .context("building the HTTP client for token requests")?;
    let origins = OriginPolicy::parse(&args.allowed_origins);

    let json_limits = Limits {
        max_depth: args.max_json_depth,
    };
    let broker = Arc::new(BrokerState {
        config: config.clone(),
        catalog: catalog.clone(),
        backends: backends.clone(),
        ids: ids.clone(),
        session_lifetime: args.session_lifetime,
        client_limits: ClientLimits {
            capabilities_bytes: args.max_client_capabilities_bytes,
            client_info_bytes: args.max_client_info_bytes,
        },
        oauth: OAuthMetadata::from_env(),
        max_request_bytes: args.max_request_bytes,
        list_page_size: args.list_page_size,
        streams: Streams::default(),
        origins: origins.clone(),
        json_limits,
        credentials,
        mrtr: mcp_gateway_broker::Parked::new(args.input_wait, args.max_waiting_calls),
        input_asks: Arc::new(mcp_gateway_broker::InputAsks::new(
            args.input_wait,
            args.max_waiting_calls,
        )),
    });
    let router = Router::new(
        config.clone(),
        catalog.clone(),
        backends,
        ids,
        args.max_request_bytes,
        origins,
    )
    .with_json_limits(json_limits)
    .with_credentials(broker.credentials.clone());

    let module_api = match args.module_api_address {
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the module API to {address}"))?;
            let app = router.module_api(
                config.clone(),
                args.mcp_gateway_config.clone(),
                catalog.clone(),
            );
            Some((listener, app))
        }
        None => None,
    };
    let router_listener = TcpListener::bind(args.mcp_router_address)
        .await
        .with_context(|| format!("binding the router to {}", args.mcp_router_address))?;
    let broker_listener = TcpListener::bind(args.mcp_broker_address)
        .await
        .with_context(|| format!("binding the broker to {}", args.mcp_broker_address))?;
    let metrics_listener = TcpListener::bind(args.mcp_metrics_address)
        .await
        .with_context(|| {
            format!(
                "binding the metrics endpoint to {}",
                args.mcp_metrics_address
            )
        })?;
    let router_addr = router_listener.local_addr()?;
    let broker_addr = broker_listener.local_addr()?;
    let metrics_addr = metrics_listener.local_addr()?;
    // Where other replicas forward the retries of calls this one holds (MRTR).
    let advertised = args
        .broker_advertise_address
        .clone()
        .or_else(|| (!broker_addr.ip().is_unspecified()).then(|| broker_addr.to_string()));
    if let Some(address) = advertised {
        broker.mrtr.advertise(address);
    }
    let console = Arc::new(mcp_gateway_console::Console {
        config: config.clone(),
        catalog: catalog.clone(),
        sessions: broker.sessions().clone(),
        metrics_address: Some(metrics_addr),
    });
    info!(router = %router_addr, broker = %broker_addr, servers = config.load().servers().len(), "mcp-broker-router listening");
    // One machine-readable line on stdout for scripts and tests that bind port 0.
    let module_addr = match &module_api {
        Some((listener, _)) => format!(" module={}", listener.local_addr()?),
        None => String::new(),
    };
    println!(
        "mcp-broker-router ready router={router_addr} broker={broker_addr}{module_addr} \
         metrics={metrics_addr}"
    );
    std::io::stdout().flush().ok();

    let cancel = CancellationToken::new();
    tokio::spawn(watch_file(
        args.mcp_gateway_config.clone(),
        config.clone(),
        args.config_poll_interval,
        cancel.clone(),
    ));
    let timing = DiscoveryTiming {
        refresh: args.discovery_interval,
        ..DiscoveryTiming::default()
    };
    // Stdio servers' bridges; with none configured this only watches the config.
    tokio::spawn(mcp_gateway_stdio::run_bridges(
        config.clone(),
        cancel.clone(),
    ));
    tokio::spawn(run_discovery(broker.clone(), timing, cancel.clone()));
    let sweep_every = (args.session_idle_timeout / 2).clamp(SWEEP_EVERY.0, SWEEP_EVERY.1);
    tokio::spawn(reap_sessions(broker.clone(), sweep_every, cancel.clone()));
    tokio::spawn(mcp_gateway_broker::stream::relay_signals(broker.clone()));
    tokio::spawn(shutdown_on_signal(cancel.clone()));

    let grpc = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(router.into_service())
        .add_service(mcp_gateway_xds::ads_service(config.subscribe()))
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(router_listener),
            cancel.clone().cancelled_owned(),
        );
    // Without TCP_NODELAY a large answer's last segment can wait for a delayed ACK (~40 ms).
    let broker_listener = broker_listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            debug!(%error, "TCP_NODELAY on a broker connection");
        }
    });
    // The web console is the broker's too: Envoy routes `/console` to it like `/mcp`.
    let broker_app = app(broker).merge(mcp_gateway_console::router(console));
    let http = axum::serve(broker_listener, broker_app)
        .with_graceful_shutdown(cancel.clone().cancelled_owned());
    let admin = axum::serve(metrics_listener, mcp_gateway_metrics::admin::router(status))
        .with_graceful_shutdown(cancel.clone().cancelled_owned());
    let module = async {
        match module_api {
            Some((listener, app)) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(cancel.clone().cancelled_owned())
                    .await
            }
            None => Ok(()),
        }
    };
    let servers = async {
        let (grpc, http, module, admin) = tokio::join!(grpc, http, module, admin);
        grpc.context("router")?;
        http.context("broker")?;
        module.context("module API")?;
        admin.context("metrics endpoint")?;
        anyhow::Ok(())
    };
    tokio::pin!(servers);
    tokio::select! {
        result = &mut servers => result,
        _ = async { cancel.cancelled().await; tokio::time::sleep(GRACE).await } => {
            warn!("shutdown grace period over; exiting with connections still open");
            Ok(())
        }
    }
}

/// The store `--session-store` names: this process's memory, or a Redis shared by replicas.
async fn session_store(args: &RunArgs) -> anyhow::Result<Arc<dyn SessionStore>> {
    let limits = StoreLimits {
        max_sessions: args.max_sessions,
        idle_timeout: args.session_idle_timeout,
    };
    if args.session_store == "memory" {
        return Ok(Arc::new(MemoryStore::with_limits(limits)));
    }
    anyhow::ensure!(
        args.session_key.is_some(),
        "--session-store redis://... needs --session-key (MCP_SESSION_KEY): every replica \
         must verify the session ids the others mint"
    );
    let store = RedisStore::open(&args.session_store, limits)
        .context("--session-store must be `memory` or a redis:// URL")?;
    // Serving starts anyway: requests get 503 until Redis answers.
    match store.ping().await {
        Ok(()) => info!("sessions in Redis"),
        Err(e) => {
            warn!(error = %e, "Redis does not answer yet; sessions fail with 503 until it does")
        }
    }
    Ok(Arc::new(store))
}

pub(crate) async fn shutdown_on_signal(cancel: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                ctrl_c.await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
    info!("shutting down");
    cancel.cancel();
}
