//! The OpenAPI 3.1 document of the portal's API (`GET /api/openapi.json`, ARCHITECTURE: the
//! contract for clients and for schemathesis, SECURITY-TESTS T14): the JSON search of the
//! directory and the read-only FHIR endpoint, whose bodies are described as JSON objects, not as
//! full FHIR schemas. Built from the handlers' `#[utoipa::path]` attributes, the derives on the
//! response structs, and, for the FHIR search, the parameter table the handler itself reads.

use axum::Json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Required, Schema};
use utoipa::{Modify, OpenApi};

use super::error::{ApiError, ApiErrorDetail};
use super::fhir::{ParamDoc, SEARCH_PARAMETERS};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atomes — annuaire de l'offre",
        description = "API publique de l'annuaire de l'offre du territoire : recherche JSON (`/api/directory/search`) \
                       et point d'accès FHIR R4 en lecture seule (`/fhir`), compatible avec les recherches principales \
                       de l'API du ROR. Données publiques uniquement : ni unité sensible, ni contact confidentiel. \
                       Requêtes limitées par adresse (429 avec Retry-After au-delà)."
    ),
    paths(super::directory::search_api, super::fhir::search, super::fhir::read, super::fhir::metadata),
    components(schemas(ApiError, ApiErrorDetail)),
    modifiers(&FhirSearchParameters),
    tags(
        (name = "annuaire", description = "Recherche dans l'annuaire (JSON)"),
        (name = "fhir", description = "FHIR R4, lecture seule (application/fhir+json)"),
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Adds the parameters of `GET /fhir/HealthcareService` from [`SEARCH_PARAMETERS`], the table
/// its handler reads: the document cannot miss one.
struct FhirSearchParameters;

impl Modify for FhirSearchParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let operation = openapi.paths.paths.get_mut("/fhir/HealthcareService").and_then(|item| item.get.as_mut());
        if let Some(operation) = operation {
            operation.parameters.get_or_insert_with(Vec::new).extend(SEARCH_PARAMETERS.iter().map(parameter));
        }
    }
}

fn parameter(p: &ParamDoc) -> Parameter {
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    let schema: Schema = match p.name {
        // Digits, or nothing (FHIR: a parameter without value is ignored); the range is in the text.
        "_count" | "_getpagesoffset" => {
            ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]{0,9}$")).build().into()
        }
        // Repeated for a span (`ge…` and `le…`).
        "_lastUpdated" => ArrayBuilder::new().items(string()).build().into(),
        _ => string().into(),
    };
    let repeated = p.name == "_lastUpdated";
    ParameterBuilder::new()
        .name(p.name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(format!("{} (type FHIR : {}).", p.doc.trim_end_matches('.'), p.kind)))
        .schema(Some(schema))
        .style(repeated.then_some(ParameterStyle::Form))
        .explode(repeated.then_some(true))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_parameter_of_both_searches() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let names = |path: &str| -> Vec<String> {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap_or_else(|| panic!("{path} has parameters"))
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        // Every field the handler's query struct reads (serialised, they are its parameter names).
        let form = serde_json::to_value(super::super::directory::SearchForm::default()).unwrap();
        let mut accepted: Vec<String> = form.as_object().unwrap().keys().cloned().collect();
        let mut documented = names("/api/directory/search");
        accepted.sort();
        documented.sort();
        assert_eq!(accepted, documented);
        let fhir = names("/fhir/HealthcareService");
        for p in SEARCH_PARAMETERS {
            assert!(fhir.contains(&p.name.to_owned()), "{} undocumented", p.name);
        }
        assert_eq!(fhir.len(), SEARCH_PARAMETERS.len());
        for path in ["/fhir/HealthcareService/{id}", "/fhir/metadata"] {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
    }
}
