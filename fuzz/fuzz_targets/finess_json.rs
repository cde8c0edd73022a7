//! The FINESS+ structures JSON parser (`directory::finess_json`): an import or a precise error,
//! never a panic; every rejected record names its JSON path; the streaming reader and the
//! in-memory parser agree.
#![no_main]

use atomes::directory::finess::RecordPosition;
use atomes::directory::finess_json::{self, FinessJsonError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let from_slice = finess_json::parse_slice(data);
    let from_reader = finess_json::parse_reader(data);
    match (&from_slice, &from_reader) {
        (Ok(a), Ok(b)) => {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "slice and reader disagree");
            for e in &a.establishments {
                assert_eq!(e.finess_et.len(), 9, "{}", e.finess_et);
                assert!(e.finess_et.bytes().all(|b| b.is_ascii_alphanumeric()), "{}", e.finess_et);
                if let Some(g) = &e.geolocation {
                    assert!(g.lat.abs() <= 90.0 && g.lon.abs() <= 180.0, "{} {}", g.lat, g.lon);
                }
            }
            for r in &a.rejected {
                let RecordPosition::JsonPath(path) = &r.position else {
                    panic!("a JSON record is rejected without its path: {r}");
                };
                assert!(!path.is_empty() && !r.reason.trim().is_empty(), "{r:?}");
            }
        }
        (Err(a), Err(b)) => {
            assert!(!matches!(a, FinessJsonError::Io(_)), "I/O error from memory: {a}");
            assert!(!matches!(b, FinessJsonError::Io(_)), "I/O error from a slice reader: {b}");
            let message = a.to_string();
            assert!(!message.trim().is_empty());
            if let FinessJsonError::Syntax { line, .. } = a {
                assert!(*line >= 1, "{message}");
            }
            assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "{a} / {b}");
        }
        (a, b) => panic!("slice and reader disagree: {a:?} / {b:?}"),
    }
});
