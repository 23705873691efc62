//! Calendar arithmetic on time keys (seconds since 1970-01-01T00:00:00Z, as
//! [`crate::data::split::parse_time_key`] produces for dates) and the calendar one-hot features
//! of a forecaster: day of week (7, Monday first) and month (12, January first).
//!
//! Civil dates use the proleptic Gregorian calendar: day numbers count from 1970-01-01, and the
//! conversion shifts the year to start in March so that the leap day is the last day of the
//! shifted year (then every shifted month but February has a fixed length pattern).
//!
//! ```
//! use mlp::forecast::calendar::{CalendarFeatures, days_from_civil, civil_from_days};
//! assert_eq!(days_from_civil(2024, 3, 1), 19783);
//! assert_eq!(civil_from_days(19783), (2024, 3, 1));
//! // 2024-03-01 was a Friday: day-of-week one-hot index 4, month index 2.
//! let cal = CalendarFeatures { day_of_week: true, month: true };
//! let f = cal.features(19783.0 * 86400.0);
//! assert_eq!(f.len(), 19);
//! assert_eq!((f[4], f[7 + 2]), (1.0, 1.0));
//! ```

use serde::{Deserialize, Serialize};

/// Seconds per day.
pub const DAY: f64 = 86_400.0;

/// Day number (days since 1970-01-01) of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift so the year starts on March 1st: January and February belong to the previous year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // 0..=399
    let shifted_month = (month as i64 + 9) % 12; // March = 0 .. February = 11
    // Days from March 1st to the first of the shifted month: 306 days per 10 months, rounded.
    let day_of_year = (153 * shifted_month + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719468 = days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `(year, month 1..=12, day 1..=31)` of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    (days_from_civil(ny, nm, 1) - days_from_civil(year, month, 1)) as u32
}

/// Day of week of a day number: 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

/// Which calendar one-hots a forecaster adds to every future step it predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CalendarFeatures {
    /// Seven day-of-week indicators, Monday first.
    pub day_of_week: bool,
    /// Twelve month indicators, January first.
    pub month: bool,
}

impl CalendarFeatures {
    /// Number of features.
    pub fn width(&self) -> usize {
        7 * usize::from(self.day_of_week) + 12 * usize::from(self.month)
    }

    /// Feature names (`dow_mon`.., `month_01`..).
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.day_of_week {
            for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
                names.push(format!("dow_{d}"));
            }
        }
        if self.month {
            names.extend((1..=12).map(|m| format!("month_{m:02}")));
        }
        names
    }

    /// The one-hots of the time key `seconds` (since 1970-01-01 UTC).
    pub fn features(&self, seconds: f64) -> Vec<f32> {
        let mut out = vec![0.0; self.width()];
        let days = (seconds / DAY).floor() as i64;
        let mut at = 0;
        if self.day_of_week {
            out[weekday(days)] = 1.0;
            at = 7;
        }
        if self.month {
            let (_, month, _) = civil_from_days(days);
            out[at + month as usize - 1] = 1.0;
        }
        out
    }

    /// Parses `auto` (None), `none`, or a comma list of `dow` / `month`.
    pub fn parse(text: &str) -> crate::Result<Option<CalendarFeatures>> {
        let text = text.trim().to_ascii_lowercase();
        if text == "auto" {
            return Ok(None);
        }
        let mut cal = CalendarFeatures::default();
        if text == "none" {
            return Ok(Some(cal));
        }
        for part in text.split(',').map(str::trim) {
            match part {
                "dow" | "day_of_week" | "weekday" => cal.day_of_week = true,
                "month" => cal.month = true,
                other => {
                    return Err(crate::Error::config(
                        "calendar",
                        format!("unknown feature '{other}'; use auto, none, or dow,month"),
                    ));
                }
            }
        }
        Ok(Some(cal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2023, 12), 31);
    }

    #[test]
    fn one_hots_on_known_dates() {
        let cal = CalendarFeatures {
            day_of_week: true,
            month: true,
        };
        // (date, weekday index Monday=0, month index) from a printed calendar.
        for (y, m, d, dow) in [
            (1970, 1, 1, 3),   // Thursday
            (2000, 1, 1, 5),   // Saturday
            (2024, 2, 29, 3),  // Thursday
            (2026, 11, 28, 5), // Saturday
            (1958, 3, 1, 5),   // Saturday
            (2023, 12, 31, 6), // Sunday
        ] {
            let f = cal.features(days_from_civil(y, m, d) as f64 * DAY + 3600.0);
            let hot: Vec<usize> = (0..f.len()).filter(|&i| f[i] == 1.0).collect();
            assert_eq!(hot, vec![dow, 7 + m as usize - 1], "{y}-{m}-{d}");
            assert_eq!(f.iter().sum::<f32>(), 2.0);
        }
        let only_month = CalendarFeatures {
            day_of_week: false,
            month: true,
        };
        assert_eq!(only_month.features(0.0)[0], 1.0);
        assert_eq!(only_month.names()[11], "month_12");
    }

    #[test]
    fn parse_calendar_setting() {
        assert_eq!(CalendarFeatures::parse("auto").expect("test setup"), None);
        assert_eq!(
            CalendarFeatures::parse("month").expect("test setup"),
            Some(CalendarFeatures {
                day_of_week: false,
                month: true
            })
        );
        assert!(CalendarFeatures::parse("hour").is_err());
    }
}
