//! Profile validation (`accounts::profile::validate`, registration and "Mon compte"): the input is
//! the seven fields, one per line. A valid profile is clean (trimmed, single spaces, no control
//! characters, within its limits) and validates again to itself; a refusal names each faulty
//! field once, with a message.
#![no_main]

use atomes::accounts::profile::{ProfileInput, normalise_phone, validate};
use libfuzzer_sys::fuzz_target;

const FIELDS: [&str; 7] = ["civility", "given_name", "family_name", "profession", "rpps", "structure", "phone"];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut f = text.split('\n').map(str::to_owned);
    let mut next = || f.next().unwrap_or_default();
    let input = ProfileInput {
        civility: next(),
        given_name: next(),
        family_name: next(),
        profession: next(),
        rpps: next(),
        structure: next(),
        phone: next(),
    };
    match validate(&input) {
        Ok(p) => {
            for (value, max) in [(&p.given_name, 100), (&p.family_name, 100), (&p.structure, 200)] {
                assert!(!value.is_empty() && value.chars().count() <= max, "{value:?}");
                assert_eq!(value.split_whitespace().collect::<Vec<_>>().join(" "), *value, "not cleaned: {value:?}");
                assert!(!value.chars().any(char::is_control), "{value:?}");
            }
            assert_eq!(normalise_phone(&p.phone).as_deref(), Some(p.phone.as_str()), "{:?}", p.phone);
            if let Some(rpps) = &p.rpps {
                assert!(rpps.len() == 11 && rpps.bytes().all(|b| b.is_ascii_digit()), "{rpps:?}");
            }
            let again = ProfileInput {
                civility: p.civility.clone().unwrap_or_default(),
                given_name: p.given_name.clone(),
                family_name: p.family_name.clone(),
                profession: p.profession.clone(),
                rpps: p.rpps.clone().unwrap_or_default(),
                structure: p.structure.clone(),
                phone: p.phone.clone(),
            };
            assert_eq!(validate(&again), Ok(p), "a valid profile does not validate to itself");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for (i, (field, message)) in errors.iter().enumerate() {
                assert!(FIELDS.contains(field), "unknown field {field}");
                assert!(!message.trim().is_empty(), "{field} without a message");
                assert!(!errors[..i].iter().any(|(f, _)| f == field), "{field} reported twice: {errors:?}");
            }
        }
    }
});
