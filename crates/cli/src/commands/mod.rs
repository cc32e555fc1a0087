pub(crate) mod controller;
pub(crate) mod crd;
pub(crate) mod envoy_config;
pub(crate) mod run;
