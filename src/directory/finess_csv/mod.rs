//! Streaming parser of the etalab FINESS CSV extract (DOMAIN.md §3.1).
//!
//! Layout: no header row; line 1 is `finess;etalab;<n>;<YYYY-MM-DD>`; then `structureet` lines
//! (32 fields) and `geolocalisation` lines (6 fields), joined on the FINESS ET number. Separator
//! `;`, quotes doubled inside quoted fields, Windows-1252 or UTF-8 text.
//!
//! The input is read one physical line at a time; establishments are kept until the end of the
//! file for the join (memory grows with the number of records, not with the file size).
//! A problem in one record rejects that record only (see [`Rejected`]); a problem with the whole
//! file is a [`FinessCsvError`]. No input makes the parser panic.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::NaiveDate;
use encoding_rs::WINDOWS_1252;
use serde::Serialize;

use super::finess::{
    Address, Coded, FieldError, FinessEstablishment, Geolocation, RecordPosition, RecordStatus, Rejected, check_finess,
    check_siret, clean, insee_from_finess, normalize_ape, optional_date, parse_date, parse_decimal, quoted, reproject,
    split_routing_line,
};
use super::geo::{self, GeoError};

/// Column names of a `structureet` line, 0-based (DOMAIN.md §3.1).
pub const STRUCTUREET_COLUMNS: [&str; 32] = [
    "section",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "maj",
    "numuai",
];

/// Column names of a `geolocalisation` line, 0-based (DOMAIN.md §3.1).
pub const GEOLOCALISATION_COLUMNS: [&str; 6] =
    ["section", "nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj"];

/// Section tags that start a record; a line starting with one never continues a quoted field.
const SECTION_TAGS: [&str; 2] = ["structureet;", "geolocalisation;"];

/// Text encoding detected for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SourceEncoding {
    /// Only ASCII bytes were seen (UTF-8 and Windows-1252 read the same).
    Ascii,
    /// The first line with non-ASCII bytes was valid UTF-8.
    Utf8,
    /// The first line with non-ASCII bytes was not valid UTF-8.
    Windows1252,
}

/// The metadata first line `finess;etalab;<n>;<YYYY-MM-DD>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHeader {
    /// The `<n>` field (its meaning is undocumented: 111 was seen in a 103,023-line file).
    pub number: u32,
    /// The extract date.
    pub date: NaiveDate,
}

/// Everything read from one extract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinessCsvImport {
    /// The metadata first line.
    pub header: FileHeader,
    /// The detected text encoding.
    pub encoding: SourceEncoding,
    /// Valid establishments in file order, with their geolocation when one was valid.
    pub establishments: Vec<FinessEstablishment>,
    /// Records left out, in line order.
    pub rejected: Vec<Rejected>,
    /// Number of physical lines read.
    pub lines: u64,
}

/// A problem with the file as a whole.
#[derive(Debug, thiserror::Error)]
pub enum FinessCsvError {
    /// The input does not start with the FINESS metadata line.
    #[error("line 1: not a FINESS etalab extract: {0}")]
    NotFinessFile(String),
    /// The bytes are neither UTF-8 nor Windows-1252 text (UTF-16, binary).
    #[error("line {line}: unknown text encoding: {reason}")]
    UnknownEncoding {
        /// Physical line where this was seen.
        line: u64,
        /// What was seen.
        reason: String,
    },
    /// The metadata line has a bad field.
    #[error("line 1, field {field}: {reason}")]
    Header {
        /// Name of the metadata field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A quoted field is still open when the input ends (truncated file).
    #[error("line {line}, field {field}: quoted field still open at end of file")]
    TruncatedQuote {
        /// Line where the unfinished record starts.
        line: u64,
        /// Name of the open field.
        field: String,
    },
    /// The reader failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
}

/// Parses a whole extract from bytes in memory.
pub fn parse_bytes(bytes: &[u8]) -> Result<FinessCsvImport, FinessCsvError> {
    parse_reader(bytes)
}

/// Parses an extract from a buffered reader, one line at a time.
pub fn parse_reader<R: BufRead>(reader: R) -> Result<FinessCsvImport, FinessCsvError> {
    let mut records = RecordReader::new(reader);
    let header = records.read_header()?;
    let mut join = Join::default();
    loop {
        match records.next_record()? {
            Next::End => break,
            Next::Rejected(rejected) => join.rejected.push(rejected),
            Next::Record(record) => join.add(&record),
        }
    }
    let (establishments, rejected) = join.finish();
    Ok(FinessCsvImport {
        header,
        encoding: records.lines.encoding,
        establishments,
        rejected,
        lines: records.lines.line_no,
    })
}

/// Fuzzing entry point: parses arbitrary bytes and checks the output's invariants.
pub fn fuzz_parse(bytes: &[u8]) {
    let import = match (parse_bytes(bytes), parse_two_pass(bytes)) {
        (Ok(import), Ok(two_pass)) => {
            assert!(import == two_pass, "the two-pass reading differs");
            import
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "the two-pass reading fails differently");
            return;
        }
        (a, b) => panic!("the two-pass reading differs: {:?} / {:?}", a.is_ok(), b.is_ok()),
    };
    for e in &import.establishments {
        assert!(check_finess("nofinesset", &e.finess_et).is_ok(), "{}", e.finess_et);
        assert_eq!(e.address.insee_code.len(), 5, "{}", e.address.insee_code);
        if let Some(g) = &e.geolocation {
            assert!(g.lat.abs() <= 90.0 && g.lon.abs() <= 180.0, "{} {}", g.lat, g.lon);
        }
    }
    for r in &import.rejected {
        assert!(!r.to_string().is_empty());
    }
}

