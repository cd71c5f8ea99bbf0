//! How a sign-in proved who it was: a set of authentication methods (RFC 8176), from which every
//! token's `amr` is derived. A sign-in method adds its own; nothing else decides `amr`.

/// One method, as RFC 8176 names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A password (`pwd`).
    Password,
    /// A one-time code: TOTP or a recovery code (`otp`).
    OneTimeCode,
    /// Another provider's sign-in (`fed`, as Microsoft Entra names a federated one; RFC 8176
    /// registers no value for it). The token's `idp` claim names the provider.
    Federated,
    /// A key held in hardware, not exportable (`hwk`): a device-bound passkey.
    HardwareKey,
    /// A key held in software (`swk`): a synced passkey, which lives on more than one device.
    SoftwareKey,
    /// The authenticator verified its user (`user`: RFC 8176's user presence test, as the
    /// WebAuthn relying parties that report it name user verification).
    UserVerified,
}

impl AuthMethod {
    /// In the order `amr` lists them.
    const ALL: [AuthMethod; 6] = [
        AuthMethod::Password,
        AuthMethod::Federated,
        AuthMethod::HardwareKey,
        AuthMethod::SoftwareKey,
        AuthMethod::UserVerified,
        AuthMethod::OneTimeCode,
    ];

    pub fn amr(self) -> &'static str {
        match self {
            AuthMethod::Password => "pwd",
            AuthMethod::OneTimeCode => "otp",
            AuthMethod::Federated => "fed",
            AuthMethod::HardwareKey => "hwk",
            AuthMethod::SoftwareKey => "swk",
            AuthMethod::UserVerified => "user",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The methods a session's sign-in used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthMethods(u8);

impl AuthMethods {
    /// A password alone.
    pub fn password() -> Self {
        Self::default().with(AuthMethod::Password)
    }

    /// Another provider's sign-in alone.
    pub fn federated() -> Self {
        Self::default().with(AuthMethod::Federated)
    }

    /// A passkey with user verification: the key (held in hardware unless it syncs) and the
    /// PIN or biometric that unlocked it, two factors.
    pub fn passkey(synced: bool) -> Self {
        Self::default().with_passkey(synced)
    }

    /// These methods and a passkey's (a login's second step with a passkey).
    pub fn with_passkey(self, synced: bool) -> Self {
        let key = if synced { AuthMethod::SoftwareKey } else { AuthMethod::HardwareKey };
        self.with(key).with(AuthMethod::UserVerified)
    }

    /// A password and a one-time code: a login's second step.
    pub fn password_and_code() -> Self {
        Self::password().with(AuthMethod::OneTimeCode)
    }

    pub fn with(self, method: AuthMethod) -> Self {
        Self(self.0 | method.bit())
    }

    pub fn contains(self, method: AuthMethod) -> bool {
        self.0 & method.bit() != 0
    }

    /// Whether more than one factor was proved.
    pub fn multi_factor(self) -> bool {
        self.0.count_ones() > 1
    }

    /// The `amr` claim: RFC 8176 values, in a fixed order.
    pub fn amr(self) -> Vec<String> {
        AuthMethod::ALL.iter().filter(|method| self.contains(**method)).map(|method| method.amr().to_owned()).collect()
    }

    /// The set an `amr` names; values this service never issues are ignored.
    pub fn from_amr<S: AsRef<str>>(values: &[S]) -> Self {
        AuthMethod::ALL
            .iter()
            .filter(|method| values.iter().any(|value| value.as_ref() == method.amr()))
            .fold(Self::default(), |methods, method| methods.with(*method))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_lists_each_method_once_in_order_and_reads_back() {
        assert_eq!(AuthMethods::password().amr(), ["pwd"]);
        assert_eq!(AuthMethods::password_and_code().amr(), ["pwd", "otp"]);
        assert!(!AuthMethods::password().multi_factor() && AuthMethods::password_and_code().multi_factor());
        assert_eq!(AuthMethods::from_amr(&["otp", "pwd", "otp", "mfa"]), AuthMethods::password_and_code());
        assert_eq!(AuthMethods::from_amr::<&str>(&[]), AuthMethods::default());
        let federated_mfa = AuthMethods::federated().with(AuthMethod::OneTimeCode);
        assert_eq!(federated_mfa.amr(), ["fed", "otp"]);
        assert_eq!(AuthMethods::from_amr(&federated_mfa.amr()), federated_mfa);
        assert_eq!(AuthMethods::passkey(false).amr(), ["hwk", "user"]);
        assert_eq!(AuthMethods::passkey(true).amr(), ["swk", "user"]);
        assert!(AuthMethods::passkey(false).multi_factor());
        assert_eq!(AuthMethods::password().with_passkey(true).amr(), ["pwd", "swk", "user"]);
        assert_eq!(AuthMethods::from_amr(&["user", "hwk"]), AuthMethods::passkey(false));
    }
}
