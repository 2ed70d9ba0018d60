//! The builder token check.

/// Equality whose running time does not depend on where the inputs differ
/// (only on the length of `given`), so the token cannot be guessed byte by byte.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff: u8 = (given.len() != expected.len()) as u8;
    if expected.is_empty() {
        return false;
    }
    for (i, g) in given.iter().enumerate() {
        diff |= g ^ expected[i % expected.len()];
    }
    diff == 0
}

/// Whether an `Authorization` header value carries the builder token.
/// Always false when the server has no token configured.
pub fn bearer_ok(authorization: Option<&str>, token: Option<&str>) -> bool {
    let (Some(header), Some(token)) = (authorization, token) else {
        return false;
    };
    if token.is_empty() {
        return false;
    }
    let Some((scheme, given)) = header.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret1", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(!constant_time_eq(b"", b""));
        // A repetition of the token is not the token.
        assert!(!constant_time_eq(b"abab", b"ab"));
    }

    #[test]
    fn bearer_header() {
        assert!(bearer_ok(Some("Bearer secret"), Some("secret")));
        assert!(bearer_ok(Some("bearer secret"), Some("secret")));
        assert!(!bearer_ok(Some("Bearer wrong"), Some("secret")));
        assert!(!bearer_ok(Some("Basic secret"), Some("secret")));
        assert!(!bearer_ok(Some("secret"), Some("secret")));
        assert!(!bearer_ok(None, Some("secret")));
        assert!(!bearer_ok(Some("Bearer "), Some("")));
        assert!(!bearer_ok(Some("Bearer x"), None));
    }
}
