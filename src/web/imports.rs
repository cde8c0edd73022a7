//! Directory imports in the back office (SPEC DIR-3): the upload form, the history of imports
//! and the records each one left out.
//!
//! The uploaded file is streamed to a temporary file of the data directory (never held in
//! memory, at most `import_max_bytes`), imported off the async runtime in one transaction,
//! then removed. A refused file changes nothing and is explained in French.

use std::path::PathBuf;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::error::{AppError, invalid_form};
use super::extract::Ctx;
use super::layout::{Layout, paris_time};
use super::session::{AdminUser, Viewer, csrf_refused, token_matches};
use crate::app::AppState;
use crate::directory::finess_csv::FinessCsvError;
use crate::directory::history::{self, ImportRow, RejectedLine};
use crate::directory::import::{self, FileFormat, FileImportError, ImportError, Mode, Scope};
use crate::directory::{fhir::FhirError, finess_json::FinessJsonError};

/// The upload route (its body limit and CSRF check differ: see `middleware::body_limit` and
/// `csrf::guard`).
pub const UPLOAD_PATH: &str = "/admin/annuaire/imports";

/// Imports listed per page.
const PER_PAGE: i64 = 50;

/// Rejected records shown on an import's page, at most.
const REJECTED_SHOWN: usize = 2000;

/// The share of a scope's active records a full extract may close without the box ticked.
const MAX_CLOSING_SHARE: f64 = 0.2;

/// A format as offered on the form.
pub struct FormatChoice {
    /// Its value.
    pub value: &'static str,
    /// Its label.
    pub label: &'static str,
}

fn format_label(format: &str) -> &'static str {
    match format {
        "finess-csv" => "FINESS, extrait CSV etalab",
        "finess-json" => "FINESS+, flux JSON des structures",
        "fhir" => "FHIR (ROR, Annuaire Santé)",
        _ => "Autre",
    }
}

/// What the form had, shown again after a refusal.
#[derive(Default, Clone)]
pub struct UploadValues {
    /// `finess-csv`…
    pub format: String,
    /// `full` or `delta`.
    pub mode: String,
    /// As typed.
    pub departements: String,
    /// As typed.
    pub communes: String,
    /// The mass-closing box.
    pub allow_mass_closing: bool,
}

/// The upload form and the history.
#[derive(Template, WebTemplate)]
#[template(path = "admin/imports.html")]
pub struct ImportsPage {
    layout: Layout,
    rows: Vec<ImportRow>,
    total: i64,
    page: i64,
    pages: i64,
    error: Option<String>,
    values: UploadValues,
    formats: Vec<FormatChoice>,
    max_mib: usize,
}

impl ImportsPage {
    /// « 26/11/2026 à 12 h 53 ».
    pub fn when(&self, r: &ImportRow) -> String {
        paris_time(r.created_at)
    }

    /// The format's label.
    pub fn format(&self, r: &ImportRow) -> &'static str {
        format_label(&r.format)
    }
}

/// `?page=` of the history.
#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<String>,
}

async fn imports_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: crate::journal::AccessContext,
    page: i64,
    error: Option<String>,
    values: UploadValues,
) -> Result<ImportsPage, AppError> {
    let (rows, total) =
        state.db.write(move |c| history::list(c, &ctx, page - 1, PER_PAGE).map_err(AppError::from)).await?;
    Ok(ImportsPage {
        layout: Layout::new(state, viewer, None, "Imports de l'annuaire"),
        rows,
        total,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        error,
        values,
        formats: FileFormat::ALL
            .into_iter()
            .map(|f| FormatChoice { value: f.name(), label: format_label(f.name()) })
            .collect(),
        max_mib: state.config.import_max_bytes / (1024 * 1024),
    })
}

/// `GET /admin/annuaire/imports`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Ctx(ctx): Ctx,
    Query(q): Query<PageQuery>,
) -> Result<ImportsPage, AppError> {
    let page = q.page.as_deref().and_then(|p| p.parse::<i64>().ok()).filter(|p| (1..=1_000_000).contains(p));
    let values = UploadValues { format: "finess-csv".into(), mode: "full".into(), ..UploadValues::default() };
    imports_page(&state, &viewer, ctx, page.unwrap_or(1), None, values).await
}

/// Removes the temporary upload whatever happens.
struct TempUpload(PathBuf);

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The file's name as shown in the history: no directory, no control character, not too long.
pub fn shown_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." { "fichier".to_owned() } else { clean.to_owned() }
}

