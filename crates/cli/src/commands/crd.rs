/// Prints the CRDs: `MCPServer` (the checked-in copy is
/// `config/crd/mcp.kagenti.com_mcpservers.yaml`), or with `virtual`, `MCPVirtualServer`
/// (`config/crd/mcp.kagenti.com_mcpvirtualservers.yaml`).
pub(crate) fn execute(kind: Option<&str>) -> anyhow::Result<()> {
    match kind {
        None | Some("mcpservers") => print!("{}", mcp_gateway_controller::crd_yaml()?),
        Some("mcpvirtualservers") => {
            print!("{}", mcp_gateway_controller::virtual_server_crd_yaml()?);
        }
        Some(other) => {
            anyhow::bail!("no CRD {other:?}; choose mcpservers (the default) or mcpvirtualservers")
        }
    }
    Ok(())
}
