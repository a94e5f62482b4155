//! Human wording for timestamps ("3 minutes ago", "in 12 hours").

/// `seconds` between then and now, as words. Positive is the past.
pub fn relative(seconds: i64) -> String {
    let (n, future) = if seconds < 0 {
        (-seconds, true)
    } else {
        (seconds, false)
    };
    let (amount, unit) = match n {
        0..=44 => {
            return if future {
                "in a few seconds".into()
            } else {
                "just now".into()
            }
        }
        45..=3_599 => ((n + 30) / 60, "minute"),
        3_600..=86_399 => ((n + 1_800) / 3_600, "hour"),
        _ => ((n + 43_200) / 86_400, "day"),
    };
    let amount = amount.max(1);
    let plural = if amount == 1 { "" } else { "s" };
    if future {
        format!("in {amount} {unit}{plural}")
    } else {
        format!("{amount} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn wording() {
        assert_eq!(relative(5), "just now");
        assert_eq!(relative(-5), "in a few seconds");
        assert_eq!(relative(60), "1 minute ago");
        assert_eq!(relative(150), "3 minutes ago");
        assert_eq!(relative(-12 * 3600), "in 12 hours");
        assert_eq!(relative(3 * 86_400), "3 days ago");
    }
}
