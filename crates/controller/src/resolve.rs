//! Pure resolution of one target: HTTPRoute + Service -> a gateway server entry, or
//! the reason it cannot be one.

use k8s_openapi::api::core::v1::{Service, ServicePort};
use mcp_gateway_config::{MAX_NAME_LEN, RawServer};

use crate::cluster::Cluster;
use crate::crd::{DEFAULT_PATH, GATEWAY_GROUP, HTTP_ROUTE_KIND, TargetRef};
use crate::reason::{Problem, Reason};
use crate::route::{BackendRef, HTTPRoute};

/// Which `MCPServer` a target belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    /// The MCPServer's namespace (the default namespace of its targets).
    pub namespace: &'a str,
    /// The MCPServer's name.
    pub name: &'a str,
}

/// Resolves `target` of `owner` against `cluster` to a server entry whose URL is
/// `http(s)://<service>.<namespace>.svc.<cluster_domain>:<port><path>` and whose
/// hostname is the route's first exact hostname.
///
/// The entry is not validated here; see [`crate::plan`].
pub fn resolve_target(
    cluster: &Cluster,
    owner: Owner<'_>,
    target: &TargetRef,
    cluster_domain: &str,
) -> Result<RawServer, Problem> {
    if target.group != GATEWAY_GROUP || target.kind != HTTP_ROUTE_KIND {
        return Err(Problem::new(
            Reason::Invalid,
            format!(
                "target kind {}/{} is not supported; only {GATEWAY_GROUP}/{HTTP_ROUTE_KIND}",
                target.group, target.kind
            ),
        ));
    }
    let route_namespace = target.namespace.as_deref().unwrap_or(owner.namespace);
    let route_label = format!("HTTPRoute {route_namespace}/{}", target.name);
    let route = cluster
        .route(route_namespace, &target.name)
        .ok_or_else(|| Problem::new(Reason::RouteNotFound, format!("{route_label} not found")))?;
    let hostname = hostname(route, &route_label)?;
    let backend = service_backend(route, &route_label)?;
    let service_namespace = backend.namespace.as_deref().unwrap_or(route_namespace);
    let service_label = format!("Service {service_namespace}/{}", backend.name);
    let service = cluster
        .service(service_namespace, &backend.name)
        .ok_or_else(|| {
            Problem::new(
                Reason::ServiceNotFound,
                format!("{service_label} (backend of {route_label}) not found"),
            )
        })?;
    let port = service_port(service, backend.port, &service_label)?;
    let path = target.path.as_deref().unwrap_or(DEFAULT_PATH);
    if !path.starts_with('/') {
        return Err(Problem::new(
            Reason::Invalid,
            format!("path {path:?} must start with /"),
        ));
    }
    let scheme = if is_https(port) { "https" } else { "http" };
    let url = format!(
        "{scheme}://{}.{service_namespace}.svc.{cluster_domain}:{}{path}",
        backend.name, port.port
    );
    Ok(RawServer {
        name: Some(server_name(owner, &target.name)),
        url: Some(url),
        hostname: Some(hostname.to_owned()),
        enabled: Some(true),
        tool_prefix: Some(target.tool_prefix.clone().unwrap_or_default()),
        prefix: None,
        credentials: None,
        traffic: None,
        ..RawServer::default()
    })
}

/// The gateway server name of a target: `<namespace>-<mcpserver>-<route>`, cut to
/// fit [`MAX_NAME_LEN`] with a hash of the whole kept at the end so it stays unique.
pub fn server_name(owner: Owner<'_>, route: &str) -> String {
    let full = format!("{}-{}-{route}", owner.namespace, owner.name);
    if full.len() <= MAX_NAME_LEN {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(full.as_bytes()) as u32);
    let keep = MAX_NAME_LEN - hash.len() - 1;
    let mut head = String::with_capacity(MAX_NAME_LEN);
    for c in full.chars() {
        if head.len() + c.len_utf8() > keep {
            break;
        }
        head.push(c);
    }
    format!("{head}-{hash}")
}

/// The first hostname of the route that is not a wildcard.
fn hostname<'r>(route: &'r HTTPRoute, label: &str) -> Result<&'r str, Problem> {
    let hostnames = &route.spec.hostnames;
    hostnames
        .iter()
        .map(String::as_str)
        .find(|h| !h.starts_with('*') && !h.is_empty())
        .ok_or_else(|| {
            let message = if hostnames.is_empty() {
                format!("{label} has no hostnames")
            } else {
                format!("{label} has only wildcard hostnames")
            };
            Problem::new(Reason::NoHostname, message)
        })
}

/// The first Service backend over all rules.
fn service_backend<'r>(route: &'r HTTPRoute, label: &str) -> Result<&'r BackendRef, Problem> {
    route
        .spec
        .rules
        .iter()
        .flat_map(|rule| &rule.backend_refs)
        .find(|backend| backend.is_service())
        .ok_or_else(|| Problem::new(Reason::NoBackend, format!("{label} has no Service backend")))
}

/// The Service port the backend reference names, or its only port when it names none.
fn service_port<'s>(
    service: &'s Service,
    wanted: Option<i32>,
    label: &str,
) -> Result<&'s ServicePort, Problem> {
    let ports: &[ServicePort] = service
        .spec
        .as_ref()
        .and_then(|spec| spec.ports.as_deref())
        .unwrap_or_default();
    match wanted {
        Some(number) => ports.iter().find(|p| p.port == number).ok_or_else(|| {
            Problem::new(
                Reason::PortNotFound,
                format!("{label} has no port {number}"),
            )
        }),
        None => match ports {
            [only] => Ok(only),
            _ => Err(Problem::new(
                Reason::PortNotFound,
                format!(
                    "the route's backend sets no port and {label} has {} ports",
                    ports.len()
                ),
            )),
        },
    }
}

/// TLS to the backend when the port says so: 443, appProtocol `https`, or a name
/// `https` / `https-*`.
fn is_https(port: &ServicePort) -> bool {
    let named_https = port
        .name
        .as_deref()
        .is_some_and(|n| n == "https" || n.starts_with("https-"));
    let app_https = port
        .app_protocol
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    port.port == 443 || named_https || app_https
}

/// 64-bit FNV-1a: stable across releases and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
