//! The two-backend setup every path of the comparison runs against: two echo backends, the
//! gateway with its Envoy, a plain Envoy in front of backend `a`, Envoy's `mcp_router` in
//! front of both, a plain Envoy with a no-op ext_proc server in front of backend `a`, and a
//! second gateway with auth and policy on, trusting an OpenID provider started for it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::access::{Access, CALLER, RESOURCE, SCOPE, access_config};
use super::echo_process::EchoProcess;
use super::envoy::{Envoy, EnvoyLaunch};
use super::gateway::{Gateway, GatewayLaunch};
use super::idp::IdentityProvider;
use super::noop::NoopExtProc;
use super::procfs::{ProcSample, sample_self};
use super::render::{Backend, ext_proc_floor_envoy, mcp_router_envoy, plain_envoy};
use super::settings::Settings;
use crate::echo::{ECHO_TOOL, EchoOptions};
use crate::loadgen::Target;
use crate::report::PathId;

/// The programs a run starts.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `mcp-echo-server`.
    pub echo: PathBuf,
    /// `mcp-broker-router`.
    pub gateway: PathBuf,
    /// Envoy 1.40.
    pub envoy: PathBuf,
    /// `mcp-noop-ext-proc` (path 5).
    pub noop_ext_proc: PathBuf,
    /// The directory of `idp.mjs` with its packages installed (`e2e/node`; path 7).
    pub idp_dir: PathBuf,
}

impl Binaries {
    /// How Envoys are started under `settings`.
    pub fn envoy_launch(&self, settings: &Settings) -> EnvoyLaunch {
        EnvoyLaunch {
            binary: self.envoy.clone(),
            concurrency: settings.envoy_concurrency,
        }
    }

    /// How the gateway is started with discovery every `interval`.
    pub fn gateway_launch(&self, interval: std::time::Duration) -> GatewayLaunch {
        GatewayLaunch {
            binary: self.gateway.clone(),
            discovery_interval: interval,
        }
    }
}

/// One path of the comparison: where to send and which tool to call.
#[derive(Debug, Clone)]
pub struct PathUnderTest {
    /// Which path.
    pub id: PathId,
    /// Its MCP endpoint.
    pub url: String,
    /// The echo tool of backend `a` as the path exposes it.
    pub tool: String,
    /// The caller's token, sent as `Authorization: Bearer` on every request (path 7).
    pub bearer: Option<String>,
}

impl PathUnderTest {
    /// Where the load generator sends, with the caller's token when the path has one.
    pub async fn target(&self) -> Result<Target> {
        let target = Target::resolve(&self.url).await?;
        Ok(match &self.bearer {
            Some(token) => target.with_bearer(token)?,
            None => target,
        })
    }
}

/// CPU and memory of the processes of one path, plus the load generator.
#[derive(Debug, Clone, Copy)]
pub struct PathSample {
    /// The path's Envoy.
    pub envoy: Option<ProcSample>,
    /// mcp-broker-router.
    pub router: Option<ProcSample>,
    /// Backend `a` (every path calls its echo tool).
    pub backend: ProcSample,
    /// This process.
    pub loadgen: ProcSample,
}

/// Everything the comparison runs against.
#[derive(Debug)]
pub struct Stack {
    /// Backends `a` and `b`.
    pub echo: Vec<EchoProcess>,
    /// Their definitions.
    pub backends: Vec<Backend>,
    plain: Envoy,
    gateway: Gateway,
    mcp_router: Envoy,
    noop: NoopExtProc,
    floor: Envoy,
    idp: IdentityProvider,
    gateway_auth: Gateway,
    bearer: String,
}

