//! Stage 7: printing results. The only stage that knows serde and output
//! formats. The JSON document is a documented contract (docs/json-schema.md)
//! carrying a `schema_version`.
