//! The CSV file of a list of directory results, as French spreadsheet software opens it without
//! an import wizard: UTF-8 with a byte-order mark, `;` between cells, CRLF line ends, a header
//! row in French. Cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`,
//! `@`, a tab or a carriage return: OWASP « CSV injection ») get a leading apostrophe; cells
//! holding `;`, `"`, CR or LF are quoted, inner quotes doubled (RFC 4180).

/// Rows of one export at most (the search page says so next to the link).
pub const MAX_ROWS: usize = 1000;

/// The header row.
pub const HEADER: [&str; 15] = [
    "Nom",
    "Structure",
    "Catégorie",
    "Activités",
    "Publics",
    "Âge min",
    "Âge max",
    "Adresse",
    "Code postal",
    "Commune",
    "Téléphone",
    "Distance (km)",
    "Dernière mise à jour",
    "Source",
    "Lien",
];

/// One row: a cell per header column.
pub type Row = [String; HEADER.len()];

/// One cell, neutralised and quoted as needed.
pub fn cell(value: &str) -> String {
    let neutral = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    if neutral.contains([';', '"', '\r', '\n']) { format!("\"{}\"", neutral.replace('"', "\"\"")) } else { neutral }
}

fn line(out: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.collect();
    out.push_str(&cells.join(";"));
    out.push_str("\r\n");
}

/// The whole file: BOM, header, then the rows.
pub fn write(rows: &[Row]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    line(&mut out, HEADER.iter().map(|h| cell(h)));
    for r in rows {
        line(&mut out, r.iter().map(|c| cell(c)));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("+33 1 23 45 67 89"), "'+33 1 23 45 67 89");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tcmd"), "'\tcmd");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        // Not at the start: harmless.
        assert_eq!(cell("Centre = soins"), "Centre = soins");
        assert_eq!(cell("2,5"), "2,5");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(cell("a;b"), "\"a;b\"");
        assert_eq!(cell("dit \"bonjour\""), "\"dit \"\"bonjour\"\"\"");
        assert_eq!(cell("ligne 1\nligne 2"), "\"ligne 1\nligne 2\"");
        assert_eq!(cell(""), "");
        assert_eq!(cell("Hôpital Louis-Mourier"), "Hôpital Louis-Mourier");
    }

    #[test]
    fn the_file_has_a_bom_a_french_header_and_crlf_lines() {
        let mut row: Row = Default::default();
        row[0] = "EHPAD Les Tilleuls".into();
        row[9] = "Colombes".into();
        let bytes = write(&[row]);
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], HEADER.join(";"));
        assert!(lines[0].starts_with("Nom;Structure;Catégorie;Activités;Publics;Âge min;Âge max;"));
        assert_eq!(lines[1], "EHPAD Les Tilleuls;;;;;;;;;Colombes;;;;;");
        assert_eq!(lines[2], "");
        assert_eq!(lines.len(), 3);
        assert!(!text.replace("\r\n", "").contains('\n'));
    }
}
