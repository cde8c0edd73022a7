//! PostgreSQL bulk loads with `COPY … FROM STDIN` in the binary format: one statement streams
//! any number of rows, where a multi-row `INSERT` is parsed, planned and bound again for every
//! few hundred rows. Used by the directory import (a million FINESS rows in one transaction).
//!
//! The binary format carries each value as the server's own representation (no text escaping
//! to get wrong: `;`, tabs, backslashes, newlines and quotes travel as they are). Dates and
//! timestamps are encoded exactly as Diesel encodes them for a bound parameter.

use std::io::{self, Write};

use chrono::{NaiveDate, NaiveDateTime};

/// `PGCOPY\n\377\r\n\0`, then the flags field and the header extension length (both zero).
const HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows are handed to the connection by chunks of about this size.
const CHUNK: usize = 256 * 1024;

fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("valid date")
}

fn pg_epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_owned())
}

/// A writer of rows in the binary `COPY` format. Call [`BinaryRows::row`] before the fields of
/// each row, write exactly `fields` fields per row in the order of the statement's column list,
/// then [`BinaryRows::finish`].
pub struct BinaryRows<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    fields: i16,
}

impl<'w> BinaryRows<'w> {
    /// Starts the stream (writes the header) for rows of `fields` columns.
    pub fn new(out: &'w mut dyn Write, fields: i16) -> Self {
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        buf.extend_from_slice(HEADER);
        Self { out, buf, fields }
    }

    /// Starts a row.
    pub fn row(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.buf.extend_from_slice(&self.fields.to_be_bytes());
        Ok(())
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn value(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = i32::try_from(bytes.len()).map_err(|_| invalid("value longer than 2 GiB"))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// A `bigint`.
    pub fn int8(&mut self, v: i64) -> io::Result<()> {
        self.value(&v.to_be_bytes())
    }

    /// A `text`, or NULL.
    pub fn text(&mut self, v: Option<&str>) -> io::Result<()> {
        match v {
            Some(s) => self.value(s.as_bytes()),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    /// A `double precision`, or NULL (the exact bits: no decimal round trip).
    pub fn float8(&mut self, v: Option<f64>) -> io::Result<()> {
        match v {
            Some(x) => self.value(&x.to_bits().to_be_bytes()),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    /// A `date`, or NULL: days since 2000-01-01.
    pub fn date(&mut self, v: Option<NaiveDate>) -> io::Result<()> {
        match v {
            Some(d) => {
                let days = i32::try_from(d.signed_duration_since(pg_epoch_date()).num_days())
                    .map_err(|_| invalid("date out of range"))?;
                self.value(&days.to_be_bytes())
            }
            None => {
                self.null();
                Ok(())
            }
        }
    }

    /// A `timestamp` (without time zone): microseconds since 2000-01-01 00:00:00.
    pub fn timestamp(&mut self, v: NaiveDateTime) -> io::Result<()> {
        let micros =
            v.signed_duration_since(pg_epoch()).num_microseconds().ok_or_else(|| invalid("timestamp out of range"))?;
        self.value(&micros.to_be_bytes())
    }

    /// Ends the stream (writes the trailer and what is left).
    pub fn finish(mut self) -> io::Result<()> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.out.write_all(&self.buf)
    }
}

/// Turns an error of the row writer into Diesel's (the `COPY` is then cancelled and the
/// transaction fails).
pub fn io_error(e: io::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_header_rows_nulls_and_trailer() {
        let mut out = Vec::new();
        let mut rows = BinaryRows::new(&mut out, 3);
        rows.row().unwrap();
        rows.int8(7).unwrap();
        rows.text(Some("a;\tb\\\n\"é")).unwrap();
        rows.text(None).unwrap();
        rows.finish().unwrap();
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&7i64.to_be_bytes());
        let s = "a;\tb\\\n\"é".as_bytes();
        expected.extend_from_slice(&(s.len() as i32).to_be_bytes());
        expected.extend_from_slice(s);
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(out, expected);
    }

    #[test]
    fn dates_and_timestamps_count_from_2000() {
        let mut out = Vec::new();
        let mut rows = BinaryRows::new(&mut out, 2);
        rows.row().unwrap();
        rows.date(NaiveDate::from_ymd_opt(1999, 12, 31)).unwrap();
        let t = NaiveDate::from_ymd_opt(2000, 1, 2).unwrap().and_hms_micro_opt(0, 0, 1, 5).unwrap();
        rows.timestamp(t).unwrap();
        rows.finish().unwrap();
        let body = &out[HEADER.len() + 2..];
        assert_eq!(&body[..4], &4i32.to_be_bytes());
        assert_eq!(&body[4..8], &(-1i32).to_be_bytes());
        assert_eq!(&body[8..12], &8i32.to_be_bytes());
        assert_eq!(&body[12..20], &(86_400_000_000i64 + 1_000_005).to_be_bytes());
    }

    #[test]
    fn large_streams_are_written_in_chunks_and_whole() {
        let mut out = Vec::new();
        let mut rows = BinaryRows::new(&mut out, 1);
        for i in 0..100_000 {
            rows.row().unwrap();
            rows.int8(i).unwrap();
        }
        rows.finish().unwrap();
        assert_eq!(out.len(), HEADER.len() + 100_000 * (2 + 4 + 8) + 2);
        let last = [0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0x01, 0x86, 0x9f, 0xff, 0xff];
        assert_eq!(&out[out.len() - 16..], &last[..]);
    }
}
