pub(crate) mod envoy_config;
pub(crate) mod run;
