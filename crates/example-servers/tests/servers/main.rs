//! Drives the example servers with the official rmcp client over real sockets.

mod binary;
mod calc;
mod hosts;
mod support;
mod text;
