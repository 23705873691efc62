//! Forecasting a monthly series: fit a forecaster on the CO2 record shipped with the crate and
//! forecast a year ahead with residual prediction intervals. Runs with
//! `cargo run --release --example forecast_series` and as part of `cargo test`.

use mlp::forecast::intervals::IntervalMethod;
use mlp::forecast::{EmbeddedSeries, ForecastSettings, Forecaster};

fn main() -> mlp::Result<()> {
    let series = EmbeddedSeries::Co2.load()?;
    let mut settings = ForecastSettings::default();
    // A short run keeps the example quick; the defaults train longer.
    settings.train = settings.train.clone().with_epochs(60);
    settings.train = settings.train.clone().with_seed(4);
    let forecaster = Forecaster::fit(&series, &settings)?;
    let forecast = forecaster.forecast(&series, 12, IntervalMethod::Residual, 0.9, 0)?;
    let values = &forecast.values[0];
    println!("next 12 months of CO2 (ppm): {values:.1?}");
    assert_eq!(values.len(), 12);
    // Mauna Loa CO2 at the end of 2001 was about 370 ppm and rising slowly.
    assert!(
        values.iter().all(|v| (340.0..410.0).contains(v)),
        "{values:?}"
    );
    if let (Some(lo), Some(hi)) = (&forecast.lower, &forecast.upper) {
        assert!(lo[0].iter().zip(&hi[0]).all(|(l, h)| l <= h));
    }
    Ok(())
}

#[test]
fn example_runs() -> mlp::Result<()> {
    main()
}
