//! Request bodies -> the model's feature matrix.
//!
//! A table model's rows go through [`mlp::model::Model::encode_table`], the encoder `mlp
//! predict` runs on a CSV file (scaling, one-hot categories, imputation, the unknown-category
//! policy, and every cell check), so a row encodes identically from a file or a request. Only
//! the wording of its errors changes: a JSON row is named `rows[i]` (or `data[i]`), 0-based, not
//! by a file line.

use super::Limits;
use super::reload::Loaded;
use axum::http::StatusCode;
use mlp::data::preprocess::UnseenCategory;
use mlp::table::Table;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A request answered with an error: status and a one-line message.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: StatusCode, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            msg: msg.into(),
        }
    }

    fn unprocessable(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }
}

/// A request's rows, encoded.
pub(crate) struct Encoded {
    /// `rows x n_features`, unscaled.
    pub features: Vec<f32>,
    pub rows: usize,
    /// Categories the training data did not have (policy `warn`), one line each.
    pub warnings: Vec<String>,
}

/// The JSON request: `{"rows": [{col: value}, ...]}` or `{"columns": [...], "data": [[...]]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    #[serde(default, borrow)]
    rows: Option<Vec<Row<'a>>>,
    #[serde(default)]
    columns: Option<Vec<String>>,
    #[serde(default, borrow)]
    data: Option<Vec<Vec<&'a RawValue>>>,
}

/// A JSON key, borrowed from the body unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// One JSON row object, its entries in the order sent: no map is built per row (a row of tens
/// of columns would cost as many allocations and key comparisons again).
struct Row<'a>(Vec<(Key<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Row<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Row<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of column: value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Row<'a>, A::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some(entry) = m.next_entry::<Key<'a>, &'a RawValue>()? {
                    v.push(entry);
                }
                Ok(Row(v))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

const SHAPES: &str = r#"expected {"rows": [{"column": value, ...}, ...]} or {"columns": [...], "data": [[...], ...]}"#;

/// The model's columns for an error message (the first 20 of a wide matrix model).
fn column_list(loaded: &Loaded) -> String {
    let cols = &loaded.columns;
    if cols.len() <= 20 {
        cols.join(", ")
    } else {
        format!("{}, ... ({} in all)", cols[..20].join(", "), cols.len())
    }
}

fn too_many_rows(rows: usize, limits: &Limits) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request has {rows} rows; at most {} per request (mlp serve --max-rows)",
            limits.max_rows
        ),
    )
}

/// A JSON cell as the text a CSV file would hold: a number or `true`/`false` as sent, a string's
/// contents, `""` (a missing cell, as an empty CSV cell) for `null`; an error for arrays and
/// objects.
fn cell_text(raw: &RawValue) -> Result<Cow<'_, str>, &'static str> {
    let t = raw.get();
    match t.as_bytes().first() {
        Some(b'"') if !t.contains('\\') => Ok(Cow::Borrowed(&t[1..t.len() - 1])),
        Some(b'"') => serde_json::from_str::<String>(t)
            .map(Cow::Owned)
            .map_err(|_| "an invalid string"),
        Some(b'[') => Err("an array"),
        Some(b'{') => Err("an object"),
        _ if t == "null" => Ok(Cow::Borrowed("")),
        _ => Ok(Cow::Borrowed(t)),
    }
}

