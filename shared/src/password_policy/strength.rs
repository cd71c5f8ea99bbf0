//! zxcvbn's estimate of how hard a password is to guess (Dropbox's model, the `zxcvbn` crate),
//! with the address's parts as words an attacker would try first.

/// zxcvbn's cost grows faster than the length; a passphrase this long is strong by any score.
const MAX_ASSESSED_CHARS: usize = 100;

pub struct Strength {
    /// 0 (too guessable) to 4 (very unguessable).
    pub score: u8,
    /// zxcvbn's warning and suggestions, as a sentence fragment (`": …"`), or empty.
    pub advice: String,
}

pub fn assess(password: &str, email: &str) -> Strength {
    let assessed: String = password.chars().take(MAX_ASSESSED_CHARS).collect();
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let mut inputs: Vec<&str> = vec![email, local];
    inputs.extend(local.split(['.', '_', '-', '+']).filter(|part| part.len() >= 3));
    inputs.extend(domain.split('.').filter(|part| part.len() >= 3));
    let entropy = zxcvbn::zxcvbn(&assessed, &inputs);
    let mut advice: Vec<String> = Vec::new();
    if let Some(feedback) = entropy.feedback() {
        advice.extend(feedback.warning().map(|warning| warning.to_string()));
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    let advice = if advice.is_empty() { String::new() } else { format!(": {}", advice.join(" ")) };
    Strength { score: u8::from(entropy.score()), advice }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_personal_passwords_score_low_and_passphrases_high() {
        assert_eq!(assess("password1", "ada@example.com").score, 0);
        let personal = assess("adalovelace1815", "ada.lovelace@example.com");
        let stranger = assess("adalovelace1815", "bob@example.com");
        assert!(
            personal.score < stranger.score,
            "the address's parts are guessed first: {} vs {}",
            personal.score,
            stranger.score
        );
        assert_eq!(assess("correct horse battery staple violin", "ada@example.com").score, 4);
        // Made-up words, in no dictionary: guessable only as the parts of the owner's address.
        let theirs = assess("quimbyzorblax", "zorblax.quimby@example.com").score;
        let anyone = assess("quimbyzorblax", "bob@example.com").score;
        assert!(theirs < anyone, "the local part's pieces are guesses: {theirs} vs {anyone}");
        assert!(
            assess("examplezorblax7", "x@zorblax.example.com").score < assess("examplezorblax7", "x@bob.com").score
        );
        let weak = assess("qwertyuiop", "ada@example.com");
        assert!(weak.score <= 1 && !weak.advice.is_empty(), "zxcvbn says why: {:?}", weak.advice);
    }

    #[test]
    fn a_very_long_password_is_assessed_on_its_first_hundred_characters() {
        let tail = "Xq7#mZ2!vR9@kL4$wT6%";
        assert_eq!(assess(&format!("{}{tail}", "a".repeat(80)), "ada@example.com").score, 4, "the tail ends at 100");
        assert!(assess(&format!("{}{tail}", "a".repeat(100)), "ada@example.com").score < 4, "past 100, nothing does");
    }
}
