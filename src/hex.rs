//! Lower-case hexadecimal, as digest responses (RFC 7616 §3.4.1), ETags,
//! tokens and MD5 sums are written. One table lookup per nibble: the
//! `format!("{b:02x}")` per byte it replaces cost two allocations a byte,
//! and digest checks hex three hashes per authenticated request.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lower-case hex, two digits a byte.
pub fn lower(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    push_lower(&mut text, bytes);
    text
}

/// Appends `bytes` as lower-case hex to `text` (no string of its own).
pub fn push_lower(text: &mut String, bytes: &[u8]) {
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_lower_case_digits_per_byte() {
        assert_eq!(lower(&[]), "");
        assert_eq!(lower(&[0x00, 0x0f, 0xa0, 0xff, 0x3c]), "000fa0ff3c");
        let every: Vec<u8> = (0..=255).collect();
        let expected: String = every.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(lower(&every), expected);
    }

    #[test]
    fn a_big_endian_u64_gives_the_digits_of_format() {
        for value in [0u64, 1, 0xabc, 0x0123_4567_89ab_cdef, u64::MAX] {
            let mut text = String::new();
            push_lower(&mut text, &value.to_be_bytes());
            assert_eq!(text, format!("{value:016x}"));
        }
    }
}