/// Parses and encodes a JSON body.
pub(crate) fn encode_json(
    loaded: &Loaded,
    body: &[u8],
    limits: &Limits,
) -> Result<Encoded, ApiError> {
    let req: Request = serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::unprocessable(format!("{e}; {SHAPES}")),
            _ => ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
        }
    })?;
    // Cells in the model's column order: `cells[c][r]`.
    let n_cols = loaded.columns.len();
    let (cells, rows, label) = match (req.rows, req.columns, req.data) {
        (Some(rows), None, None) => {
            if rows.len() > limits.max_rows {
                return Err(too_many_rows(rows.len(), limits));
            }
            let n = rows.len();
            let mut cells: Vec<Vec<Cow<str>>> =
                (0..n_cols).map(|_| Vec::with_capacity(n)).collect();
            let mut slots: Vec<Option<&RawValue>> = vec![None; n_cols];
            for (r, row) in rows.iter().enumerate() {
                for (j, (key, v)) in row.0.iter().enumerate() {
                    // Clients usually send the columns in the model's order: try that first.
                    let c = if loaded.columns.get(j).is_some_and(|c| *c == key.0) {
                        Some(j)
                    } else {
                        loaded.column_index.get(key.0.as_ref()).copied()
                    };
                    // A key the model does not take is ignored (as `mlp predict` ignores extra
                    // CSV columns); a repeated key keeps its last value (as a JSON map would).
                    if let Some(slot) = c.and_then(|c| slots.get_mut(c)) {
                        *slot = Some(*v);
                    }
                }
                for ((name, col), slot) in
                    loaded.columns.iter().zip(cells.iter_mut()).zip(&mut slots)
                {
                    let Some(v) = slot.take() else {
                        return Err(ApiError::unprocessable(format!(
                            "rows[{r}]: missing column '{name}' (the model takes: {})",
                            column_list(loaded)
                        )));
                    };
                    col.push(cell_text(v).map_err(|what| {
                        ApiError::unprocessable(format!(
                            "rows[{r}], column '{name}': expected a number or text, got {what}"
                        ))
                    })?);
                }
            }
            (cells, n, "rows")
        }
        (None, Some(columns), Some(data)) => {
            if data.len() > limits.max_rows {
                return Err(too_many_rows(data.len(), limits));
            }
            let mut position: std::collections::HashMap<&str, usize> =
                std::collections::HashMap::with_capacity(columns.len());
            for (i, c) in columns.iter().enumerate() {
                if position.insert(c.as_str(), i).is_some() {
                    return Err(ApiError::unprocessable(format!(
                        "columns: '{c}' appears twice"
                    )));
                }
            }
            // The position of each model column in the request (the "column map").
            let at: Vec<usize> = loaded
                .columns
                .iter()
                .map(|name| {
                    position.get(name.as_str()).copied().ok_or_else(|| {
                        ApiError::unprocessable(format!(
                            "columns: missing column '{name}' (the model takes: {})",
                            column_list(loaded)
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            let n = data.len();
            let mut cells: Vec<Vec<Cow<str>>> =
                (0..n_cols).map(|_| Vec::with_capacity(n)).collect();
            for (r, row) in data.iter().enumerate() {
                if row.len() != columns.len() {
                    return Err(ApiError::unprocessable(format!(
                        "data[{r}]: {} values for {} columns",
                        row.len(),
                        columns.len()
                    )));
                }
                for ((&i, col), name) in at.iter().zip(cells.iter_mut()).zip(&loaded.columns) {
                    let v = row[i];
                    col.push(cell_text(v).map_err(|what| {
                        ApiError::unprocessable(format!(
                            "data[{r}], column '{name}': expected a number or text, got {what}"
                        ))
                    })?);
                }
            }
            (cells, n, "data")
        }
        (None, Some(_), None) => {
            return Err(ApiError::unprocessable(format!(
                "\"columns\" without \"data\"; {SHAPES}"
            )));
        }
        (None, None, Some(_)) => {
            return Err(ApiError::unprocessable(format!(
                "\"data\" without \"columns\"; {SHAPES}"
            )));
        }
        (None, None, None) => return Err(ApiError::unprocessable(format!("no rows; {SHAPES}"))),
        (Some(_), _, _) => {
            return Err(ApiError::unprocessable(format!(
                "both \"rows\" and \"columns\"/\"data\"; send one of them; {SHAPES}"
            )));
        }
    };
    if rows == 0 {
        return Err(ApiError::unprocessable("the request has no rows"));
    }
    if loaded.tabular {
        let table = Table::from_columns(loaded.columns.iter().cloned().zip(cells))
            .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        encode_table(loaded, &table, label)
    } else {
        encode_matrix(loaded, &cells, rows, label)
    }
}

/// A matrix model (NPY, IDX, generated data) takes its feature values as they are, as `mlp
/// predict` does for an .npy file.
fn encode_matrix(
    loaded: &Loaded,
    cells: &[Vec<Cow<str>>],
    rows: usize,
    label: &str,
) -> Result<Encoded, ApiError> {
    let width = cells.len();
    let mut features = vec![0.0f32; rows * width];
    for (c, (col, name)) in cells.iter().zip(&loaded.columns).enumerate() {
        for (r, cell) in col.iter().enumerate() {
            let v = cell.trim().parse::<f64>().map_err(|_| {
                ApiError::unprocessable(format!(
                    "{label}[{r}], column '{name}': cannot parse '{cell}' as a number"
                ))
            })? as f32;
            if !v.is_finite() {
                return Err(ApiError::unprocessable(format!(
                    "{label}[{r}], column '{name}': value '{cell}' is not a finite number"
                )));
            }
            features[r * width + c] = v;
        }
    }
    Ok(Encoded {
        features,
        rows,
        warnings: Vec::new(),
    })
}

/// Encodes a table with the model's own encoder; cell errors name `{label}[row]` and the column.
fn encode_table(loaded: &Loaded, table: &Table, label: &str) -> Result<Encoded, ApiError> {
    let (features, unseen) = loaded
        .model
        .encode_table(table, loaded.opts.unknown)
        .map_err(|e| match e {
            // Built in memory, the table's "line" of data row r is r + 2 (after a header).
            mlp::Error::Parse {
                line, column, msg, ..
            } if !label.is_empty() => ApiError::unprocessable(format!(
                "{label}[{}], column '{column}': {msg}",
                line.saturating_sub(2)
            )),
            other => ApiError::unprocessable(other.to_string()),
        })?;
    let warnings = unseen
        .iter()
        .map(|u: &UnseenCategory| {
            if label.is_empty() {
                u.to_string()
            } else {
                format!(
                    "column '{}': category '{}' was not in the training data (encoded as all zeros); {} row(s), first {label}[{}]",
                    u.column,
                    u.value,
                    u.rows,
                    u.first_line.saturating_sub(2)
                )
            }
        })
        .collect();
    Ok(Encoded {
        features,
        rows: table.n_rows(),
        warnings,
    })
}

/// Parses and encodes a CSV body (a header row, then rows), as `mlp predict` reads a file; its
/// errors name the body's line and column.
pub(crate) fn encode_csv(
    loaded: &Loaded,
    body: &[u8],
    limits: &Limits,
) -> Result<Encoded, ApiError> {
    if !loaded.tabular {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "this model was trained on a numeric matrix; send JSON {\"columns\": [...], \"data\": [[...]]}",
        ));
    }
    let table = Table::from_reader("request body", body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    if table.n_rows() > limits.max_rows {
        return Err(too_many_rows(table.n_rows(), limits));
    }
    if table.n_rows() == 0 {
        return Err(ApiError::unprocessable(
            "the CSV body has a header but no rows",
        ));
    }
    encode_table(loaded, &table, "")
}
