//! `mlp export --format c`: the dependency-free C export (see `mlp::io::c_export`).

use anyhow::{Context, Result};
use mlp::io::c_export::{self, COptions};
use std::path::Path;

/// Writes `out_dir/mlp_model.c` and `out_dir/mlp_model.h` for the model at `model_path`: float,
/// or integer layers (FANN-style Q-formats) with `fixed_point`, calibrated on standard-normal
/// rows in the standardised input space (the model file keeps no training rows).
pub fn run(model_path: &Path, out_dir: &Path, fixed_point: bool) -> Result<()> {
    let model = crate::commands::predict::load_model(model_path)?;
    let options = COptions {
        fixed_point,
        calibration: None,
    };
    let (c, h) = c_export::write(&model, out_dir, &options)
        .with_context(|| format!("exporting {} as C", model_path.display()))?;
    println!(
        "C export ({}): {} and {} (void mlp_predict(const float *input, float *output); {} inputs, {} outputs)",
        if fixed_point { "fixed point" } else { "float" },
        c.display(),
        h.display(),
        model.n_features(),
        model.output_width()
    );
    Ok(())
}
