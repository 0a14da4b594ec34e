//! Security by default: the configurations that would hand secrets or
//! control to the network by accident, refused at start and on every
//! reload. On a reload the listeners stay where they were bound, so a file
//! that drops the admin token or the provisioning credentials would open
//! the running listeners; it is refused like an invalid file.

use std::net::SocketAddr;

use crate::config::{Config, Secret};

/// What would be exposed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExposureError {
    #[error(
        "the admin API listens on {listen} (not loopback) but no [admin] token or OPENDPMA_ADMIN_TOKEN is set"
    )]
    AdminWithoutToken { listen: SocketAddr },
    #[error(
        "provisioning listens on {listen} without [http] username/password; phone configs hold SIP \
         passwords. Set credentials, or allow_unauthenticated = true to accept the risk"
    )]
    ProvisioningWithoutCredentials { listen: SocketAddr },
    #[error(
        "[sip] require_auth = false on a non-loopback listener lets anyone set any line's presence. \
         Turn auth on, or set [sip] allow_unauthenticated = true to accept the risk"
    )]
    SipWithoutAuth,
}

/// `OPENDPMA_ADMIN_TOKEN`, which wins over the config's token. Read once
/// at start: the running process keeps the environment it was given.
pub fn env_admin_token() -> Option<Secret> {
    std::env::var("OPENDPMA_ADMIN_TOKEN")
        .ok()
        .filter(|token| !token.is_empty())
        .map(Secret::new)
}

/// Refuses `config` if it exposes a listener; warns about the risks the
/// file accepts explicitly (`allow_unauthenticated`) or that stay local.
/// `env_token`: whether `OPENDPMA_ADMIN_TOKEN` is set.
pub fn check_exposure(config: &Config, env_token: bool) -> Result<(), ExposureError> {
    let admin = &config.admin;
    if !admin.listen.ip().is_loopback() && admin.token.is_none() && !env_token {
        return Err(ExposureError::AdminWithoutToken { listen: admin.listen });
    }
    let http = &config.http;
    if !http.listen.ip().is_loopback() && http.username.is_none() {
        if !http.allow_unauthenticated {
            return Err(ExposureError::ProvisioningWithoutCredentials { listen: http.listen });
        }
        tracing::warn!(listen = %http.listen, "provisioning is served WITHOUT authentication (allow_unauthenticated = true)");
    }
    let public_sip = config
        .sip
        .listen
        .iter()
        .any(|listen| !listen.address.ip().is_loopback());
    if !config.sip.require_auth && public_sip {
        if !config.sip.allow_unauthenticated {
            return Err(ExposureError::SipWithoutAuth);
        }
        tracing::warn!(
            "SIP presence runs WITHOUT authentication on a public listener (allow_unauthenticated = true)"
        );
    }
    if admin.token.is_none() && !env_token {
        tracing::warn!("the admin API has no token; anyone on this machine can use it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra_http: &str, admin: &str, sip: &str) -> Config {
        let text = format!(
            "[general]\nserver_address = \"127.0.0.1\"\n\n[http]\nlisten = \"0.0.0.0:8088\"\n{extra_http}\n\n\
             [sip]\nlisten = [\"udp:{sip}:5060\"]\nrequire_auth = false\n\n[admin]\nlisten = \"{admin}:8089\"\n"
        );
        Config::parse(&text, std::path::Path::new("phones.toml")).expect("valid config")
    }

    #[test]
    fn each_exposure_is_refused_with_its_own_variant() {
        let open_admin = config("username = \"p\"\npassword = \"pw\"", "0.0.0.0", "127.0.0.1");
        assert_eq!(
            check_exposure(&open_admin, false),
            Err(ExposureError::AdminWithoutToken {
                listen: "0.0.0.0:8089".parse().expect("address")
            })
        );
        assert_eq!(check_exposure(&open_admin, true), Ok(()));
        let open_http = config("", "127.0.0.1", "127.0.0.1");
        assert_eq!(
            check_exposure(&open_http, false),
            Err(ExposureError::ProvisioningWithoutCredentials {
                listen: "0.0.0.0:8088".parse().expect("address")
            })
        );
        let accepted = config("allow_unauthenticated = true", "127.0.0.1", "127.0.0.1");
        assert_eq!(check_exposure(&accepted, false), Ok(()));
        let open_sip = config("username = \"p\"\npassword = \"pw\"", "127.0.0.1", "0.0.0.0");
        assert_eq!(
            check_exposure(&open_sip, false),
            Err(ExposureError::SipWithoutAuth)
        );
    }
}