/// One decoded physical line, or why it could not be decoded.
enum Line {
    Text(String),
    Undecodable(String),
}

/// Reads physical lines and decodes them with the encoding the first non-ASCII line reveals.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_no: u64,
    encoding: SourceEncoding,
    decided_at: u64,
}

impl<R: BufRead> LineReader<R> {
    fn new(inner: R) -> Self {
        LineReader { inner, buf: Vec::new(), line_no: 0, encoding: SourceEncoding::Ascii, decided_at: 0 }
    }

    /// Next physical line without its `\n` / `\r\n`, or `None` at the end of input.
    fn next_line(&mut self) -> Result<Option<(u64, Line)>, FinessCsvError> {
        self.buf.clear();
        if self.inner.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if self.buf.ends_with(b"\n") {
            self.buf.pop();
        }
        if self.buf.ends_with(b"\r") {
            self.buf.pop();
        }
        let bytes = std::mem::take(&mut self.buf);
        let line = self.decode(self.line_no, &bytes)?;
        self.buf = bytes;
        Ok(Some((self.line_no, line)))
    }

    fn decode(&mut self, line_no: u64, bytes: &[u8]) -> Result<Line, FinessCsvError> {
        let mut bytes = bytes;
        if line_no == 1 {
            bytes = self.strip_bom(bytes)?;
        }
        if bytes.contains(&0) {
            let reason = "NUL byte (UTF-16 or binary data)".to_owned();
            return if line_no == 1 {
                Err(FinessCsvError::UnknownEncoding { line: 1, reason })
            } else {
                Ok(Line::Undecodable(reason))
            };
        }
        if bytes.is_ascii() {
            return Ok(Line::Text(String::from_utf8_lossy(bytes).into_owned()));
        }
        Ok(self.decode_non_ascii(line_no, bytes))
    }

    /// Refuses UTF-16 byte-order marks; strips a UTF-8 one, which settles the encoding.
    fn strip_bom<'b>(&mut self, bytes: &'b [u8]) -> Result<&'b [u8], FinessCsvError> {
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            let reason = "UTF-16 byte-order mark".to_owned();
            return Err(FinessCsvError::UnknownEncoding { line: 1, reason });
        }
        match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            Some(rest) => {
                (self.encoding, self.decided_at) = (SourceEncoding::Utf8, 1);
                Ok(rest)
            }
            None => Ok(bytes),
        }
    }

    fn decode_non_ascii(&mut self, line_no: u64, bytes: &[u8]) -> Line {
        let utf8 = std::str::from_utf8(bytes);
        if self.encoding == SourceEncoding::Ascii {
            self.encoding = if utf8.is_ok() { SourceEncoding::Utf8 } else { SourceEncoding::Windows1252 };
            self.decided_at = line_no;
        }
        let decided_at = self.decided_at;
        match (self.encoding, utf8) {
            (SourceEncoding::Windows1252, Err(_)) => {
                Line::Text(WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned())
            }
            (SourceEncoding::Windows1252, Ok(_)) => Line::Undecodable(format!(
                "line is UTF-8 but line {decided_at} showed the file is Windows-1252 \
                 (mixed encodings)"
            )),
            (_, Ok(text)) => Line::Text(text.to_owned()),
            (_, Err(e)) => Line::Undecodable(format!(
                "invalid UTF-8 at byte {} although line {decided_at} showed the file is UTF-8",
                e.valid_up_to() + 1
            )),
        }
    }
}

