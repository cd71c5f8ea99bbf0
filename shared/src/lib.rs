//! The JWT authentication service: domain, storage and the HTTP / Lambda edge.
//!
//! Data flows one way: `lambda` (or the local API) turns an event into an [`http::ApiRequest`],
//! `http` parses it and calls a use case in `service`, which works on `domain` values over a
//! [`store::Store`]. The authorizer goes `authorizer` → `tokens::TokenVerifier` → decision.

pub mod authorizer;
pub mod config;
pub mod domain;
pub mod email;
pub mod error;
pub mod events;
pub mod federation;
pub mod gateway;
pub mod http;
pub mod lambda;
pub mod legacy;
pub mod metrics;
pub mod migration;
pub mod passkeys;
pub mod password_policy;
pub mod routes;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod transport;