impl Stack {
    /// Starts every process and checks that a call goes through each path.
    pub async fn start(bins: &Binaries, settings: &Settings, dir: &Path) -> Result<Self> {
        let mut echo = Vec::new();
        let mut backends = Vec::new();
        for name in ["a", "b"] {
            let process = EchoProcess::start(
                &bins.echo,
                dir,
                &format!("echo-{name}"),
                EchoOptions::default(),
                settings.backend_threads,
            )
            .await?;
            backends.push(process.backend(0, name));
            echo.push(process);
        }
        let launch = bins.envoy_launch(settings);
        let plain = Envoy::start(
            &launch,
            dir,
            "envoy-plain",
            &plain_envoy(backends[0].addr),
            "plain",
        )
        .await?;
        let gateway = Gateway::start(
            &bins.gateway_launch(std::time::Duration::from_secs(30)),
            &launch,
            dir,
            "gateway",
            &backends,
        )
        .await?;
        let mcp_router = Envoy::start(
            &launch,
            dir,
            "envoy-mcp-router",
            &mcp_router_envoy(&backends),
            "mcp",
        )
        .await?;
        let noop = NoopExtProc::start(&bins.noop_ext_proc, dir).await?;
        let floor = Envoy::start(
            &launch,
            dir,
            "envoy-ext-proc-floor",
            &ext_proc_floor_envoy(backends[0].addr, noop.addr()),
            "floor",
        )
        .await?;
        let idp = IdentityProvider::start(&bins.idp_dir, dir, &[CALLER]).await?;
        let access = Access {
            config: access_config(idp.issuer(), &idp.jwks_uri()),
            bearer: idp.token(CALLER, RESOURCE, SCOPE).await?,
        };
        let gateway_auth = Gateway::start_with(
            &bins.gateway_launch(std::time::Duration::from_secs(30)),
            &launch,
            dir,
            "gateway-auth",
            &backends,
            Some(&access),
        )
        .await?;
        let stack = Self {
            echo,
            backends,
            plain,
            gateway,
            mcp_router,
            noop,
            floor,
            idp,
            gateway_auth,
            bearer: access.bearer,
        };
        for path in stack.paths() {
            // Every path answers a call before anything is measured.
            super::process::eventually(
                &format!("a call through {}", path.id.title()),
                std::time::Duration::from_secs(60),
                || super::probe::call_once(&path.url, &path.tool, path.bearer.as_deref()),
            )
            .await?;
        }
        Ok(stack)
    }

    /// Every path.
    pub fn paths(&self) -> Vec<PathUnderTest> {
        let a = &self.backends[0];
        PathId::ALL
            .iter()
            .map(|&id| {
                let (url, tool) = match id {
                    PathId::Direct => (a.url(), ECHO_TOOL.to_owned()),
                    PathId::PlainEnvoy => (
                        format!("http://{}{}", self.plain.listener(), a.path),
                        ECHO_TOOL.to_owned(),
                    ),
                    PathId::Gateway => (self.gateway.url(), a.gateway_tool(ECHO_TOOL)),
                    PathId::EnvoyMcpRouter => (
                        format!("http://{}/mcp", self.mcp_router.listener()),
                        a.mcp_router_tool(ECHO_TOOL),
                    ),
                    PathId::ExtProcFloor => (
                        format!("http://{}{}", self.floor.listener(), a.path),
                        ECHO_TOOL.to_owned(),
                    ),
                    PathId::GatewayAuth => (self.gateway_auth.url(), a.gateway_tool(ECHO_TOOL)),
                };
                let bearer = (id == PathId::GatewayAuth).then(|| self.bearer.clone());
                PathUnderTest {
                    id,
                    url,
                    tool,
                    bearer,
                }
            })
            .collect()
    }

    /// The processes of `path` now.
    pub fn sample(&self, path: PathId) -> Result<PathSample> {
        let (envoy, router) = match path {
            PathId::Direct => (None, None),
            PathId::PlainEnvoy => (Some(self.plain.sample()?), None),
            PathId::Gateway => (
                Some(self.gateway.envoy_sample()?),
                Some(self.gateway.router_sample()?),
            ),
            PathId::EnvoyMcpRouter => (Some(self.mcp_router.sample()?), None),
            PathId::ExtProcFloor => (Some(self.floor.sample()?), Some(self.noop.sample()?)),
            PathId::GatewayAuth => {
                // The provider is only asked before the run; it must still be there.
                self.idp.sample()?;
                (
                    Some(self.gateway_auth.envoy_sample()?),
                    Some(self.gateway_auth.router_sample()?),
                )
            }
        };
        Ok(PathSample {
            envoy,
            router,
            backend: self.echo[0].sample()?,
            loadgen: sample_self()?,
        })
    }

    /// Stops every process.
    pub async fn stop(self) {
        self.plain.stop().await;
        self.gateway.stop().await;
        self.mcp_router.stop().await;
        self.floor.stop().await;
        self.noop.stop().await;
        self.gateway_auth.stop().await;
        self.idp.stop().await;
        for echo in self.echo {
            echo.stop().await;
        }
    }
}
