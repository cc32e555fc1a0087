//! Drives the example servers with the official rmcp client over real sockets.

mod binary;
mod calc;
mod hosts;
mod logging;
mod pagination;
mod prompts;
mod resources;
mod support;
mod text;