/// One logical record: its fields and the physical line it starts on.
struct RawRecord {
    line: u64,
    fields: Vec<String>,
}

/// What the record reader found next.
enum Next {
    Record(RawRecord),
    Rejected(Rejected),
    End,
}

/// Where the splitter is inside a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Splits `;`-separated text into fields, with RFC 4180 quotes that may span lines.
struct Splitter {
    fields: Vec<String>,
    current: String,
    state: QuoteState,
}

impl Splitter {
    fn new() -> Self {
        Splitter { fields: Vec::new(), current: String::new(), state: QuoteState::FieldStart }
    }

    /// Feeds one physical line: `Ok(true)` when the record is complete, `Ok(false)` when a
    /// quoted field goes on to the next line, `Err` for text after a closing quote.
    fn feed(&mut self, text: &str) -> Result<bool, String> {
        use QuoteState::*;
        for c in text.chars() {
            match (self.state, c) {
                (FieldStart, '"') => self.state = Quoted,
                (FieldStart | Unquoted | QuoteInQuoted, ';') => self.end_field(),
                // A quote inside an unquoted field is kept as it is (lenient, unambiguous).
                (FieldStart | Unquoted, c) => {
                    self.current.push(c);
                    self.state = Unquoted;
                }
                (Quoted, '"') => self.state = QuoteInQuoted,
                (Quoted, c) => self.current.push(c),
                (QuoteInQuoted, '"') => {
                    self.current.push('"');
                    self.state = Quoted;
                }
                (QuoteInQuoted, c) => {
                    return Err(format!("unexpected {} after the closing quote", quoted(&c.to_string())));
                }
            }
        }
        if self.state == Quoted {
            self.current.push('\n');
            return Ok(false);
        }
        self.end_field();
        Ok(true)
    }

    fn end_field(&mut self) {
        self.fields.push(std::mem::take(&mut self.current));
        self.state = QuoteState::FieldStart;
    }

    /// Name of the field being read, for error messages.
    fn current_field_name(&self) -> String {
        column_name(self.fields.first().map(String::as_str), self.fields.len())
    }

    /// Rejects the record being split, naming the field where the problem is.
    fn reject(&self, line: u64, reason: String) -> Next {
        let field = Some(self.current_field_name());
        Next::Rejected(reject_line(line, self.finess(), field, reason))
    }

    /// The FINESS number of the record, if the fields read so far hold a valid one.
    fn finess(&self) -> Option<String> {
        self.fields.get(1).and_then(|f| clean(f)).filter(|f| check_finess("nofinesset", f).is_ok())
    }
}

/// Name of column `index` of a `section` line (`#index` for an unknown section).
fn column_name(section: Option<&str>, index: usize) -> String {
    let columns: &[&str] = match section.map(str::trim) {
        Some("structureet") => &STRUCTUREET_COLUMNS,
        Some("geolocalisation") => &GEOLOCALISATION_COLUMNS,
        _ => &[],
    };
    columns.get(index).map_or_else(|| format!("#{index}"), |c| (*c).to_owned())
}

/// Reads logical records (a quoted field may span physical lines) from decoded lines.
struct RecordReader<R> {
    lines: LineReader<R>,
    pending: Option<(u64, Line)>,
    /// A section tag (`structureet;`) whose lines the caller ignores: such a line without a
    /// quote is one whole record that cannot be rejected, so it is passed over unsplit.
    skip: Option<&'static str>,
}

impl<R: BufRead> RecordReader<R> {
    fn new(inner: R) -> Self {
        RecordReader { lines: LineReader::new(inner), pending: None, skip: None }
    }

    fn read_line(&mut self) -> Result<Option<(u64, Line)>, FinessCsvError> {
        match self.pending.take() {
            Some(line) => Ok(Some(line)),
            None => self.lines.next_line(),
        }
    }

    /// Reads and checks the metadata first line.
    fn read_header(&mut self) -> Result<FileHeader, FinessCsvError> {
        let text = match self.lines.next_line()? {
            None => return Err(FinessCsvError::NotFinessFile("empty input".to_owned())),
            Some((line, Line::Undecodable(reason))) => {
                return Err(FinessCsvError::UnknownEncoding { line, reason });
            }
            Some((_, Line::Text(text))) => text,
        };
        parse_header(&text)
    }

