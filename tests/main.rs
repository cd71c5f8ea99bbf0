//! The end-to-end tests, one module per concern, in one binary.

mod admin;
mod amr;
mod cookies;
mod credential_events;
mod custom_claims;
mod devices;
mod documented_behaviour;
mod dynamo_calls;
mod flow;
mod hardening;
mod lifecycle_events;
mod mfa;
mod mutation_kills;
mod openapi_routes;
mod outage;
mod passwordless;
mod races;
mod recovery;
mod rest_authorizer;
mod samples;
mod ses;
mod sessions;
mod signing_key;
mod standards;
mod store_contract;
mod template;
