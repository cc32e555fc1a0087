use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use mcp_gateway_controller::{
    Controller, ControllerOptions, DiscoverySettings, LeaseSettings, Settings, check_base_config,
    default_identity,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::ControllerArgs;
use crate::commands::run::shutdown_on_signal;

/// How long shutdown (releasing the Lease, closing listeners) may take.
const GRACE: Duration = Duration::from_secs(10);

/// Runs the Kubernetes controller until SIGINT/SIGTERM. Logging is set up by the caller.
pub(crate) fn execute(args: &ControllerArgs) -> anyhow::Result<()> {
    let base_config = match &args.base_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --base-config {}", path.display()))?;
            check_base_config(&text).map_err(|problem| {
                anyhow::anyhow!("--base-config {}: {problem}", path.display())
            })?;
            Some(text)
        }
        None => None,
    };
    let settings = Settings {
        configmap_name: args.configmap_name.clone(),
        configmap_namespace: args.configmap_namespace.clone(),
        configmap_key: args.configmap_key.clone(),
        cluster_domain: args.cluster_domain.clone(),
        base_config,
    };
    let lease = args.leader_election.then(|| LeaseSettings {
        name: args.leader_election_lease.clone(),
        ..LeaseSettings::new(args.configmap_namespace.clone(), default_identity())
    });
    let discovery = (!args.tool_discovery_interval.is_zero()).then(|| DiscoverySettings {
        interval: args.tool_discovery_interval,
        ..DiscoverySettings::default()
    });
    let options = ControllerOptions {
        health_address: args.health_address,
        metrics_address: args.metrics_address,
        discovery,
        ..ControllerOptions::new(settings, lease)
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve(options))
}

async fn serve(options: ControllerOptions) -> anyhow::Result<()> {
    let leader = options.leader_election.as_ref().map(|l| l.identity.clone());
    let controller = Controller::connect(options)
        .await
        .context("starting the controller")?;
    let (health, metrics) = controller.local_addrs();
    let (health, metrics) = (display(health), display(metrics));
    info!(%health, %metrics, identity = leader.as_deref().unwrap_or("(no leader election)"), "mcp-gateway-controller started");
    // One machine-readable line on stdout for scripts and tests that bind port 0.
    println!("mcp-gateway-controller ready health={health} metrics={metrics}");
    std::io::stdout().flush().ok();

    let cancel = CancellationToken::new();
    tokio::spawn(shutdown_on_signal(cancel.clone()));
    let run = controller.run(cancel.clone());
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => result.context("controller"),
        _ = async { cancel.cancelled().await; tokio::time::sleep(GRACE).await } => {
            warn!("shutdown grace period over; exiting");
            Ok(())
        }
    }
}

fn display(addr: Option<std::net::SocketAddr>) -> String {
    addr.map_or_else(|| "?".to_owned(), |a| a.to_string())
}