    /// Reads the next non-blank logical record.
    fn next_record(&mut self) -> Result<Next, FinessCsvError> {
        loop {
            let Some((line, decoded)) = self.read_line()? else {
                return Ok(Next::End);
            };
            let text = match decoded {
                Line::Undecodable(reason) => {
                    return Ok(Next::Rejected(reject_line(line, None, None, reason)));
                }
                Line::Text(text) if text.trim().is_empty() => continue,
                Line::Text(text) if self.skip.is_some_and(|tag| text.starts_with(tag) && !text.contains('"')) => {
                    continue;
                }
                Line::Text(text) => text,
            };
            return self.split_record(line, text);
        }
    }

    /// Splits the record starting at `line`, reading continuation lines while a quote is open.
    fn split_record(&mut self, line: u64, first: String) -> Result<Next, FinessCsvError> {
        let mut splitter = Splitter::new();
        let mut text = first;
        loop {
            match splitter.feed(&text) {
                Ok(true) => {
                    return Ok(Next::Record(RawRecord { line, fields: splitter.fields }));
                }
                Ok(false) => {}
                Err(reason) => return Ok(splitter.reject(line, reason)),
            }
            match self.read_line()? {
                None => {
                    let field = splitter.current_field_name();
                    return Err(FinessCsvError::TruncatedQuote { line, field });
                }
                Some((_, Line::Text(next))) if !SECTION_TAGS.iter().any(|t| next.starts_with(t)) => {
                    text = next;
                }
                Some(other) => {
                    // A new record starts (or the line is unreadable): the quote was never closed.
                    self.pending = Some(other);
                    let reason = "quoted field not closed at the end of the line".to_owned();
                    return Ok(splitter.reject(line, reason));
                }
            }
        }
    }
}

fn reject_line(line: u64, finess: Option<String>, field: Option<String>, reason: String) -> Rejected {
    Rejected { position: RecordPosition::Line(line), finess, field, reason }
}

/// Parses `finess;etalab;<n>;<YYYY-MM-DD>` (a trailing `;` is tolerated).
fn parse_header(text: &str) -> Result<FileHeader, FinessCsvError> {
    let mut fields: Vec<&str> = text.split(';').map(str::trim).collect();
    let is_finess =
        fields.len() >= 2 && fields[0].eq_ignore_ascii_case("finess") && fields[1].eq_ignore_ascii_case("etalab");
    if !is_finess {
        return Err(FinessCsvError::NotFinessFile(format!("first line is {}", quoted(text))));
    }
    if fields.len() == 5 && fields[4].is_empty() {
        fields.pop();
    }
    let header_error = |field, reason| FinessCsvError::Header { field, reason };
    if fields.len() != 4 {
        let reason = format!("expected finess;etalab;<n>;<date>, found {} fields", fields.len());
        return Err(header_error("n", reason));
    }
    let number =
        fields[2].parse::<u32>().map_err(|_| header_error("n", format!("not a number {}", quoted(fields[2]))))?;
    let date = parse_date("date", fields[3]).map_err(|e| header_error("date", e.reason))?;
    Ok(FileHeader { number, date })
}

/// Accessor over the fields of one record with the names of its section's columns.
struct Row<'a> {
    fields: &'a [String],
    columns: &'static [&'static str],
}

impl<'a> Row<'a> {
    /// Trimmed field `i`; empty becomes `None`.
    fn opt(&self, i: usize) -> Option<&'a str> {
        self.fields.get(i).map(|f| f.trim()).filter(|f| !f.is_empty())
    }

    fn text(&self, i: usize) -> Option<String> {
        self.opt(i).map(str::to_owned)
    }

    fn required(&self, i: usize) -> Result<&'a str, FieldError> {
        self.opt(i).ok_or_else(|| FieldError::new(self.columns[i], "required field is empty"))
    }

    fn finess(&self, i: usize) -> Result<String, FieldError> {
        let value = self.required(i)?;
        check_finess(self.columns[i], value)?;
        Ok(value.to_owned())
    }

    fn date(&self, i: usize) -> Result<Option<NaiveDate>, FieldError> {
        optional_date(self.columns[i], self.opt(i))
    }

    /// Code `code_i` with the label in `label_i`; `None` when the code is empty.
    fn coded(&self, code_i: usize, label_i: usize) -> Option<Coded> {
        Some(Coded { code: self.text(code_i)?, label: self.text(label_i) })
    }
}