/// Parses a list of INSEE codes typed in the form (commas or spaces).
fn parse_codes(text: &str, departement: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for code in text.split([',', ';', ' ', '\n', '\r', '\t']).map(str::trim).filter(|c| !c.is_empty()) {
        let code = code.to_ascii_uppercase();
        let b = code.as_bytes();
        let ok = if departement {
            matches!(code.as_str(), "2A" | "2B")
                || (b.len() == 2 && b.iter().all(u8::is_ascii_digit))
                || (b.len() == 3 && (code.starts_with("97") || code.starts_with("98")) && b[2].is_ascii_digit())
        } else {
            b.len() == 5
                && b[0].is_ascii_digit()
                && (b[1].is_ascii_digit() || b[1] == b'A' || b[1] == b'B')
                && b[2..].iter().all(u8::is_ascii_digit)
        };
        if !ok {
            let shown: String = code.chars().filter(|c| !c.is_control()).take(20).collect();
            return Err(if departement {
                format!("« {shown} » n'est pas un code de département INSEE (par exemple 92, 2A ou 971).")
            } else {
                format!("« {shown} » n'est pas un code de commune INSEE à cinq caractères (par exemple 92026).")
            });
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// The French explanation of a refused file; the parser's own words (file, line, field) follow
/// for the administrator who has to fix the file.
pub fn french_error(err: &FileImportError) -> String {
    let nothing = "Rien n'a été importé ni modifié.";
    match err {
        FileImportError::Empty => format!("Le fichier envoyé est vide. {nothing}"),
        FileImportError::Io(_) | FileImportError::Import(ImportError::File(FinessCsvError::Io(_))) => {
            format!("Le fichier n'a pas pu être lu. {nothing}")
        }
        FileImportError::Import(ImportError::MassClosing { closing, active, share }) => format!(
            "Ce fichier fermerait {closing} des {active} fiches actives du périmètre ({share:.0} %) : il semble \
             incomplet ou d'un autre territoire. {nothing} S'il est juste, cochez la case qui autorise la fermeture \
             de nombreuses fiches et envoyez-le à nouveau."
        ),
        FileImportError::Import(ImportError::Db(_)) => {
            format!("La base de données n'a pas pu enregistrer l'import. {nothing} Réessayez dans quelques instants.")
        }
        FileImportError::Import(ImportError::File(e)) => match e {
            FinessCsvError::NotFinessFile(detail) => {
                format!("Ce fichier n'est pas un extrait FINESS etalab (ligne 1 : {detail}). {nothing}")
            }
            FinessCsvError::UnknownEncoding { line, reason } => format!(
                "L'encodage du fichier n'est pas reconnu (ligne {line} : {reason}) : seuls l'UTF-8 et le \
                 Windows-1252 sont lus. {nothing}"
            ),
            FinessCsvError::Header { field, reason } => {
                format!("La ligne 1, champ {field}, est incorrecte : {reason}. {nothing}")
            }
            FinessCsvError::TruncatedQuote { line, field } => format!(
                "La ligne {line}, champ {field} : des guillemets ouverts ne sont jamais refermés (fichier \
                 tronqué ?). {nothing}"
            ),
            FinessCsvError::Io(_) => format!("Le fichier n'a pas pu être lu. {nothing}"),
        },
        FileImportError::Json(e) => match e {
            FinessJsonError::Syntax { line, column, message } => {
                format!("Le JSON est invalide à la ligne {line}, colonne {column} : {message}. {nothing}")
            }
            FinessJsonError::NotFinessFile(detail) => {
                format!("Ce fichier n'est pas un flux FINESS+ des structures ({detail}). {nothing}")
            }
            FinessJsonError::Io(_) => format!("Le fichier n'a pas pu être lu. {nothing}"),
        },
        FileImportError::Fhir(e) => match e {
            FhirError::Empty => format!("Le fichier envoyé est vide. {nothing}"),
            FhirError::Syntax { line, column, message } => {
                format!("Le JSON est invalide à la ligne {line}, colonne {column} : {message}. {nothing}")
            }
            FhirError::NotFhir(detail) => {
                format!("Ce fichier n'est pas un Bundle ni un NDJSON FHIR de l'annuaire ({detail}). {nothing}")
            }
        },
    }
}

/// Whether the body went over the upload limit (the error of `middleware::body_limit`).
fn too_large(err: &multer::Error) -> bool {
    match err {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => true,
        multer::Error::StreamReadFailed(source) => {
            let mut current: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
            while let Some(e) = current {
                if e.is::<http_body_util::LengthLimitError>() {
                    return true;
                }
                current = e.source();
            }
            false
        }
        _ => false,
    }
}

/// `POST /admin/annuaire/imports`: the multipart form (the `csrf` field first, then `format`,
/// `mode`, `departements`, `communes`, `fermeture_massive`, and the file `fichier`).
pub async fn upload(
    State(state): State<AppState>,
    viewer: Viewer,
    AdminUser(admin): AdminUser,
    Ctx(ctx): Ctx,
    req: Request,
) -> Result<Response, AppError> {
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| AppError::BadRequest("Le formulaire d'import doit être envoyé comme un fichier.".into()))?;
    // The form's text fields are small; only the file may be large (up to the body limit).
    let limits = multer::SizeLimit::new().per_field(64 * 1024).for_field("fichier", u64::MAX);
    let constraints = multer::Constraints::new().size_limit(limits);
    let mut multipart = multer::Multipart::with_constraints(req.into_body().into_data_stream(), boundary, constraints);
    let mut values = UploadValues::default();
    let mut csrf_ok = false;
    let mut upload: Option<(TempUpload, String, u64)> = None;
    let mut error: Option<String> = None;
    let max_mib = state.config.import_max_bytes / (1024 * 1024);
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if too_large(&e) => {
                error = Some(format!(
                    "Le fichier dépasse la taille maximale acceptée ({max_mib} Mio). Rien n'a été importé."
                ));
                break;
            }
            Err(_) => {
                error = Some("L'envoi du formulaire a été interrompu. Rien n'a été importé : réessayez.".into());
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "fichier" {
            let shown = shown_file_name(field.file_name().unwrap_or_default());
            let dir = state.config.data_dir.join("imports");
            tokio::fs::create_dir_all(&dir).await.map_err(|e| AppError::Internal(e.into()))?;
            let mut random = [0u8; 16];
            rand::rng().fill_bytes(&mut random);
            let temp = TempUpload(dir.join(format!("upload-{}.part", hex::encode(random))));
            let mut out = tokio::fs::File::create(&temp.0).await.map_err(|e| AppError::Internal(e.into()))?;
            let mut size = 0u64;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        size += chunk.len() as u64;
                        out.write_all(&chunk).await.map_err(|e| AppError::Internal(e.into()))?;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(if too_large(&e) {
                            format!(
                                "Le fichier dépasse la taille maximale acceptée ({max_mib} Mio). Rien n'a été importé."
                            )
                        } else {
                            "L'envoi du fichier a été interrompu. Rien n'a été importé : réessayez.".into()
                        });
                        break;
                    }
                }
            }
            out.flush().await.map_err(|e| AppError::Internal(e.into()))?;
            drop(out);
            upload = Some((temp, shown, size));
            if error.is_some() {
                break;
            }
            continue;
        }
        let text: String = match field.text().await {
            Ok(text) => text.chars().take(10_000).collect(),
            Err(_) => {
                error = Some("L'envoi du formulaire a été interrompu. Rien n'a été importé : réessayez.".into());
                break;
            }
        };
        match name.as_str() {
            "csrf" => csrf_ok = token_matches(&text, &admin.session.csrf_token),
            "format" => values.format = text,
            "mode" => values.mode = text,
            "departements" => values.departements = text,
            "communes" => values.communes = text,
            "fermeture_massive" => values.allow_mass_closing = !text.is_empty(),
            _ => {}
        }
    }
    if !csrf_ok {
        // A body over the limit may fail before its first field is read: the guard checked
        // that field, but this handler cannot check it again; no form page then.
        if error.as_deref().is_some_and(|e| e.starts_with("Le fichier dépasse")) {
            return Err(AppError::PayloadTooLarge);
        }
        return Ok(csrf_refused());
    }
    let format = FileFormat::from_name(&values.format);
    let departements = parse_codes(&values.departements, true);
    let communes = parse_codes(&values.communes, false);
    let mode_ok = matches!(values.mode.as_str(), "full" | "delta");
    let checked = match (error, format, departements, communes, upload) {
        (Some(error), ..) => Err(error),
        (_, None, ..) => Err("Choisissez le format du fichier dans la liste.".to_owned()),
        (_, _, Err(e), ..) | (_, _, _, Err(e), _) => Err(e),
        _ if !mode_ok => Err("Choisissez le mode : extrait complet ou mise à jour partielle.".to_owned()),
        (.., None) => Err("Choisissez le fichier à importer.".to_owned()),
        (.., Some((_, _, 0))) => Err("Le fichier envoyé est vide. Rien n'a été importé.".to_owned()),
        (None, Some(format), Ok(departements), Ok(communes), Some((temp, shown, _))) => {
            Ok((format, departements, communes, temp, shown))
        }
    };
    let (format, departements, communes, temp, shown) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let page = imports_page(&state, &viewer, ctx, 1, Some(error), values).await?;
            return Ok(invalid_form(page));
        }
    };
    let mode = if values.mode == "delta" {
        Mode::Delta
    } else {
        Mode::Full { max_closing_share: if values.allow_mass_closing { 1.0 } else { MAX_CLOSING_SHARE } }
    };
    let scope = Scope { departements, communes };
    let import_ctx = ctx.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let request = import::ImportRequest { format: format.name(), file_name: &shown, scope: &scope, mode };
            let outcome = import::import_file(conn, &import_ctx, &request, format, &temp.0);
            drop(temp);
            Ok::<_, AppError>(outcome)
        })
        .await?;
    match outcome {
        Ok(report) => Ok(Redirect::to(&format!("{UPLOAD_PATH}/{}?nouveau=1", report.import_id)).into_response()),
        Err(FileImportError::Import(ImportError::Db(e))) => Err(AppError::Db(e)),
        Err(err) => {
            tracing::info!(error = %err, "directory import refused");
            let page = imports_page(&state, &viewer, ctx, 1, Some(french_error(&err)), values).await?;
            Ok(invalid_form(page))
        }
    }
}

