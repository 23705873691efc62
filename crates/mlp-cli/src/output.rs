//! Printing results: metric tables for people, JSON for programs.

use mlp::estimator::Evaluation;
use mlp::model::Model;

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
    }
}

fn truncate(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        s.chars().take(w).collect()
    }
}