/// Joins `structureet` and `geolocalisation` records on the FINESS ET number.
#[derive(Default)]
struct Join {
    establishments: Vec<FinessEstablishment>,
    /// FINESS ET → (index in `establishments`, line of its `structureet`).
    by_finess: HashMap<String, (usize, u64)>,
    /// FINESS ET → line of its first `geolocalisation`, to catch duplicates.
    geo_lines: HashMap<String, u64>,
    /// Geolocations whose `structureet` has not been seen yet.
    pending_geo: HashMap<String, (u64, Geolocation)>,
    rejected: Vec<Rejected>,
}

impl Join {
    fn add(&mut self, record: &RawRecord) {
        let section = record.fields.first().map(|s| s.trim()).unwrap_or_default();
        let result = match section {
            "structureet" => self.add_structure(record),
            "geolocalisation" => self.add_geolocation(record),
            other => Err(FieldError::new("section", format!("unknown section {}", quoted(other)))),
        };
        if let Err(err) = result {
            let finess = record.fields.get(1).map(|f| f.trim()).filter(|f| check_finess("", f).is_ok());
            self.rejected.push(err.reject(RecordPosition::Line(record.line), finess));
        }
    }

    fn add_structure(&mut self, record: &RawRecord) -> Result<(), FieldError> {
        let row = checked_row(record, "structureet", &STRUCTUREET_COLUMNS)?;
        let mut establishment = build_establishment(&row)?;
        if let Some((_, first)) = self.by_finess.get(&establishment.finess_et) {
            return Err(FieldError::new("nofinesset", format!("duplicate structureet, first seen on line {first}")));
        }
        if let Some((_, geolocation)) = self.pending_geo.remove(&establishment.finess_et) {
            establishment.geolocation = Some(geolocation);
        }
        let finess = establishment.finess_et.clone();
        self.by_finess.insert(finess, (self.establishments.len(), record.line));
        self.establishments.push(establishment);
        Ok(())
    }

    fn add_geolocation(&mut self, record: &RawRecord) -> Result<(), FieldError> {
        let row = checked_row(record, "geolocalisation", &GEOLOCALISATION_COLUMNS)?;
        let finess = row.finess(1)?;
        if let Some(first) = self.geo_lines.get(&finess) {
            return Err(FieldError::new(
                "nofinesset",
                format!("duplicate geolocalisation, first seen on line {first}"),
            ));
        }
        let geolocation = build_geolocation(&row)?;
        self.geo_lines.insert(finess.clone(), record.line);
        let Some(geolocation) = geolocation else {
            return Ok(());
        };
        match self.by_finess.get(&finess) {
            Some(&(index, _)) => self.establishments[index].geolocation = Some(geolocation),
            None => {
                self.pending_geo.insert(finess, (record.line, geolocation));
            }
        }
        Ok(())
    }

    /// Reports geolocations left without an establishment and sorts the report by line.
    fn finish(mut self) -> (Vec<FinessEstablishment>, Vec<Rejected>) {
        for (finess, (line, _)) in self.pending_geo.drain() {
            let reason = "no structureet line has this FINESS number".to_owned();
            let error = FieldError::new("nofinesset", reason);
            self.rejected.push(error.reject(RecordPosition::Line(line), Some(&finess)));
        }
        self.rejected.sort_by_key(|r| match r.position {
            RecordPosition::Line(n) => n,
            RecordPosition::JsonPath(_) => u64::MAX,
        });
        (self.establishments, self.rejected)
    }
}

/// Checks the field count: the documented columns, plus one empty field for a trailing `;`.
fn checked_row<'a>(
    record: &'a RawRecord,
    section: &str,
    columns: &'static [&'static str],
) -> Result<Row<'a>, FieldError> {
    let mut fields = record.fields.as_slice();
    if fields.len() == columns.len() + 1 && fields[columns.len()].trim().is_empty() {
        fields = &fields[..columns.len()];
    }
    if fields.len() != columns.len() {
        let (expected, found) = (columns.len(), fields.len());
        return Err(FieldError::record(format!("expected {expected} fields for {section}, found {found}")));
    }
    Ok(Row { fields, columns })
}

