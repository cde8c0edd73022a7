//! The FHIR R4 import parser (`directory::fhir`, Bundle, NDJSON or a lone resource): an import or
//! a precise error, never a panic; rejected NDJSON lines name their line, rejected Bundle entries
//! their JSON path.
#![no_main]

use atomes::directory::fhir::{self, FhirError, SourceFormat};
use atomes::directory::finess::RecordPosition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The crate's own invariants (FHIR ids, age ranges, WGS84 ranges, INSEE codes, FINESS numbers).
    fhir::fuzz_parse(data);
    match fhir::parse(data) {
        Ok(import) => {
            let lines = data.split(|b| *b == b'\n').count() as u64;
            for r in &import.rejected {
                assert!(!r.reason.trim().is_empty(), "{r:?}");
                match (&import.format, &r.position) {
                    (SourceFormat::Ndjson, RecordPosition::Line(n)) => assert!((1..=lines).contains(n), "{r}"),
                    (SourceFormat::Ndjson, _) => panic!("an NDJSON record is rejected without its line: {r}"),
                    (_, RecordPosition::JsonPath(p)) => assert!(!p.is_empty(), "{r}"),
                    (_, RecordPosition::Line(_)) => panic!("a JSON record is rejected without its path: {r}"),
                }
            }
        }
        Err(err) => {
            let message = err.to_string();
            assert!(!message.trim().is_empty());
            if let FhirError::Syntax { line, .. } = err {
                assert!(line >= 1, "{message}");
            }
        }
    }
});
