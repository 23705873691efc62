#!/usr/bin/env python3
"""Writes crates/mlp/data/co2_monthly.csv: monthly means of the weekly Mauna Loa CO2 series
bundled with statsmodels (Keeling & Whorf, SIO; public domain, see statsmodels.datasets.co2).

The weekly values are averaged per calendar month (pandas resample 'MS'); the 5 months with no
weekly value are filled by linear interpolation in time, so the shipped series has no gaps.
Values are rounded to 3 decimals. Run from the repository root:

    pip install statsmodels && python3 scripts/make_co2_monthly.py
"""
import statsmodels.api as sm

weekly = sm.datasets.co2.load_pandas().data
monthly = weekly.resample("MS").mean().interpolate(method="time")
with open("crates/mlp/data/co2_monthly.csv", "w", newline="\n") as f:
    f.write("date,co2\n")
    for stamp, value in monthly["co2"].items():
        f.write(f"{stamp:%Y-%m-%d},{value:.3f}\n")