fn build_establishment(row: &Row) -> Result<FinessEstablishment, FieldError> {
    let siret = row.text(22);
    check_siret(STRUCTUREET_COLUMNS[22], siret.as_deref())?;
    Ok(FinessEstablishment {
        finess_et: row.finess(1)?,
        finess_ej: row.finess(2)?,
        short_name: row.required(3)?.to_owned(),
        long_name: row.text(4),
        name_complement: row.text(5),
        address: build_address(row)?,
        phone: row.text(16),
        fax: row.text(17),
        email: None,
        category: Coded { code: row.required(18)?.to_owned(), label: row.text(19) },
        category_aggregate: row.coded(20, 21),
        siret,
        ape_code: row.opt(23).map(normalize_ape),
        pricing_mode: row.coded(24, 25),
        public_hospital_service: row.coded(26, 27),
        opened_on: row.date(28)?,
        authorized_on: row.date(29)?,
        updated_on: row.date(30)?,
        uai: row.text(31),
        status: RecordStatus::Active,
        closed_on: None,
        legal_entity_status: None,
        geolocation: None,
    })
}

fn build_address(row: &Row) -> Result<Address, FieldError> {
    let commune = row.required(12)?;
    let department = row.required(13)?;
    let insee_code = insee_from_finess(department, commune)?;
    let routing_line = row.text(15);
    let (postal_code, city) = routing_line.as_deref().map(split_routing_line).unwrap_or_default();
    Ok(Address {
        street_number: row.text(7),
        street_type: row.text(8),
        street_name: row.text(9),
        street_number_suffix: row.text(10),
        complement: row.text(6),
        locality: row.text(11),
        commune_code: commune.to_owned(),
        department_code: Some(department.to_owned()),
        department_name: row.text(14),
        insee_code,
        postal_code,
        city,
        routing_line,
    })
}

/// Builds the geolocation of a `geolocalisation` row; `None` when it has no coordinates.
fn build_geolocation(row: &Row) -> Result<Option<Geolocation>, FieldError> {
    let (x, y) = match (row.opt(2), row.opt(3)) {
        (None, None) => return Ok(None),
        (Some(x), Some(y)) => (parse_decimal("coordxet", x)?, parse_decimal("coordyet", y)?),
        (None, Some(_)) => {
            return Err(FieldError::new("coordxet", "empty while coordyet is given"));
        }
        (Some(_), None) => {
            return Err(FieldError::new("coordyet", "empty while coordxet is given"));
        }
    };
    let source = row.opt(4);
    let epsg = epsg_of_source(source)?;
    let (projected, (lat, lon), axes_swapped) = reproject(epsg, x, y).map_err(|e| match e {
        GeoError::UnsupportedEpsg(_) => FieldError::new("sourcecoordet", e.to_string()),
        _ => FieldError::new("coordxet", format!("{e} (coordxet {x}, coordyet {y})")),
    })?;
    Ok(Some(Geolocation {
        lat,
        lon,
        projected: Some(projected),
        axes_swapped,
        source: source.map(str::to_owned),
        ban_key: None,
        ban_score: None,
        updated_on: row.date(5)?,
    }))
}

/// EPSG code named in `sourcecoordet` (`…,EPSG:2154 RGF93 / Lambert-93 (Métropole)`), or 2154
/// for the older `…,LAMBERT_93` form (DOMAIN.md §3.1). Any other system is refused, never guessed.
fn epsg_of_source(source: Option<&str>) -> Result<u32, FieldError> {
    let field = "sourcecoordet";
    let Some(source) = source else {
        return Err(FieldError::new(field, "empty: the coordinate system is unknown"));
    };
    let upper = source.to_ascii_uppercase();
    let epsg = match upper.find("EPSG:") {
        Some(at) => {
            let digits: String = upper[at + 5..].trim_start().chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().map_err(|_| FieldError::new(field, format!("bad EPSG code in {}", quoted(source))))?
        }
        None if upper.contains("LAMBERT_93") || upper.contains("LAMBERT-93") => 2154,
        None => {
            return Err(FieldError::new(field, format!("no EPSG code in {}", quoted(source))));
        }
    };
    match geo::crs_name(epsg) {
        Some(_) => Ok(epsg),
        None => Err(FieldError::new(field, GeoError::UnsupportedEpsg(epsg).to_string())),
    }
}

mod stream;
#[cfg(test)]
mod tests;

pub use stream::{EstablishmentStream, GeoIndex, parse_two_pass, scan_geolocations};
