//! The NOS CodeSystem loader (`directory::nomenclature::parse_code_system`, also run on files
//! given to `atomes directory nomenclatures`): codes or an error naming line and column, never a
//! panic (nested `concept`s recurse: serde_json's depth limit bounds it); retirement only grows
//! with the date.
#![no_main]

use atomes::directory::nomenclature::parse_code_system;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else { return };
    match parse_code_system(json, "2026-01-01") {
        Ok(codes) => {
            let later = parse_code_system(json, "9999-12-31").expect("the date changed the outcome");
            assert_eq!(codes.len(), later.len());
            for (now, then) in codes.iter().zip(&later) {
                assert_eq!((&now.system, &now.code, &now.label), (&then.system, &then.code, &then.label));
                assert!(!now.retired || then.retired, "retired in 2026 but not in 9999: {now:?}");
                assert_eq!(now.system, codes[0].system, "one system per file");
            }
        }
        Err(message) => {
            assert!(!message.trim().is_empty());
            assert!(parse_code_system(json, "9999-12-31").is_err(), "the date changed the outcome");
        }
    }
});
