//! `mcp-broker-router`: the gateway's one binary.

fn main() -> std::process::ExitCode {
    mcp_gateway_cli::run()
}