/// One import and the records it left out.
#[derive(Template, WebTemplate)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    layout: Layout,
    row: ImportRow,
    rejected: Vec<RejectedLine>,
    fresh: bool,
}

impl ImportPage {
    /// « 26/11/2026 à 12 h 53 ».
    pub fn when(&self) -> String {
        paris_time(self.row.created_at)
    }

    /// The format's label.
    pub fn format(&self) -> &'static str {
        format_label(&self.row.format)
    }

    /// The rejected records shown (the first ones).
    pub fn shown(&self) -> &[RejectedLine] {
        &self.rejected[..self.rejected.len().min(REJECTED_SHOWN)]
    }

    /// How many are left out of the page.
    pub fn not_shown(&self) -> usize {
        self.rejected.len().saturating_sub(REJECTED_SHOWN)
    }
}

/// `?nouveau=1` right after an upload.
#[derive(Deserialize, Default)]
pub struct Fresh {
    #[serde(default)]
    nouveau: Option<String>,
}

/// `GET /admin/annuaire/imports/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    _admin: AdminUser,
    Ctx(ctx): Ctx,
    Path(id): Path<i64>,
    Query(fresh): Query<Fresh>,
) -> Result<ImportPage, AppError> {
    let found = state.db.write(move |c| history::find(c, &ctx, id).map_err(AppError::from)).await?;
    let Some((row, rejected)) = found else { return Err(AppError::NotFound) };
    Ok(ImportPage {
        layout: Layout::new(&state, &viewer, None, &format!("Import n° {}", row.id)),
        row,
        rejected,
        fresh: fresh.nouveau.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(shown_file_name("C:\\Users\\x\\etalab.csv"), "etalab.csv");
        assert_eq!(shown_file_name("../../etc/passwd"), "passwd");
        assert_eq!(shown_file_name("a\u{0}b\u{1b}[31mc\n.csv"), "ab[31mc.csv");
        assert_eq!(shown_file_name(""), "fichier");
        assert_eq!(shown_file_name("dir/.."), "fichier");
        assert_eq!(shown_file_name(&"x".repeat(500)).len(), 120);
    }

    #[test]
    fn scope_codes_are_checked() {
        assert_eq!(parse_codes("92, 2a 971;", true).unwrap(), ["92", "2A", "971"]);
        assert!(parse_codes("920", true).is_err());
        assert!(parse_codes("9", true).is_err());
        assert_eq!(parse_codes("92026,2B033", false).unwrap(), ["92026", "2B033"]);
        assert!(parse_codes("9202", false).unwrap_err().contains("« 9202 »"));
        assert!(parse_codes("", false).unwrap().is_empty());
    }
}
