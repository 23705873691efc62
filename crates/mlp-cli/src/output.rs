//! Printing results: metric tables for people, JSON for programs.

use anyhow::{Result, bail};
use mlp::estimator::Evaluation;
use mlp::model::Model;
use std::path::Path;

/// Checks, before any work is done, that `path` (given with `flag`) can be written: it is not a
/// directory, its directory exists, and a file can be created there. A long run must not end by
/// failing to save its result.
pub fn check_writable(flag: &str, path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "{flag} {}: is a directory; give a file name",
            path.display()
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    // Files are written atomically (a temporary file in the same directory, then a rename), so
    // creating a file in the directory is the test that matters.
    let probe = dir.join(format!(".mlp-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => bail!(
            "{flag} {}: cannot write in {}: {}",
            path.display(),
            dir.display(),
            io_reason(&e)
        ),
    }
}

/// An I/O error as a person reads it: "permission denied", without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.to_lowercase()
}

/// Prints an evaluation as an aligned table.
pub fn print_evaluation(eval: &Evaluation, model: &Model) {
    match eval {
        Evaluation::Classification(r) => {
            println!("samples            {}", r.n_samples);
            println!("accuracy           {:.4}", r.accuracy);
            println!("balanced accuracy  {:.4}", r.balanced_accuracy);
            println!(
                "precision (macro)  {:.4}   (weighted) {:.4}",
                r.precision_macro, r.precision_weighted
            );
            println!(
                "recall    (macro)  {:.4}   (weighted) {:.4}",
                r.recall_macro, r.recall_weighted
            );
            println!(
                "f1        (macro)  {:.4}   (weighted) {:.4}",
                r.f1_macro, r.f1_weighted
            );
            if let Some(l) = r.log_loss {
                println!("log loss           {l:.4}");
            }
            if let Some(a) = r.roc_auc {
                println!("roc auc            {a:.4}");
            }
            if let Some(e) = r.ece {
                println!("ece (15 bins)      {e:.4}");
            }
            if let Some(b) = r.brier {
                println!("brier              {b:.4}   (sum over classes, mean over rows)");
            }
            let labels = model.class_labels();
            if labels.len() <= 20 {
                println!("confusion matrix (rows: true, columns: predicted)");
                let w = labels
                    .iter()
                    .map(|l| l.len())
                    .max()
                    .unwrap_or(1)
                    .clamp(5, 14);
                print!("  {:>w$}", "");
                for l in &labels {
                    print!(" {:>w$}", truncate(l, w));
                }
                println!();
                for (l, row) in labels.iter().zip(&r.confusion_matrix) {
                    print!("  {:>w$}", truncate(l, w));
                    for c in row {
                        print!(" {c:>w$}");
                    }
                    println!();
                }
            }
        }
        Evaluation::MultiLabel(r) => {
            println!("samples          {} ({} labels)", r.n_samples, r.n_labels);
            println!("subset accuracy  {:.4}", r.subset_accuracy);
            println!("hamming loss     {:.4}", r.hamming_loss);
            println!(
                "f1 (macro)       {:.4}   (micro) {:.4}",
                r.f1_macro, r.f1_micro
            );
            if let Some(a) = r.roc_auc_macro {
                println!("roc auc (macro)  {a:.4}");
            }
        }
        Evaluation::Regression(r) => {
            println!("samples    {}", r.n_samples);
            println!("mse        {:.6}", r.mse);
            println!("rmse       {:.6}", r.rmse);
            println!("mae        {:.6}", r.mae);
            println!("mape       {:.6}", r.mape);
            println!("smape      {:.6}", r.smape);
            println!("r2         {:.6}", r.r2);
            println!("max error  {:.6}", r.max_error);
        }
        // `Evaluation` is non-exhaustive: a kind this tool does not know yet has no table
        // (its JSON output still carries it).
        _ => {}
    }
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        s.chars().take(w).collect()
    }
}
