//! The phone normaliser (`accounts::profile::normalise_phone`): its output normalises to itself
//! and is either the French display form `0X XX XX XX XX` or `+` and 9 to 15 digits.
#![no_main]

use atomes::accounts::profile::normalise_phone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let Some(phone) = normalise_phone(&raw) else { return };
    assert_eq!(normalise_phone(&phone).as_deref(), Some(phone.as_str()), "not a fixed point: {raw:?}");
    match phone.strip_prefix('+') {
        Some(digits) => {
            assert!((9..=15).contains(&digits.len()), "{phone:?}");
            assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{phone:?}");
            assert!(!digits.starts_with("33"), "a French number kept international: {phone:?}");
        }
        None => {
            let b = phone.as_bytes();
            assert_eq!(b.len(), 14, "{phone:?}");
            assert!(b[0] == b'0' && (b'1'..=b'9').contains(&b[1]), "{phone:?}");
            for (i, c) in b.iter().enumerate() {
                assert!(if i % 3 == 2 { *c == b' ' } else { c.is_ascii_digit() }, "{phone:?}");
            }
        }
    }
});
