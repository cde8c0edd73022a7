//! The FINESS etalab CSV parser (`directory::finess_csv`): any bytes give an import or a
//! precise error, never a panic; every rejected record names its line; reading through a
//! one-byte buffer gives the same result as reading from memory.
#![no_main]

use std::io::BufReader;

use atomes::directory::finess::RecordPosition;
use atomes::directory::finess_csv::{self, FinessCsvError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The crate's own invariants (valid FINESS numbers, INSEE codes, WGS84 ranges).
    finess_csv::fuzz_parse(data);
    let physical_lines = data.split(|b| *b == b'\n').count() as u64;
    match finess_csv::parse_bytes(data) {
        Ok(import) => {
            assert!(import.lines >= 1 && import.lines <= physical_lines, "{} lines of {physical_lines}", import.lines);
            let mut previous = 0;
            for r in &import.rejected {
                let RecordPosition::Line(line) = r.position else {
                    panic!("a CSV record is rejected without its line: {r}");
                };
                assert!((2..=import.lines).contains(&line), "line {line} of {}: {r}", import.lines);
                assert!(line >= previous, "rejections out of line order: {line} after {previous}");
                previous = line;
                assert!(!r.reason.trim().is_empty(), "rejection without a reason: {r:?}");
                assert!(r.to_string().starts_with(&format!("line {line}")), "{r}");
            }
            let streamed = finess_csv::parse_reader(BufReader::with_capacity(1, data)).expect("streamed read differs");
            assert!(same_csv(&import, &streamed), "streamed read differs");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.starts_with("line "), "error without its line: {message}");
            assert!(!matches!(err, FinessCsvError::Io(_)), "I/O error from memory: {message}");
            let streamed =
                finess_csv::parse_reader(BufReader::with_capacity(1, data)).expect_err("streamed read differs");
            assert_eq!(streamed.to_string(), message);
        }
    }
});

/// Equality that treats NaN coordinates as equal (they are rejected anyway).
fn same_csv(a: &finess_csv::FinessCsvImport, b: &finess_csv::FinessCsvImport) -> bool {
    format!("{a:?}") == format!("{b:?}")
}
