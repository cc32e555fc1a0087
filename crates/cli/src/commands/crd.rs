/// Prints the MCPServer CRD (the checked-in copy is `config/crd/mcp.kagenti.com_mcpservers.yaml`).
pub(crate) fn execute() -> anyhow::Result<()> {
    print!("{}", mcp_gateway_controller::crd_yaml()?);
    Ok(())
}
